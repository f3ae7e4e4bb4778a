"""Predict clips with an exported harflow model, in process.

`load_model` accepts a SavedModel directory or a TF Serving model base path
(then the highest integer version is used, as TF Serving would serve it).
Clips are read by harflow.video.read_clip with the frame count and size the
model was trained with (assets.extra/harflow.json), so prediction samples a
clip exactly as ingestion did.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from harflow.serving.inputs import clip_input, top_classes

MODEL_INFO = Path("assets.extra") / "harflow.json"


class ModelNotFound(FileNotFoundError):
    pass


def resolve_model_dir(path: str | Path) -> Path:
    """A SavedModel dir as is; a base path of integer versions -> its newest version."""
    path = Path(path)
    if (path / "saved_model.pb").is_file():
        return path
    if not path.is_dir():
        raise ModelNotFound(f"{path}: no such model directory (train one with `harflow demo` or give --model)")
    versions = sorted((int(p.name), p) for p in path.iterdir() if p.name.isdigit() and (p / "saved_model.pb").is_file())
    if not versions:
        raise ModelNotFound(f"{path}: neither a SavedModel nor a TF Serving base path with numbered versions")
    return versions[-1][1]


@dataclass
class LoadedModel:
    directory: Path
    class_names: list[str]
    num_frames: int
    image_size: int
    _signature: object
    _loaded: object = None  # keeps the SavedModel's variables alive

    def probabilities(self, frames: np.ndarray) -> np.ndarray:
        """frames [B, T, H, W, 3] uint8 -> probabilities [B, C]."""
        import tensorflow as tf

        outputs = self._signature(frames=tf.constant(frames, dtype=tf.uint8))
        return outputs["probabilities"].numpy()

    def predict_clip(self, path: str | Path, top: int = 5) -> list[tuple[str, float]]:
        """The `top` most likely classes of one clip, most likely first."""
        scores = self.probabilities(clip_input(path, self.num_frames, self.image_size))[0]
        return top_classes(scores, self.class_names, top)


def load_model(path: str | Path) -> LoadedModel:
    directory = resolve_model_dir(path)
    info_file = directory / MODEL_INFO
    if not info_file.is_file():
        raise ModelNotFound(f"{directory}: not a harflow model ({MODEL_INFO} is missing)")
    info = json.loads(info_file.read_text())
    import tensorflow as tf  # slow: only once the model is known to be there

    loaded = tf.saved_model.load(str(directory))
    return LoadedModel(
        directory=directory,
        class_names=list(info["class_names"]),
        num_frames=int(info["num_frames"]),
        image_size=int(info["image_size"]),
        _signature=loaded.signatures["serving_default"],
        _loaded=loaded,
    )

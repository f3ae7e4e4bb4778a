"""The in-process Predictor: an exported SavedModel loaded into this process.

`SavedModelPredictor` accepts a SavedModel directory or a TF Serving model
base path (then the highest integer version is used, as TF Serving would
serve it). Its frame count and size are the model's (harflow.artifacts
ModelInfo), so a clip is sampled exactly as ingestion did. Open it through
serving.predictor.open_predictor, the one factory.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from harflow import artifacts


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


class SavedModelPredictor:
    """A harflow SavedModel (or the newest version of a TF Serving base path), loaded here once."""

    def __init__(self, path: str | Path):
        self.directory = resolve_model_dir(path)
        try:
            info = artifacts.read_model_info(self.directory)
        except artifacts.NotAHarflowModel as error:
            raise ModelNotFound(str(error)) from None
        import tensorflow as tf  # slow: only once the model is known to be there

        self._loaded = tf.saved_model.load(str(self.directory))  # keeps the signature's variables alive
        self._signature = self._loaded.signatures[artifacts.SERVING_SIGNATURE]
        self.classes = info.class_names
        self.num_frames, self.image_size = info.num_frames, info.image_size
        self.description = f"SavedModel {self.directory}"

    def predict(self, clips: np.ndarray) -> np.ndarray:
        """clips [B, T, S, S, 3] uint8 -> probabilities [B, C] float32."""
        import tensorflow as tf

        outputs = self._signature(**{artifacts.FRAMES_INPUT: tf.constant(clips, dtype=tf.uint8)})
        return outputs[artifacts.PROBABILITIES_OUTPUT].numpy()

    def close(self) -> None:
        pass

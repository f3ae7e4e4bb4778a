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

from harflow import artifacts, storage
from harflow.serving import versions as serving_versions


class ModelNotFound(FileNotFoundError):
    pass


def resolve_model_dir(path: str | Path) -> str | Path:
    """A SavedModel dir as is; a base path of integer versions -> its newest version (folders, gs://, s3://)."""
    as_given = Path if isinstance(path, Path) else str
    if storage.exists(storage.join(path, "saved_model.pb")):
        return path
    if not storage.is_dir(path):
        raise ModelNotFound(f"{path}: no such model directory (train one with `harflow demo` or give --model)")
    newest = serving_versions.newest_version_dir(path)
    if newest is None:
        raise ModelNotFound(f"{path}: neither a SavedModel nor a TF Serving base path with numbered versions")
    return as_given(newest)


def load_saved_model(directory: str | Path):
    """tf.saved_model.load(directory); TensorFlow is imported only here, once the model is known to be there."""
    import tensorflow as tf

    return tf.saved_model.load(str(directory))


class SavedModelPredictor:
    """A harflow SavedModel (or the newest version of a TF Serving base path), loaded here once."""

    def __init__(self, path: str | Path):
        try:
            self._load(path)
        except Exception:
            if not self._chosen_version_vanished(path):
                raise
            self._load(path)  # the version chosen was pruned while it loaded: choose the newest again, once

    def _chosen_version_vanished(self, path: str | Path) -> bool:
        """True when `path` is a base path whose version chosen by _load is gone now."""
        chosen = getattr(self, "directory", None)
        return chosen is not None and str(chosen) != str(path) and not storage.exists(chosen)

    def _load(self, path: str | Path) -> None:
        self.directory = resolve_model_dir(path)
        try:
            info = artifacts.read_model_info(self.directory)
        except artifacts.NotAHarflowModel as error:
            raise ModelNotFound(str(error)) from None
        self._loaded = load_saved_model(self.directory)  # keeps the signature's variables alive
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

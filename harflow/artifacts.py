"""The one owner of harflow's artifact formats: every file name, JSON key and signature name lives here.

    <examples uri>/class_names.txt                 one class name per line, line i = label i (VideoExampleGen)
    <model uri>/Format-Serving/                    the SavedModel TF Serving loads (Trainer, trainer/export.py)
    <saved model>/assets.extra/harflow.json        ModelInfo: class names, frames, size, colour
    <model uri>/Format-TFLite/model.tflite         with --tflite (trainer/tflite.py)
    <model uri>/Format-TFLite/harflow.json         ModelInfo, plus the ops it needs and its batch size
    <model uri>/harflow_training.json              TrainingSummary (what the model comparison reads)

The SavedModel's signatures (trainer/export.py writes them, clients call them):
    serving_default   frames [B, T, S, S, 3] uint8 -> probabilities [B, C] float32, class_names [B, C] string
    serving_examples  examples [B] serialized tf.train.Example -> probabilities [B, C] (what TFMA feeds)

Standard library only; TensorFlow's file system (tf.io.gfile) is imported
only for a URI such as gs://..., where the Trainer may write on Kubeflow.
Files written before this module (same keys) read as they did.
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

# --------------------------------------------------------------------------- names

CLASS_NAMES_FILE = "class_names.txt"  # beside the Split-* folders of an Examples artifact
CLASS_NAMES_PROPERTY = "class_names"  # the Examples artifact's MLMD custom property: the names as JSON
SPLIT_SOURCE_PROPERTY = "split_source"  # the Examples artifact's: where the split came from, in words (DatasetIndex.source)
LEAK_PROPERTY = "eval_fraction_with_train_twin"  # the Examples artifact's: the leakage audit's share (harflow/leakage.py)
VAL_VIDEOS_PROPERTY = "val_videos"  # the Examples artifact's: val videos (not clips), the trials of val accuracy's interval
MODEL_INFO_FILE = "harflow.json"
ASSETS_EXTRA = "assets.extra"  # the SavedModel's folder for files that are not part of the graph
TRAINING_SUMMARY_FILE = "harflow_training.json"  # in the Model artifact, beside Format-Serving/
SERVING_FOLDER = "Format-Serving"  # TFX's name for the SavedModel folder of a Model artifact
TFLITE_FOLDER = "Format-TFLite"
TFLITE_FILE = "model.tflite"

SERVING_SIGNATURE = "serving_default"  # frames -> probabilities, class_names (what clients call)
EXAMPLES_SIGNATURE = "serving_examples"  # serialized Examples -> probabilities (what TFMA calls)
FRAMES_INPUT = "frames"
EXAMPLES_INPUT = "examples"
PROBABILITIES_OUTPUT = "probabilities"
CLASS_NAMES_OUTPUT = "class_names"

# harflow.json files written before the colour option have no "color": every model then was trained on RGB
COLOR_BEFORE_IT_WAS_RECORDED = "rgb"
INPUT_NOTE = (
    "frames: uint8 RGB [batch, num_frames, image_size, image_size, 3], "
    "frames spread uniformly over the clip (harflow.video.read_clip)"
)


class NotAHarflowModel(FileNotFoundError):
    """A folder that lacks the file harflow's model formats need."""


# --------------------------------------------------------------------------- files and URIs


def _is_uri(path: str | Path) -> bool:
    return "://" in str(path)


def _read_text(path: str | Path) -> str:
    if _is_uri(path):
        import tensorflow as tf

        with tf.io.gfile.GFile(str(path)) as handle:
            return handle.read()
    return Path(path).read_text()


def _write_text(path: str | Path, text: str) -> None:
    """Write `text` to `path`, making its folder first (a local path or a tf.io.gfile URI)."""
    if _is_uri(path):
        import tensorflow as tf

        tf.io.gfile.makedirs(os.path.dirname(str(path)))
        with tf.io.gfile.GFile(str(path), "w") as handle:
            handle.write(text)
        return
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(text)


def _exists(path: str | Path) -> bool:
    if _is_uri(path):
        import tensorflow as tf

        return tf.io.gfile.exists(str(path))
    return Path(path).is_file()


# --------------------------------------------------------------------------- class_names.txt


def write_class_names(examples_uri: str, class_names: list[str] | tuple[str, ...]) -> None:
    """<examples uri>/class_names.txt: line i is the name of label i."""
    _write_text(os.path.join(examples_uri, CLASS_NAMES_FILE), "\n".join(class_names) + "\n")


def read_class_names(examples_uri: str) -> list[str]:
    """The names <examples uri>/class_names.txt lists, label 0 first."""
    return [line.strip() for line in _read_text(os.path.join(examples_uri, CLASS_NAMES_FILE)).splitlines() if line.strip()]


def examples_uri_of(split_files: list[str]) -> str:
    """<examples uri>/Split-train/* (a Trainer's file patterns) -> <examples uri>."""
    if not split_files:
        raise ValueError("no split files given: the Trainer's train_files are empty")
    return os.path.dirname(os.path.dirname(split_files[0]))


# --------------------------------------------------------------------------- harflow.json


@dataclass(frozen=True)
class ModelInfo:
    """What a client needs to feed an exported model (assets.extra/harflow.json)."""

    class_names: list[str]
    num_frames: int
    image_size: int
    color: str  # gray: trained on gray clips; the model turns RGB input gray itself
    ops: str | None = None  # TFLite only: the op sets the flatbuffer needs
    batch: int | None = None  # TFLite only: its fixed batch size

    def to_json(self) -> str:
        data = {key: value for key, value in dataclasses.asdict(self).items() if value is not None}
        return json.dumps({**data, "input": INPUT_NOTE}, indent=1)

    @classmethod
    def from_json(cls, text: str, source: str = MODEL_INFO_FILE) -> ModelInfo:
        data = json.loads(text)
        missing = [key for key in ("class_names", "num_frames", "image_size") if key not in data]
        if missing:
            raise ValueError(f"{source}: lacks {', '.join(missing)}; export the model again with this harflow")
        return cls(
            class_names=list(data["class_names"]),
            num_frames=int(data["num_frames"]),
            image_size=int(data["image_size"]),
            color=data.get("color", COLOR_BEFORE_IT_WAS_RECORDED),
            ops=data.get("ops"),
            batch=data.get("batch"),
        )


def model_info_path(saved_model_dir: str | Path) -> str:
    return os.path.join(str(saved_model_dir), ASSETS_EXTRA, MODEL_INFO_FILE)


def write_model_info(saved_model_dir: str | Path, info: ModelInfo) -> None:
    """<saved model>/assets.extra/harflow.json."""
    _write_text(model_info_path(saved_model_dir), info.to_json())


def read_model_info(saved_model_dir: str | Path) -> ModelInfo:
    """<saved model>/assets.extra/harflow.json -> ModelInfo; NotAHarflowModel when it is missing."""
    path = model_info_path(saved_model_dir)
    if not _exists(path):
        raise NotAHarflowModel(f"{saved_model_dir}: not a harflow model ({ASSETS_EXTRA}/{MODEL_INFO_FILE} is missing)")
    return ModelInfo.from_json(_read_text(path), path)


def has_model_info(saved_model_dir: str | Path) -> bool:
    return _exists(model_info_path(saved_model_dir))


def serving_dir(model_uri: str | Path) -> str:
    """<model uri>/Format-Serving: the SavedModel of a Model artifact."""
    return os.path.join(str(model_uri), SERVING_FOLDER)


def model_class_names(model_uri: str | None) -> list[str]:
    """The class names a Model artifact (or a SavedModel folder) was trained on; [] when there is none."""
    if not model_uri:
        return []
    for candidate in (serving_dir(model_uri), model_uri):
        if has_model_info(candidate):
            return read_model_info(candidate).class_names
    return []


# --------------------------------------------------------------------------- Format-TFLite


def tflite_dir(model_uri: str) -> str:
    """<model uri>/Format-TFLite, beside Format-Serving."""
    return os.path.join(model_uri, TFLITE_FOLDER)


def tflite_path(model_uri: str) -> str:
    return os.path.join(tflite_dir(model_uri), TFLITE_FILE)


def write_tflite(model_uri: str, flatbuffer: bytes, info: ModelInfo) -> str:
    """<model uri>/Format-TFLite/model.tflite and its harflow.json; returns the .tflite path."""
    import tensorflow as tf

    path = tflite_path(model_uri)
    tf.io.gfile.makedirs(tflite_dir(model_uri))
    with tf.io.gfile.GFile(path, "wb") as handle:
        handle.write(flatbuffer)
    _write_text(os.path.join(tflite_dir(model_uri), MODEL_INFO_FILE), info.to_json())
    return path


def read_tflite_info(model_uri: str) -> ModelInfo:
    """<model uri>/Format-TFLite/harflow.json -> ModelInfo."""
    path = os.path.join(tflite_dir(model_uri), MODEL_INFO_FILE)
    if not _exists(path):
        raise NotAHarflowModel(f"{model_uri}: no {TFLITE_FOLDER}/{MODEL_INFO_FILE} (train with --tflite)")
    return ModelInfo.from_json(_read_text(path), path)


# --------------------------------------------------------------------------- harflow_training.json


@dataclass(frozen=True)
class TrainingSummary:
    """One variant's training, as the model comparison reports it (harflow_training.json)."""

    variant: str
    train: dict  # the variant's TrainConfig, as a dict
    history: dict[str, list[float]]  # Keras's History.history: metric -> one value per epoch
    epochs: list[int]  # 1-based epochs that ran
    best_epoch: int | None  # the epoch of the lowest val_loss (the weights kept)
    train_seconds: float
    parameters: int
    trainable_parameters: int
    trunk_cache: bool  # trained on cached trunk features (a frozen backbone)
    train_segments: int = 1  # clips per train video
    extra: dict = field(default_factory=dict)  # keys this version does not know (kept as they were)

    def at_best_epoch(self, metric: str) -> float | None:
        """The metric's value at the best epoch (None when it was not recorded)."""
        if self.best_epoch not in self.epochs or metric not in self.history:
            return None
        return self.history[metric][self.epochs.index(self.best_epoch)]

    def to_dict(self) -> dict:
        data = dataclasses.asdict(self)
        return {**data.pop("extra"), **data}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=1)

    @classmethod
    def from_json(cls, text: str) -> TrainingSummary:
        data = json.loads(text)
        known = {f.name for f in dataclasses.fields(cls)} - {"extra"}
        return cls(**{k: v for k, v in data.items() if k in known}, extra={k: v for k, v in data.items() if k not in known})


def write_training_summary(folder: str, summary: TrainingSummary) -> None:
    """<folder>/harflow_training.json (the Model artifact, and the Trainer's run folder)."""
    _write_text(os.path.join(folder, TRAINING_SUMMARY_FILE), summary.to_json())


def read_training_summary(model_uri: str) -> TrainingSummary:
    path = os.path.join(model_uri, TRAINING_SUMMARY_FILE)
    if not _exists(path):
        raise NotAHarflowModel(f"{model_uri}: no {TRAINING_SUMMARY_FILE}; was this Model written by harflow's Trainer?")
    return TrainingSummary.from_json(_read_text(path))

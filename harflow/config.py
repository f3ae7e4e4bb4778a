"""All of harflow's settings in one typed place.

A `PipelineConfig` is built from the command line (or by hand in Python),
travels into TFX components as JSON (`to_json` / `from_json`), and is the only
source of defaults: no module keeps constants of its own.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class IngestConfig:
    """How clips become TFRecord frame sequences."""

    dataset_root: str = "harflow-work/data/synth"
    dataset: str = "ucf101"  # the layout of dataset_root: ucf101 (classInd.txt + split lists)
    split: int = 1  # which official split (1, 2 or 3)
    num_frames: int = 8  # frames sampled per clip, spread uniformly over the whole clip
    image_size: int = 64  # frames are resized to image_size x image_size
    jpeg_quality: int = 90
    val_fraction: float = 0.15  # share of the official train list's groups held out for validation

    def __post_init__(self) -> None:
        if self.split not in (1, 2, 3):
            raise ValueError(f"split must be 1, 2 or 3, not {self.split}")
        if self.num_frames < 1 or self.image_size < 8:
            raise ValueError("num_frames must be >= 1 and image_size >= 8")
        if not 1 <= self.jpeg_quality <= 100:
            raise ValueError(f"jpeg_quality must be in 1..100, not {self.jpeg_quality}")


@dataclass(frozen=True)
class TrainConfig:
    """The model and how it is fitted."""

    backbone: str = "small"  # the frame CNN: small (from scratch, keeps position)
    head: str = "gru"  # the recurrence over frames: gru or lstm
    frame_differences: bool = True  # feed each frame with its difference from the previous one
    rnn_units: int = 64
    dropout: float = 0.3
    epochs: int = 30
    batch_size: int = 16
    learning_rate: float = 2e-3
    early_stopping_patience: int = 8  # epochs without a better val_loss before stopping
    seed: int = 0


@dataclass(frozen=True)
class GateConfig:
    """What a model must reach to be blessed and pushed."""

    min_accuracy: float = 0.6  # absolute floor on eval-split accuracy
    # the candidate may not be worse than the last blessed model by more than this
    max_accuracy_drop: float = 0.0
    top_k: int = 5  # the Evaluator also reports top-k accuracy (1.0 when there are <= k classes)
    # optional class name -> category (e.g. UCF101's five groups): `harflow runs show` adds per-category accuracy
    categories: dict[str, str] = field(default_factory=dict)
    keep_versions: int = 3  # the Pusher keeps this many newest versions in the serving base path

    def __post_init__(self) -> None:
        if not 0.0 <= self.min_accuracy <= 1.0 or self.max_accuracy_drop < 0.0:
            raise ValueError("min_accuracy must be in 0..1 and max_accuracy_drop >= 0")
        if self.top_k < 1 or self.keep_versions < 1:
            raise ValueError(f"top_k and keep_versions must be >= 1, not {self.top_k} and {self.keep_versions}")


@dataclass(frozen=True)
class ServingConfig:
    """How clients reach a model server (TF Serving, or its stand-ins in tests)."""

    model_name: str = "harflow"  # the name in TF Serving's models.config / --model_name
    signature: str = "serving_default"
    version: int | None = None  # None: the server's newest version
    timeout_s: float = 30.0  # per request; a server's first call on a model builds its graph (seconds)


@dataclass(frozen=True)
class PipelineConfig:
    name: str = "harflow"
    work_dir: str = "harflow-work"  # pipeline root, metadata and serving dir live here by default
    runner: str = "beam"  # beam (BeamDagRunner) or local (LocalDagRunner)
    beam_args: tuple[str, ...] = ("--direct_running_mode=multi_processing", "--direct_num_workers=2")
    enable_cache: bool = True
    serving_dir: str = ""  # TF Serving model base path; default <work_dir>/serving/<name>
    ingest: IngestConfig = field(default_factory=IngestConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    gate: GateConfig = field(default_factory=GateConfig)

    @property
    def pipeline_root(self) -> str:
        return str(Path(self.work_dir) / "pipelines" / self.name)

    @property
    def metadata_path(self) -> str:
        return str(Path(self.work_dir) / "metadata" / f"{self.name}.sqlite")

    @property
    def serving_base(self) -> str:
        return self.serving_dir or str(Path(self.work_dir) / "serving" / self.name)

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "PipelineConfig":
        data = json.loads(text)
        return cls(
            **{k: v for k, v in data.items() if k not in ("ingest", "train", "gate", "beam_args")},
            beam_args=tuple(data.get("beam_args", ())),
            ingest=IngestConfig(**data.get("ingest", {})),
            train=TrainConfig(**data.get("train", {})),
            gate=GateConfig(**data.get("gate", {})),
        )

    def absolute(self) -> "PipelineConfig":
        """The same config with every path made absolute (TFX components run elsewhere)."""
        ingest = dataclasses.replace(self.ingest, dataset_root=str(Path(self.ingest.dataset_root).resolve()))
        return dataclasses.replace(
            self,
            work_dir=str(Path(self.work_dir).resolve()),
            serving_dir=str(Path(self.serving_base).resolve()),
            ingest=ingest,
        )

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
    # the layout of dataset_root: ucf101 (classInd.txt + split lists), hmdb51 (testTrainMulti_7030_splits),
    # folder (a folder per class) or auto (detected from the files; components/datasets.py)
    dataset: str = "auto"
    split: int = 1  # which official split (1, 2 or 3; ucf101 and hmdb51)
    num_frames: int = 8  # frames sampled per clip, spread uniformly over the whole clip
    image_size: int = 64  # frames are resized to image_size x image_size
    jpeg_quality: int = 90
    color: str = "rgb"  # rgb, or gray (luminance repeated in all 3 channels, so the format stays [H, W, 3])
    val_fraction: float = 0.15  # share of the official train list's groups held out for validation
    # folder layout only: where groups come from (auto, subfolder, name, or a CSV file clip,group),
    # the share of groups for eval, and a seeded per-clip random split instead (only when asked)
    groups: str = "auto"
    test_fraction: float = 0.2
    random_split: bool = False
    split_seed: int = 0
    require_all_classes: bool = True  # fail the run when a non-empty split lacks a class
    # also run TFX StatisticsGen, SchemaGen and ExampleValidator (TFDV) on the small features
    # (everything but the JPEG frames); off by default: statistics.md already gives the counts
    tfdv_statistics: bool = False

    def __post_init__(self) -> None:
        if self.split not in (1, 2, 3):
            raise ValueError(f"split must be 1, 2 or 3, not {self.split}")
        if self.num_frames < 1 or self.image_size < 8:
            raise ValueError("num_frames must be >= 1 and image_size >= 8")
        if not 1 <= self.jpeg_quality <= 100:
            raise ValueError(f"jpeg_quality must be in 1..100, not {self.jpeg_quality}")
        if self.color not in ("rgb", "gray"):
            raise ValueError(f"color must be rgb or gray, not {self.color!r}")
        if not 0 < self.test_fraction < 1 or not 0 <= self.val_fraction < 1:
            raise ValueError("test_fraction must be in (0, 1) and val_fraction in [0, 1)")


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

"""Tiny fixtures for the serving tests: an exported harflow model in a TF Serving base path, and clips."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from harflow.config import IngestConfig, TrainConfig
from harflow.video import write_video

CLASS_NAMES = ["Alpha", "Beta", "Gamma", "Delta", "Epsilon", "Zeta"]


def export_untrained_model(export_dir: Path, seed: int = 0, num_frames: int = 4, image_size: int = 32) -> Path:
    """harflow's model with random weights, exported by the trainer's own exporter (the real signatures)."""
    import keras

    from harflow.trainer.export import export_saved_model
    from harflow.trainer.model import build_model

    keras.utils.set_random_seed(seed)
    ingest = IngestConfig(num_frames=num_frames, image_size=image_size)
    model = build_model(len(CLASS_NAMES), ingest, TrainConfig(rnn_units=8))
    export_saved_model(model, str(export_dir), CLASS_NAMES, ingest)
    return export_dir


def write_clip(path: Path, seed: int, frames: int = 12, size: int = 40) -> Path:
    """A short clip of a bright square crossing a noisy background."""
    rng = np.random.default_rng(seed)
    video = rng.integers(0, 80, size=(frames, size, size, 3), dtype=np.uint8)
    for t in range(frames):
        x = 2 + t * (size - 12) // frames
        video[t, 10:20, x : x + 10] = rng.integers(150, 255, size=3, dtype=np.uint8)
    write_video(path, video)
    return path

"""Clip -> model input: the one function every predictor uses (in process, gRPC, REST).

It samples and resizes a clip with harflow.video.read_clip, the reader
VideoExampleGen uses for training data, with the model's frame count and size,
so a served model sees a clip exactly as training did.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from harflow.video import read_clip


def clip_input(path: str | Path, num_frames: int, image_size: int, max_frames: int | None = None) -> np.ndarray:
    """One clip -> uint8 RGB frames [1, num_frames, image_size, image_size, 3] (a batch of one).

    max_frames: sample only the clip's first max_frames frames (the web app's cap on long videos).
    """
    clip = read_clip(path, num_frames, image_size, max_frames=max_frames)
    return clip.frames[np.newaxis]


def top_classes(probabilities: np.ndarray, class_names: list[str], top: int) -> list[tuple[str, float]]:
    """probabilities [C] -> the `top` (class name, probability) pairs, most likely first."""
    order = np.argsort(-np.asarray(probabilities))[:top]
    return [(class_names[i], float(probabilities[i])) for i in order]

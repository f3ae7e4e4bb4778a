"""Fixtures for the web app's and the live predictions' tests: a tiny exported model and clips."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from serving_fixtures import export_untrained_model, write_clip  # noqa: F401  (re-exported)


def png_file(path: Path) -> Path:
    """A real PNG image, whatever the name says."""
    ok, encoded = cv2.imencode(".png", np.full((16, 16, 3), 200, np.uint8))
    path.write_bytes(encoded.tobytes())
    return path


def frame_count(path: Path) -> int:
    """Frames OpenCV decodes from a video file (walking it, not trusting the header)."""
    capture = cv2.VideoCapture(str(path))
    count = 0
    while capture.grab():
        count += 1
    capture.release()
    return count

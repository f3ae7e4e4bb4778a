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


def claim_frames(path: Path, claimed: int) -> Path:
    """Patch an AVI's header to claim `claimed` frames: avih's dwTotalFrames and the video strh's dwLength."""
    import struct

    data = bytearray(path.read_bytes())
    for tag, offset in ((b"avih", 24), (b"strh", 40)):  # tag, size, then the field at this offset from the tag
        at = data.find(tag)
        if at < 0:
            raise ValueError(f"{path}: no {tag.decode()} chunk (not an AVI?)")
        struct.pack_into("<I", data, at + offset, claimed)
    path.write_bytes(bytes(data))
    return path

"""The web app's limits on work: analyses at once, and decoded pixels per frame and per clip.

`Admission` lets at most WebConfig.max_analyses uploads be analysed at once and at
most `threads - max_analyses - 1` more wait (each up to analysis_wait_s), so one of
waitress's threads is always free for /healthz and the page; the rest are turned
away at once. `pixel_refusal` reads a clip's header (harflow.video.probe with max_frames=0,
which decodes nothing) and says why a clip is too large to decode, before any frame is decoded.
"""

from __future__ import annotations

import contextlib
import threading
from pathlib import Path

from harflow.config import WebConfig
from harflow.video import probe
from harflow.serving.windows import frames_for


class Busy(Exception):
    """No analysis slot: answer 503 with Retry-After."""


class Admission:
    """At most `running` analyses at once, at most `waiting` more waiting `wait_s` each; the rest are Busy."""

    def __init__(self, running: int, waiting: int, wait_s: float):
        self._slots = threading.BoundedSemaphore(running)
        self._admitted = 0  # running + waiting
        self._limit = running + max(0, waiting)
        self._lock = threading.Lock()
        self.wait_s = wait_s

    @classmethod
    def for_config(cls, config: WebConfig) -> "Admission":
        return cls(config.max_analyses, config.threads - config.max_analyses - 1, config.analysis_wait_s)

    @contextlib.contextmanager
    def slot(self):
        """Hold one analysis slot for the `with` block; Busy when none frees up in time."""
        with self._lock:
            if self._admitted >= self._limit:
                raise Busy("every analysis slot is taken and the waiting line is full")
            self._admitted += 1
        try:
            if not self._slots.acquire(timeout=self.wait_s):
                raise Busy(f"no analysis slot freed up within {self.wait_s:g} s")
            try:
                yield
            finally:
                self._slots.release()
        finally:
            with self._lock:
                self._admitted -= 1


def pixel_refusal(path: str | Path, config: WebConfig) -> str | None:
    """Why a clip is too large to decode (per frame, or its analysed part), or None when it is within the limits.

    The analysed part is the declared frame count, capped at max_clip_seconds; a file that declares no
    count is judged by max_clip_seconds alone. Raises ClipError when the file cannot be opened as a video.
    """
    header = probe(path, max_frames=0)  # the declared size, count (0: none) and rate; no frame decoded
    frame_pixels = header.width * header.height
    if frame_pixels > config.max_frame_pixels:
        return (f"frames of {header.width}x{header.height} ({frame_pixels / 1e6:.1f} megapixels) are over the limit of "
                f"{config.max_frame_pixels / 1e6:.1f} megapixels per frame (harflow serve --max-frame-pixels); upload a smaller video")
    frames = frames_for(config.max_clip_seconds, header.fps or config.fallback_fps)
    if header.declared_frames > 0:
        frames = min(frames, header.declared_frames)
    if frame_pixels * frames > config.max_clip_pixels:
        return (f"{frames} frames of {header.width}x{header.height} are {frame_pixels * frames / 1e9:.1f} gigapixels to decode, "
                f"over the limit of {config.max_clip_pixels / 1e9:.1f} (harflow serve --max-clip-pixels); "
                "upload a shorter or smaller video")
    return None

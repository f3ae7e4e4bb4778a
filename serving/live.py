"""Predictions on a running video: `harflow predict --annotate OUT` and `--webcam [N]` / `--stream URL`.

Both read frames one by one (harflow.video.VideoSource), keep the last WebConfig.window_seconds
of them in a serving.windows.RollingWindow and predict again every
WebConfig.step_seconds. `annotate` draws the running prediction on every frame
and writes a video with the same frames (harflow.video.ClipWriter); `watch` shows a live window where a
display exists, or prints one line per prediction where none does.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

import cv2
import numpy as np

from harflow.config import WebConfig
from harflow.video import WRITABLE_SUFFIXES, ClipError, ClipWriter, VideoSource, check_video_file
from harflow.serving.inputs import top_classes
from harflow.serving.predictor import Predictor
from harflow.serving.windows import RollingWindow, frames_for, to_model_frame


class Predictions:
    """A rolling window over a stream and the newest top classes it gave."""

    def __init__(self, predictor: Predictor, config: WebConfig, fps: float, top: int = 3):
        self.predictor, self.top, self.fps = predictor, top, fps
        window, step = frames_for(config.window_seconds, fps), frames_for(config.step_seconds, fps)
        self.window = RollingWindow(window, predictor.num_frames, step)
        self.latest: list[tuple[str, float]] = []

    def push(self, frame_rgb: np.ndarray) -> bool:
        """Add one decoded frame [h, w, 3] RGB; True when it produced a new prediction (then in self.latest)."""
        sampled = self.window.push(to_model_frame(frame_rgb, self.predictor.image_size))
        if sampled is None:
            return False
        scores = self.predictor.predict(sampled[np.newaxis])[0]
        self.latest = top_classes(scores, self.predictor.classes, self.top)
        return True

    @property
    def seconds(self) -> float:
        return self.window.seen / self.fps


def draw_prediction(frame: np.ndarray, top: list[tuple[str, float]], seconds: float) -> np.ndarray:
    """Write the top classes and the time onto the frame [h, w, 3] (in place, white and grey: RGB or BGR alike),
    on a dark band at the top."""
    height, width = frame.shape[:2]
    scale = max(0.3, width / 900)
    line = int(26 * scale) + 4
    lines = [f"{name} {p:.0%}" for name, p in top[:2]] or ["..."]
    band = frame[: line * len(lines) + 4]
    band[:] = (band * 0.35).astype(np.uint8)
    for i, text in enumerate(lines):
        colour = (255, 255, 255) if i == 0 else (190, 190, 190)
        cv2.putText(frame, text, (4, line * (i + 1) - 4), cv2.FONT_HERSHEY_SIMPLEX, scale, colour, 1, cv2.LINE_AA)
    stamp = f"{seconds:.1f}s"
    (text_width, _), _ = cv2.getTextSize(stamp, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
    cv2.putText(frame, stamp, (width - text_width - 4, line - 4), cv2.FONT_HERSHEY_SIMPLEX, scale, (190, 190, 190), 1, cv2.LINE_AA)
    return frame


def annotate(source: str | Path, out: str | Path, predictor: Predictor, config: WebConfig = WebConfig(), progress: Callable[[int, int], None] | None = None) -> int:
    """Write `out` (.mp4 as mp4v, .avi as MJPG): every frame of `source` with the running prediction.

    Returns the number of frames written (all of the source's decodable frames).
    """
    source, out = Path(source), Path(out)
    if out.suffix.lower() not in WRITABLE_SUFFIXES:
        raise ValueError(f"{out}: --annotate writes {', '.join(WRITABLE_SUFFIXES)} files; give a name ending in one of them")
    check_video_file(source)
    with VideoSource(source) as frames:
        fps = frames.fps or config.fallback_fps
        predictions = Predictions(predictor, config, fps)
        with ClipWriter(out, fps) as writer:
            for frame in frames:
                predictions.push(frame)
                writer.write(draw_prediction(frame, predictions.latest, predictions.seconds))
                if progress is not None:
                    progress(writer.written, max(frames.declared_frames, writer.written))
    if writer.written == 0:
        raise ClipError(f"{source}: no decodable video frames")
    return writer.written


def display_available() -> bool:
    """True when a live window can be shown: a display is set and this OpenCV build has a GUI."""
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return False
    try:
        cv2.namedWindow("harflow")
        return True
    except cv2.error:  # opencv-python-headless: no GUI
        return False


def watch(source: int | str, predictor: Predictor, config: WebConfig = WebConfig(), show: bool | None = None,
          emit: Callable[[str], None] = print, max_frames: int | None = None) -> int:
    """Predict on a webcam (an int) or a stream URL / file until it ends, 'q' is pressed or max_frames.

    show: a live window (default: when display_available()); otherwise one line per prediction
    through `emit`: "  12.50 s  MoveLeft  0.913  (MoveRight 0.050, ...)". Returns the number of predictions.
    """
    show = display_available() if show is None else show
    count = 0
    with VideoSource(source) as frames:
        predictions = Predictions(predictor, config, frames.fps or config.fallback_fps)
        try:
            for frame in frames:
                if max_frames is not None and predictions.window.seen >= max_frames:
                    break
                if predictions.push(frame):
                    count += 1
                    if not show:
                        (best, p), *others = predictions.latest
                        rest = ", ".join(f"{n} {q:.3f}" for n, q in others)
                        emit(f"{predictions.seconds:8.2f} s  {best:<20} {p:.3f}  ({rest})")
                if show:
                    shown = draw_prediction(frame, predictions.latest, predictions.seconds)
                    cv2.imshow("harflow", cv2.cvtColor(shown, cv2.COLOR_RGB2BGR))
                    if cv2.waitKey(1) & 0xFF in (ord("q"), 27):
                        break
        finally:
            if show:
                cv2.destroyAllWindows()
    return count

"""One clip file -> its answer: the top classes, how long it took, and a timeline for a long clip.

The web app's page and JSON API and `harflow predict --json/--csv` give this answer.
The whole clip (its first WebConfig.max_clip_seconds at most) is sampled by
serving.inputs.clip_input exactly as training sampled a clip; a clip longer than
one window (WebConfig.window_seconds) also gets a timeline (serving.windows).
"""

from __future__ import annotations

import base64
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from harflow.config import WebConfig
from harflow.video import ClipError, count_frames, still_image_format
from harflow.serving.inputs import clip_input, top_classes
from harflow.serving.predictor import Predictor
from harflow.serving.windows import Segment, frames_for, timeline

# the file names `harflow predict FOLDER` takes as clips (and the upload suffixes the web app keeps)
VIDEO_SUFFIXES = (".avi", ".mp4", ".m4v", ".mkv", ".webm", ".mov", ".mpg", ".mpeg", ".ogv", ".wmv", ".flv", ".3gp")


@dataclass
class Analysis:
    top: list[tuple[str, float]]  # most likely first
    seconds: float  # wall-clock time of the analysis (decoding included)
    fps: float
    frame_count: int  # frames in the file (declared by its container, or counted)
    analysed_frames: int  # the first this-many frames were analysed
    timeline: list[Segment] = field(default_factory=list)  # empty for a clip of one window or less
    sampled: np.ndarray | None = None  # the model's input [T, S, S, 3] uint8 RGB

    @property
    def duration_s(self) -> float:
        return self.frame_count / self.fps

    @property
    def analysed_s(self) -> float:
        return self.analysed_frames / self.fps

    @property
    def truncated(self) -> bool:
        return self.analysed_frames < self.frame_count

    def to_json(self, file_name: str | None = None, thumbnails: bool = False) -> dict:
        """The documented JSON answer (docs/web.md)."""
        answer = {
            "top": [{"class": name, "probability": round(p, 6)} for name, p in self.top],
            "seconds": round(self.seconds, 4),
            "fps": round(self.fps, 3),
            "duration_s": round(self.duration_s, 3),
            "analysed_s": round(self.analysed_s, 3),
            "truncated": self.truncated,
            "timeline": [
                {"start_s": round(s.start_s, 3), "end_s": round(s.end_s, 3), "class": s.top[0][0], "probability": round(s.top[0][1], 6)}
                for s in self.timeline
            ],
        }
        if file_name is not None:
            answer = {"file": file_name, **answer}
        if thumbnails and self.sampled is not None:
            answer["frames"] = [_jpeg_data_url(frame) for frame in self.sampled]
        return answer


def clip_length(path: str | Path, fallback_fps: float) -> tuple[int, float]:
    """(frame count, frames per second) of a video file: the container's, else counted / the fallback."""
    capture = cv2.VideoCapture(str(path))
    try:
        count = capture.get(cv2.CAP_PROP_FRAME_COUNT) if capture.isOpened() else 0
        fps = capture.get(cv2.CAP_PROP_FPS) if capture.isOpened() else 0
    finally:
        capture.release()
    fps = float(fps) if math.isfinite(fps) and 0 < fps < 1000 else fallback_fps
    count = int(count) if math.isfinite(count) and count > 0 else count_frames(path)
    return count, fps


def analyse_clip(path: str | Path, predictor: Predictor, config: WebConfig = WebConfig(), with_timeline: bool = True) -> Analysis:
    """Predict one clip file. Raises ClipError (a ValueError) when it holds no decodable video.

    predictor: a serving.predictor.Predictor.
    """
    started = time.monotonic()
    check_video_file(Path(path))
    frame_count, fps = clip_length(path, config.fallback_fps)
    if frame_count < 1:
        raise ClipError(f"{path}: no decodable video frames")
    analysed = min(frame_count, frames_for(config.max_clip_seconds, fps))
    frames = clip_input(path, predictor.num_frames, predictor.image_size, max_frames=analysed)  # [1, T, S, S, 3]
    scores = predictor.predict(frames)[0]
    window = frames_for(config.window_seconds, fps)
    segments = []
    if with_timeline and analysed > window:
        segments = timeline(path, predictor, analysed, window, fps, top=1)
    return Analysis(
        top=top_classes(scores, predictor.classes, config.top_k),
        seconds=time.monotonic() - started,
        fps=fps,
        frame_count=frame_count,
        analysed_frames=analysed,
        timeline=segments,
        sampled=frames[0],
    )


def check_video_file(path: Path) -> None:
    """An empty file or a still image named as a video is refused before OpenCV sees it."""
    if path.stat().st_size == 0:
        raise ClipError(f"{path}: empty file")
    image = still_image_format(path)
    if image:
        raise ClipError(f"{path}: a still {image} image, not a video")


def _jpeg_data_url(frame_rgb: np.ndarray) -> str:
    ok, encoded = cv2.imencode(".jpg", cv2.cvtColor(frame_rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 85])
    return "data:image/jpeg;base64," + base64.b64encode(encoded.tobytes()).decode("ascii")

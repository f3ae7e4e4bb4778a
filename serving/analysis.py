"""One clip file -> its answer: the top classes, how long it took, and a timeline for a long clip.

The web app's page and JSON API and `harflow predict --json/--csv` give this answer.
harflow.video.probe counts the clip's frames (so a header that lies about them
does not change the answer, nor the reported duration: past the cap it is a counted
lower bound, `duration_complete` false, and the header's claim is only ever
`header_duration_s`); the whole clip (its first WebConfig.max_clip_seconds
at most) is sampled with harflow.video.sample_indices exactly as training sampled
a clip; a clip longer than one window (WebConfig.window_seconds) also gets a
timeline (serving.windows). Counting the frames and decoding the clip's and the
timeline's take one walk of the file (harflow.video.probe_and_read) unless the
header's frame count is wrong.
"""

from __future__ import annotations

import base64
import time
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from harflow.config import WebConfig
from harflow.video import ClipError, check_video_file, frames_per_second, probe_and_read, sample_indices
from harflow.serving.inputs import top_classes
from harflow.serving.predictor import Predictor
from harflow.serving.windows import Segment, frames_for, timeline, timeline_frames


@dataclass
class Analysis:
    top: list[tuple[str, float]]  # most likely first
    seconds: float  # wall-clock time of the analysis (decoding included)
    fps: float
    frame_count: int  # frames counted: all of the clip's, or (complete False) the analysed ones and one more
    analysed_frames: int  # the first this-many frames were analysed
    declared_frames: int  # the container header's frame count, never checked past the cap; 0 when it gives none
    timeline: list[Segment] = field(default_factory=list)  # empty for a clip of one window or less
    sampled: np.ndarray | None = None  # the model's input [T, S, S, 3] uint8 RGB

    @property
    def complete(self) -> bool:
        """Every frame was counted. Counting stops one frame past the cap, so it is incomplete exactly when the
        analysis was cut (`truncated`): the clip is then at least frame_count long."""
        return not self.truncated

    @property
    def duration_s(self) -> float:
        """The counted length: the clip's when `complete`, otherwise a lower bound."""
        return self.frame_count / self.fps

    @property
    def header_duration_s(self) -> float | None:
        """What the container's header claims (unverified); None when it gives no frame count."""
        return self.declared_frames / self.fps if self.declared_frames else None

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
            "duration_complete": self.complete,
            "header_duration_s": None if self.header_duration_s is None else round(self.header_duration_s, 3),
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


def analyse_clip(path: str | Path, predictor: Predictor, config: WebConfig = WebConfig(), with_timeline: bool = True) -> Analysis:
    """Predict one clip file. Raises ClipError (a ValueError) when it holds no decodable video.

    predictor: a serving.predictor.Predictor.
    """
    started = time.monotonic()
    check_video_file(Path(path))
    fps = frames_per_second(path) or config.fallback_fps
    limit = frames_for(config.max_clip_seconds, fps)
    window = frames_for(config.window_seconds, fps)

    def wanted(counted: int) -> set[int]:  # the clip's sampled frames and its timeline's, of the first `limit`
        analysed = min(counted, limit)
        long_clip = with_timeline and analysed > window
        return set(sample_indices(analysed, predictor.num_frames)) | (timeline_frames(analysed, window, predictor.num_frames) if long_clip else set())

    # counting one frame past the limit tells whether the clip goes on; one walk decodes what is wanted
    info, decoded = probe_and_read(path, wanted, predictor.image_size, max_frames=limit + 1)
    analysed = min(info.counted, limit)
    sampled = sample_indices(analysed, predictor.num_frames)
    missing = sorted(set(sampled) - set(decoded))
    if missing:
        raise ClipError(f"{path}: frame {missing[0]} was counted but cannot be decoded")
    frames = np.stack([decoded[i] for i in sampled])[np.newaxis]  # [1, T, S, S, 3] uint8 RGB
    scores = predictor.predict(frames)[0]
    segments = timeline(decoded, predictor, analysed, window, fps, top=1) if with_timeline and analysed > window else []
    return Analysis(
        top=top_classes(scores, predictor.classes, config.top_k),
        seconds=time.monotonic() - started,
        fps=fps,
        frame_count=info.counted,
        analysed_frames=analysed,
        declared_frames=info.declared_frames,
        timeline=segments,
        sampled=frames[0],
    )


def _jpeg_data_url(frame_rgb: np.ndarray) -> str:
    ok, encoded = cv2.imencode(".jpg", cv2.cvtColor(frame_rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 85])
    return "data:image/jpeg;base64," + base64.b64encode(encoded.tobytes()).decode("ascii")

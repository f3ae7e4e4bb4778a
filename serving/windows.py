"""Windows of frames: the timeline of a long clip and the rolling window of a live stream.

The model sees T frames spread over a clip (harflow.video.sample_indices).
A clip longer than one window (WebConfig.window_seconds) is also cut into
consecutive windows of `window` source frames, and each window is sampled to
T frames the same way read_clip samples a whole clip, so the model sees every
window as it saw a training clip. A live stream (webcam, URL, `--annotate`)
keeps the last `window` frames and samples them the same way every `step`
frames. The web app, `harflow predict --annotate` and `--webcam`/`--stream`
all use this module.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from harflow.video import resized, sample_indices


def frames_for(seconds: float, fps: float) -> int:
    """How many frames `seconds` of video at `fps` hold (at least 1)."""
    return max(1, int(round(seconds * fps)))


def to_model_frame(frame_rgb: np.ndarray, size: int) -> np.ndarray:
    """A decoded RGB frame [h, w, 3] -> [size, size, 3], by the resize harflow.video.read_clip uses."""
    return resized(frame_rgb, size, size)


# --------------------------------------------------------------------------- timeline of a clip


@dataclass(frozen=True)
class Segment:
    """One window of a clip and the model's classes for it."""

    start_s: float
    end_s: float
    top: list[tuple[str, float]]  # most likely first


def window_bounds(frame_count: int, window: int) -> list[tuple[int, int]]:
    """Consecutive [start, end) frame ranges of `window` frames covering [0, frame_count).

    A last remainder shorter than half a window joins the window before it:
    window_bounds(9, 4) == [(0, 4), (4, 9)]; window_bounds(10, 4) == [(0, 4), (4, 8), (8, 10)].
    """
    if frame_count < 1 or window < 1:
        raise ValueError(f"need frame_count >= 1 and window >= 1, got {frame_count} and {window}")
    starts = list(range(0, frame_count, window))
    if len(starts) > 1 and frame_count - starts[-1] < window / 2:
        starts.pop()
    return [(start, starts[i + 1] if i + 1 < len(starts) else frame_count) for i, start in enumerate(starts)]


def window_indices(bounds: list[tuple[int, int]], num_frames: int) -> list[list[int]]:
    """For each window, the `num_frames` source frame indices read_clip would take from it alone."""
    return [[start + i for i in sample_indices(end - start, num_frames)] for start, end in bounds]


def timeline_frames(frame_count: int, window: int, num_frames: int) -> set[int]:
    """The source frame indices `timeline` needs: read them with harflow.video.read_frames (one walk)."""
    return {i for indices in window_indices(window_bounds(frame_count, window), num_frames) for i in indices}


def timeline(decoded: dict[int, np.ndarray], predictor, frame_count: int, window: int, fps: float, top: int, batch: int = 16) -> list[Segment]:
    """The top classes of every window of the clip's first `frame_count` frames.

    decoded: {source frame index: [S, S, 3] uint8 RGB} holding at least timeline_frames(...).
    predictor: a serving.predictor.Predictor (predict: clips [B, T, S, S, 3] -> [B, C])
    Windows whose frames cannot all be decoded (a truncated file) are left out.
    """
    bounds = window_bounds(frame_count, window)
    indices = window_indices(bounds, predictor.num_frames)
    usable = [(b, ix) for b, ix in zip(bounds, indices) if all(i in decoded for i in ix)]
    segments: list[Segment] = []
    for first in range(0, len(usable), batch):
        chunk = usable[first : first + batch]
        clips = np.stack([np.stack([decoded[i] for i in ix]) for _, ix in chunk])  # [B, T, S, S, 3]
        for ((start, end), _), scores in zip(chunk, predictor.predict(clips)):
            order = np.argsort(-scores)[:top]
            segments.append(Segment(start / fps, end / fps, [(predictor.classes[i], float(scores[i])) for i in order]))
    return segments


# --------------------------------------------------------------------------- rolling window of a stream


class RollingWindow:
    """The last `window` frames of a stream, sampled to `num_frames` every `step` frames.

    push(frame) returns the model's input [T, S, S, 3] on the first frame and then on every
    `step`-th frame, else None. Before `window` frames have arrived it samples the frames so far
    (repeating frames when there are fewer than T, as read_clip does for a short clip).
    """

    def __init__(self, window: int, num_frames: int, step: int):
        if window < 1 or num_frames < 1 or step < 1:
            raise ValueError(f"window, num_frames and step must be >= 1, got {window}, {num_frames}, {step}")
        self.num_frames, self.step = num_frames, step
        self._frames: deque[np.ndarray] = deque(maxlen=window)
        self.seen = 0  # frames pushed so far

    def push(self, frame: np.ndarray) -> np.ndarray | None:
        self._frames.append(frame)
        self.seen += 1
        if (self.seen - 1) % self.step:
            return None
        return np.stack([self._frames[i] for i in sample_indices(len(self._frames), self.num_frames)])

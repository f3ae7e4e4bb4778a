"""Reading and writing video clips with OpenCV: the one clip reader of harflow.

Ingestion, the command line and the serving clients all call `read_clip`, so
a model always sees frames sampled the way it was trained on.
(Why OpenCV and not tensorflow-io: docs/video-decoding.md.)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np


class ClipError(ValueError):
    """A file that yields no usable video; the message names the file and the reason."""


@dataclass(frozen=True)
class Clip:
    frames: np.ndarray  # [T, H, W, 3] uint8 RGB
    source_frames: int  # frames the video has (declared, or counted when the declaration was wrong)
    padded: bool  # fewer source frames than T: frames were repeated
    partial: bool  # decoding stopped before the declared frame count (truncated file)


def sample_indices(frame_count: int, num_frames: int) -> list[int]:
    """`num_frames` indices spread over the whole clip: the centre of each of num_frames equal segments.

    With fewer frames than asked, frames repeat (nearest-neighbour stretch):
    sample_indices(3, 6) == [0, 0, 1, 1, 2, 2].
    """
    if frame_count < 1 or num_frames < 1:
        raise ValueError(f"need frame_count >= 1 and num_frames >= 1, got {frame_count}, {num_frames}")
    segment = frame_count / num_frames
    return [min(frame_count - 1, int((i + 0.5) * segment)) for i in range(num_frames)]


def _size(size: int | tuple[int, int]) -> tuple[int, int]:
    return (size, size) if isinstance(size, int) else (int(size[0]), int(size[1]))


def _open(path: Path) -> cv2.VideoCapture:
    capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        raise ClipError(f"{path}: cannot be opened as a video (is it a video file?)")
    return capture


def _decode_indices(path: Path, indices: list[int], height: int, width: int) -> tuple[dict[int, np.ndarray], int]:
    """Walk the stream to the last wanted index, decoding only the wanted frames.

    Returns {index: [H, W, 3] RGB} and how many frames could be walked.
    """
    wanted = set(indices)
    decoded: dict[int, np.ndarray] = {}
    capture = _open(path)
    try:
        walked = 0
        for index in range(max(indices) + 1):
            if not capture.grab():
                break
            walked += 1
            if index in wanted:
                ok, frame = capture.retrieve()
                if ok and frame is not None:
                    frame = cv2.resize(frame, (width, height), interpolation=cv2.INTER_AREA)
                    decoded[index] = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
        return decoded, walked
    finally:
        capture.release()


def count_frames(path: str | Path, max_frames: int | None = None) -> int:
    """Count the frames by walking the stream (the header's count can be wrong)."""
    capture = _open(Path(path))
    try:
        count = 0
        while (max_frames is None or count < max_frames) and capture.grab():
            count += 1
        return count
    finally:
        capture.release()


def declared_frame_count(path: str | Path) -> int:
    capture = _open(Path(path))
    try:
        return int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    finally:
        capture.release()


def frames_per_second(path: str | Path) -> float:
    capture = _open(Path(path))
    try:
        fps = capture.get(cv2.CAP_PROP_FPS)
        return float(fps) if fps and fps > 0 else 0.0
    finally:
        capture.release()


def read_clip(path: str | Path, num_frames: int, size: int | tuple[int, int], *, max_frames: int | None = None) -> Clip:
    """Sample `num_frames` frames spread over the whole clip, resized to `size` (H, W), RGB uint8.

    The header's frame count is trusted first; when it is missing or larger
    than what decodes, the frames are counted and sampled again.
    `max_frames` limits the clip to its first N frames (long videos).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise ClipError(f"{path}: empty file")
    height, width = _size(size)
    declared = declared_frame_count(path)
    if max_frames is not None:
        declared = min(declared, max_frames)

    frames, source, partial = None, declared, False
    if declared > 0:
        indices = sample_indices(declared, num_frames)
        decoded, _ = _decode_indices(path, indices, height, width)
        if len(decoded) == len(set(indices)):
            frames = [decoded[i] for i in indices]
    if frames is None:  # the header lied (or said nothing): count, then sample what is really there
        source = count_frames(path, max_frames)
        if source < 1:
            raise ClipError(f"{path}: no decodable video frames (is it a video?)")
        partial = declared > source
        indices = sample_indices(source, num_frames)
        decoded, _ = _decode_indices(path, indices, height, width)
        missing = [i for i in set(indices) if i not in decoded]
        if missing:
            raise ClipError(f"{path}: frames {sorted(missing)[:3]} could be walked but not decoded")
        frames = [decoded[i] for i in indices]
    return Clip(frames=np.stack(frames), source_frames=source, padded=source < num_frames, partial=partial)


def write_video(path: str | Path, frames: np.ndarray, fps: float = 25.0) -> None:
    """Write [N, H, W, 3] uint8 RGB frames: .avi as MJPG, .mp4 as mp4v (this OpenCV has no H.264)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    codec = {".avi": "MJPG", ".mp4": "mp4v"}.get(path.suffix.lower())
    if codec is None:
        raise ClipError(f"{path}: write .avi or .mp4")
    height, width = frames.shape[1:3]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*codec), fps, (width, height))
    if not writer.isOpened():
        raise ClipError(f"{path}: OpenCV cannot write this file")
    try:
        for frame in frames:
            writer.write(cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_RGB2BGR))
    finally:
        writer.release()

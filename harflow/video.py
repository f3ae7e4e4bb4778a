"""Reading and writing video clips with OpenCV: the one clip reader of harflow.

The only module that opens cv2.VideoCapture or cv2.VideoWriter (tests/test_one_reader.py).
Ingestion, the command line, the serving clients, the timeline, live prediction and
the web app all come here, so a model sees frames sampled the way it was trained on:
probe (frames recounted when the header lies, fps, size), read_clip, read_frames and
probe_and_read (a clip and its timeline windows in one walk), VideoSource (a file,
webcam or stream URL frame by frame), ClipWriter / write_video, VIDEO_SUFFIXES.

(Why OpenCV and not tensorflow-io: docs/video-decoding.md.)

How `read_clip` samples: `num_frames` indices spread over the whole clip
(`sample_indices`); the stream is walked with `grab()` and only the wanted
frames are decoded with `retrieve()`, stopping after the last one (seeking
with CAP_PROP_POS_FRAMES is slower and inexact on many codecs). The
container's declared frame count is trusted first; when it is missing or
larger than what decodes (truncated files, broken AVI headers), the frames
are counted and sampled again. A count that is too small cannot be noticed
without reading the whole file: such a clip is sampled from its declared part.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator

import cv2
import numpy as np

# The file names harflow takes as videos: the folder reader, `harflow predict DIR` and the web app's
# uploads. Containers OpenCV's bundled FFmpeg demuxes (docs/video-decoding.md).
VIDEO_SUFFIXES = (".avi", ".mp4", ".mkv", ".webm", ".mov", ".mpg", ".mpeg", ".m4v", ".wmv", ".flv", ".3gp", ".ogv")
# what write_video / ClipWriter write (this OpenCV wheel cannot encode H.264; WebM's VP8 is what browsers play)
_CODECS = {".avi": "MJPG", ".mp4": "mp4v", ".webm": "VP80"}
COLORS = ("rgb", "gray")
MAX_FPS = 1000.0  # a declared frame rate at or above this is nonsense (e.g. a container's time base)


class ClipError(ValueError):
    """A file that yields no usable video; the message names the file and the reason."""


@dataclass(frozen=True)
class Clip:
    """Frames sampled from one video file, and how they were obtained."""

    frames: np.ndarray  # [T, H, W, 3] uint8 RGB
    source_frames: int  # frames the video has (declared, or counted when the declaration was wrong)
    padded: bool  # source_frames < T: frames were repeated
    partial: bool  # decoding stopped before the declared frame count (truncated file)


# --------------------------------------------------------------------------- probing


@dataclass(frozen=True)
class VideoInfo:
    """What a video file holds, as far as probe() walked it."""

    frames: int  # decodable frames: counted, or the header's count where counting stopped early (complete False)
    fps: float  # the declared frame rate; 0.0 when none or nonsense (callers choose their fallback)
    width: int
    height: int
    declared_frames: int  # the container's frame count; 0 when it gives none
    complete: bool  # the whole stream was counted (False: stopped at max_frames)
    counted: int  # frames counted by walking the stream: all of them when complete, else max_frames

    @property
    def header_lies(self) -> bool:
        return self.complete and self.declared_frames != self.frames


def probe(path: str | os.PathLike, max_frames: int | None = None) -> VideoInfo:
    """Frame count, frame rate and size of a video file.

    The frames are counted by walking the stream with grab() (a header's count
    is wrong for truncated files and broken AVI headers), up to `max_frames`:
    when counting stops there, `frames` is the larger of the count and the
    header's; max_frames=0 reads the header alone, decoding nothing (the web app's
    pixel limits). Raises FileNotFoundError, or ClipError when no frame decodes.
    """
    return probe_and_read(path, lambda counted: (), 1, max_frames)[0]


def probe_and_read(
    path: str | os.PathLike, wanted_for: Callable[[int], Iterable[int]], size: int | tuple[int, int], max_frames: int | None = None
) -> tuple[VideoInfo, dict[int, np.ndarray]]:
    """probe(path, max_frames), and the frames wanted_for(frames counted) as read_frames gives them.

    One walk when the header's count (capped at max_frames) is right: the frames
    wanted_for(that count) are decoded while counting; otherwise they are read again
    for the true count. The web app counts and decodes a clip and its timeline so.
    """
    path = check_video_file(path)
    height, width = _frame_size(size)
    if max_frames is not None and max_frames < 0:
        raise ValueError(f"max_frames must be >= 0 or None, got {max_frames}")
    capture = _open_capture(path)
    try:
        declared, fps = _declared_frame_count(capture), _declared_fps(capture)
        width_, height_ = int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)), int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
        guess = set(wanted_for(declared if max_frames is None else min(declared, max_frames))) if declared else set()
        decoded, counted = {}, 0
        while (max_frames is None or counted < max_frames) and capture.grab():
            if counted in guess and (frame := capture.retrieve()[1]) is not None:
                decoded[counted] = to_rgb(frame, height, width)
            counted += 1
    finally:
        capture.release()
    if counted < 1 and max_frames != 0:
        raise ClipError(f"{path}: no decodable video frames (is it a video?)")
    wanted = set(wanted_for(counted))
    if wanted != guess:  # the header's count was wrong: the wanted frames are others
        decoded = read_frames(path, wanted, size)
    complete = max_frames is None or counted < max_frames
    info = VideoInfo(counted if complete else max(counted, declared), fps, width_, height_, declared, complete, counted)
    return info, decoded


# --------------------------------------------------------------------------- sampling


def sample_indices(frame_count: int, num_frames: int) -> list[int]:
    """`num_frames` frame indices spread over the whole clip, sorted.

    Index i is the centre of segment i when [0, frame_count) is cut into
    num_frames equal segments: sample_indices(32, 4) == [4, 12, 20, 28].
    With fewer frames than asked, frames repeat in order (nearest-neighbour
    stretch): sample_indices(3, 6) == [0, 0, 1, 1, 2, 2].
    """
    if frame_count < 1 or num_frames < 1:
        raise ValueError(f"need frame_count >= 1 and num_frames >= 1, got {frame_count} and {num_frames}")
    segment = frame_count / num_frames
    return [min(frame_count - 1, int((i + 0.5) * segment)) for i in range(num_frames)]


def segment_indices(frame_count: int, num_frames: int, clips: int) -> list[list[int]]:
    """For each of `clips` equal segments of [0, frame_count), `num_frames` indices sampled within it.

    Segment k is [k*frame_count//clips, (k+1)*frame_count//clips), sampled
    like a whole clip (`sample_indices`): segment_indices(33, 4, 3) ==
    [[1, 4, 6, 9], [12, 15, 17, 20], [23, 26, 28, 31]]. With one segment this
    is sample_indices(frame_count, num_frames). A video with fewer frames than
    segments gives some segments a single (shared) frame.
    """
    if clips < 1:
        raise ValueError(f"need clips >= 1, got {clips}")
    if frame_count < 1:
        raise ValueError(f"need frame_count >= 1, got {frame_count}")
    segments = []
    for k in range(clips):
        start = min(frame_count - 1, k * frame_count // clips)
        end = max(start + 1, (k + 1) * frame_count // clips)
        segments.append([start + i for i in sample_indices(end - start, num_frames)])
    return segments


# --------------------------------------------------------------------------- reading


def read_clip(
    path: str | os.PathLike,
    num_frames: int,
    size: int | tuple[int, int],
    *,
    max_frames: int | None = None,
    color: str = "rgb",
) -> Clip:
    """Sample `num_frames` frames spread over the whole clip, resized to `size`.

    size: an int for square frames, or (height, width).
    max_frames: consider only the first `max_frames` frames (long videos).
    color: "rgb", or "gray" (luminance repeated in the 3 channels; the shape stays [T, H, W, 3]).
    Returns a Clip whose frames are [num_frames, H, W, 3] uint8 RGB.
    Raises FileNotFoundError for a missing file, ClipError for a file without
    decodable video frames.
    """
    (clip,) = _read_segments(path, num_frames, size, 1, max_frames, color)
    return clip


def read_segment_clips(
    path: str | os.PathLike,
    num_frames: int,
    size: int | tuple[int, int],
    clips: int,
    *,
    color: str = "rgb",
) -> list[Clip]:
    """`clips` clips from one video, clip k sampled from the k-th of `clips` equal segments (`segment_indices`).

    The evaluation protocol's several clips per video: the stream is walked
    once and only the sampled frames are decoded. `padded` means a segment had
    fewer frames than `num_frames`; a header whose frame count is missing or
    too large is corrected by counting, as in read_clip.
    """
    return _read_segments(path, num_frames, size, clips, None, color)


def _read_segments(
    path: str | os.PathLike, num_frames: int, size: int | tuple[int, int], clips: int, max_frames: int | None, color: str
) -> list[Clip]:
    """read_clip's and read_segment_clips's work: `clips` clips of the first `max_frames` frames (None: all).

    The container's frame count decides which frames to decode; when it is
    missing or too large (the stream ends early), the frames are counted and
    sampled again from what really decodes.
    """
    path = check_video_file(path)
    height, width = _frame_size(size)
    if num_frames < 1 or clips < 1:
        raise ValueError(f"num_frames and clips must be >= 1, got {num_frames} and {clips}")
    if max_frames is not None and max_frames < 1:
        raise ValueError(f"max_frames must be >= 1 or None, got {max_frames}")
    if color not in COLORS:
        raise ValueError(f"color must be one of {', '.join(COLORS)}, got {color!r}")
    capture = _open_capture(path)
    try:
        declared = _declared_frame_count(capture)
        considered = declared if max_frames is None else min(declared, max_frames)
        counted = None
        if considered > 0:
            segments = segment_indices(considered, num_frames, clips)
            wanted = sorted({i for segment in segments for i in segment})
            decoded, walked = _walk(capture, wanted, height, width)
            if len(decoded) < len(wanted):
                if walked > wanted[-1]:
                    raise ClipError(f"{path}: frame {min(set(wanted) - set(decoded))} cannot be decoded")
                counted = walked  # grab() failed early: the stream has exactly `walked` frames
    finally:
        capture.release()
    if considered <= 0 or counted is not None:
        counted = count_frames(path, max_frames) if counted is None else counted
        if counted < 1:
            raise ClipError(f"{path}: no decodable video frames (is it a video?)")
        segments = segment_indices(counted, num_frames, clips)
        decoded = _decode_counted(path, sorted({i for segment in segments for i in segment}), height, width)
    source = considered if counted is None else counted
    result = []
    for segment in segments:
        frames = np.stack([decoded[i] for i in segment])  # [T, H, W, 3] uint8 RGB
        if color == "gray":
            frames = to_gray(frames)
        padded = len(set(segment)) < num_frames  # fewer source frames than T: some repeat
        result.append(Clip(frames, source_frames=source, padded=padded, partial=considered > source))
    return result


def to_gray(frames: np.ndarray) -> np.ndarray:
    """[T, H, W, 3] RGB -> [T, H, W, 3] with each pixel's luminance (ITU-R 601) in all three channels."""
    luminance = np.stack([cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY) for frame in frames])  # [T, H, W]
    return np.repeat(luminance[..., None], 3, axis=-1)


def count_frames(path: str | os.PathLike, max_frames: int | None = None) -> int:
    """Count the frames by walking the stream (a header's count can be wrong); stop at max_frames."""
    capture = _open_capture(Path(path))
    try:
        count = 0
        while (max_frames is None or count < max_frames) and capture.grab():
            count += 1
        return count
    finally:
        capture.release()


def frames_per_second(path: str | os.PathLike) -> float:
    """The frame rate the file declares; 0.0 when it declares none (or nonsense)."""
    capture = _open_capture(check_video_file(path))
    try:
        return _declared_fps(capture)
    finally:
        capture.release()


def read_frames(path: str | os.PathLike, indices: set[int] | list[int], size: int | tuple[int, int]) -> dict[int, np.ndarray]:
    """Decode only the frames `indices` in one walk of the stream: {index: [H, W, 3] uint8 RGB}.

    Frames past the end of the stream (or that do not decode) are missing from the answer;
    the timeline reads every window of a long clip with one call.
    """
    path = check_video_file(path)
    height, width = _frame_size(size)
    if not indices:
        return {}
    capture = _open_capture(path)
    try:
        decoded, _ = _walk(capture, sorted(indices), height, width)
    finally:
        capture.release()
    return decoded


def check_video_file(path: str | os.PathLike) -> Path:
    """`path` as a Path; FileNotFoundError when missing, ClipError when not a non-empty file or a still image."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file")
    if not path.is_file():
        raise ClipError(f"{path}: not a file")
    if path.stat().st_size == 0:
        raise ClipError(f"{path}: empty file")
    image = still_image_format(path)
    if image:
        raise ClipError(f"{path}: a still {image} image, not a video")
    return path


_IMAGE_SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"\xff\xd8\xff", "JPEG"),
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
    (b"BM", "BMP"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
)


def still_image_format(path: Path) -> str | None:
    """The image format a file starts with (PNG, JPEG, GIF, BMP, TIFF, WEBP), or None.

    FFmpeg opens a lone image as a one-frame video whatever its name, so a
    photo renamed to .avi would otherwise pass as a clip.
    """
    with open(path, "rb") as handle:
        head = handle.read(16)
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    return next((name for signature, name in _IMAGE_SIGNATURES if head.startswith(signature)), None)


def _frame_size(size: int | tuple[int, int]) -> tuple[int, int]:
    """(height, width) from an int (square) or a (height, width) pair."""
    height, width = (size, size) if isinstance(size, int) else size
    if height < 1 or width < 1:
        raise ValueError(f"frame size must be positive, got {size}")
    return int(height), int(width)


def _open_capture(path: Path) -> cv2.VideoCapture:
    capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        raise ClipError(f"{path}: cannot be opened as a video (is it a video file?)")
    return capture


def _declared_fps(capture: cv2.VideoCapture) -> float:
    """The one frame-rate rule: the container's rate when finite and in (0, MAX_FPS), else 0.0."""
    fps = capture.get(cv2.CAP_PROP_FPS)
    return float(fps) if math.isfinite(fps) and 0 < fps < MAX_FPS else 0.0


def _declared_frame_count(capture: cv2.VideoCapture) -> int:
    """The container's frame count; 0 when it gives none (or nonsense such as -1 or NaN)."""
    count = capture.get(cv2.CAP_PROP_FRAME_COUNT)
    return int(count) if math.isfinite(count) and count > 0 else 0


def _walk(
    capture: cv2.VideoCapture, indices: list[int], height: int, width: int
) -> tuple[dict[int, np.ndarray], int]:
    """Grab frames 0..max(indices), decoding only those in `indices`.

    Returns ({index: [H, W, 3] uint8 RGB}, how many frames were grabbed);
    stops early when the stream ends.
    """
    wanted = set(indices)
    decoded: dict[int, np.ndarray] = {}
    for index in range(max(indices) + 1):
        if not capture.grab():
            return decoded, index
        if index in wanted:
            ok, frame = capture.retrieve()
            if ok and frame is not None:
                decoded[index] = to_rgb(frame, height, width)
    return decoded, max(indices) + 1


def to_rgb(frame: np.ndarray, height: int, width: int) -> np.ndarray:
    """A decoded BGR frame [h, w, 3] -> [height, width, 3] RGB."""
    return cv2.cvtColor(resized(frame, height, width), cv2.COLOR_BGR2RGB)


def resized(frame: np.ndarray, height: int, width: int) -> np.ndarray:
    """[h, w, 3] -> [height, width, 3] by area interpolation, the one resize every reader uses."""
    return cv2.resize(frame, (width, height), interpolation=cv2.INTER_AREA)


def _decode_counted(path: Path, wanted: list[int], height: int, width: int) -> dict[int, np.ndarray]:
    """Frames `wanted` (sorted indices, all below a counted frame total), reading the clip from the start again."""
    capture = _open_capture(path)
    try:
        decoded, _ = _walk(capture, wanted, height, width)
    finally:
        capture.release()
    missing = sorted(set(wanted) - set(decoded))
    if missing:
        raise ClipError(f"{path}: frame {missing[0]} was counted but cannot be decoded")
    return decoded


# --------------------------------------------------------------------------- live sources


class VideoSource:
    """The frames of a video file, a webcam (an int: its device number) or a stream URL, one by one.

    Iterating yields every decodable frame as [h, w, 3] uint8 RGB at the source's own size,
    until the source ends. Use it as a context manager (or call close()).
    """

    def __init__(self, source: int | str | os.PathLike):
        self.name = f"webcam {source}" if isinstance(source, int) else str(source)
        self._capture = cv2.VideoCapture(source if isinstance(source, int) else str(source))
        if not self._capture.isOpened():
            raise ClipError(f"{self.name}: cannot be opened as a video (check the device number, URL or file)")
        self.fps = _declared_fps(self._capture)  # 0.0: none declared (webcams often)
        self.declared_frames = _declared_frame_count(self._capture)  # 0: none (live sources)

    def __iter__(self) -> Iterator[np.ndarray]:
        while True:
            ok, frame = self._capture.read()
            if not ok or frame is None:
                return
            yield cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)

    def close(self) -> None:
        self._capture.release()

    def __enter__(self) -> "VideoSource":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


# --------------------------------------------------------------------------- writing


WRITABLE_SUFFIXES = tuple(_CODECS)


class ClipWriter:
    """A video file written frame by frame (`.avi` MJPG, `.mp4` mp4v, `.webm` VP8); frames [H, W, 3] uint8 RGB.

    The file is opened on the first frame (its size decides the video's). Creates the parent
    folders. Use it as a context manager (or call close()). ClipError when OpenCV cannot write it.
    """

    def __init__(self, path: str | os.PathLike, fps: float):
        self.path = Path(path)
        self._codec = _CODECS.get(self.path.suffix.lower())
        if self._codec is None:
            raise ClipError(f"{self.path}: can only write {', '.join(_CODECS)} files; give a name ending in one of them")
        if not (math.isfinite(fps) and fps > 0):
            raise ValueError(f"{self.path}: fps must be > 0, got {fps}")
        self.fps, self.written = float(fps), 0
        self._writer: cv2.VideoWriter | None = None
        self._size: tuple[int, int] | None = None

    def write(self, frame: np.ndarray) -> None:
        if frame.ndim != 3 or frame.shape[-1] != 3 or frame.dtype != np.uint8:
            raise ValueError(f"{self.path}: a frame must be uint8 [H, W, 3], got {frame.dtype} {list(frame.shape)}")
        if self._writer is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._size = (frame.shape[1], frame.shape[0])
            self._writer = cv2.VideoWriter(str(self.path), cv2.VideoWriter_fourcc(*self._codec), self.fps, self._size)
            if not self._writer.isOpened():
                raise ClipError(f"{self.path}: OpenCV cannot open this file for writing")
        if (frame.shape[1], frame.shape[0]) != self._size:
            raise ValueError(f"{self.path}: frame {self.written} is {frame.shape[1]}x{frame.shape[0]}, the video {self._size[0]}x{self._size[1]}")
        self._writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
        self.written += 1

    def close(self) -> None:
        if self._writer is not None:
            self._writer.release()

    def __enter__(self) -> "ClipWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def write_video(path: str | os.PathLike, frames: np.ndarray, fps: float = 25.0) -> None:
    """Write frames [N, H, W, 3] uint8 RGB: `.avi` as MJPG, `.mp4` as mp4v, `.webm` as VP8.

    Creates the parent folders. Raises ClipError when OpenCV cannot write the file.
    """
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8 or len(frames) == 0:
        raise ValueError(f"{path}: frames must be uint8 [N>=1, H, W, 3], got {frames.dtype} {list(frames.shape)}")
    with ClipWriter(path, fps) as writer:
        for frame in frames:
            writer.write(frame)

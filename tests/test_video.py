"""harflow.video: uniform sampling over the whole clip, RGB frames, wrong headers, bad files."""

import cv2
import numpy as np
import pytest

from harflow import video
from harflow.video import ClipError, read_clip, sample_indices, write_video

REAL_CAPTURE = cv2.VideoCapture


def numbered_frames(count: int, size: int = 32) -> np.ndarray:
    """[count, size, size, 3] noisy grey frames whose mean level, 24 + 5 * i, tells which frame i it is."""
    noise = np.random.default_rng(count).integers(-20, 21, (count, size, size, 1))
    levels = 24 + 5 * np.arange(count)[:, None, None, None]
    return np.repeat(levels + noise, 3, axis=3).astype(np.uint8)


def frame_levels(frames: np.ndarray) -> np.ndarray:
    """[T] float: which numbered frame each decoded frame [T, H, W, 3] is, before rounding."""
    return (frames.reshape(len(frames), -1).mean(axis=1) - 24) / 5


def frame_numbers(frames: np.ndarray) -> list[int]:
    """Which numbered frame each decoded frame [T, H, W, 3] is."""
    return [int(round(level)) for level in frame_levels(frames)]


class SpyCapture:
    """cv2.VideoCapture that counts grab() and retrieve() calls and can lie about the frame count."""

    declared = None  # what get(CAP_PROP_FRAME_COUNT) says; None: the truth
    grabs = retrieves = opens = 0

    def __init__(self, *args):
        type(self).opens += 1
        self._real = REAL_CAPTURE(*args)

    def get(self, prop):
        if prop == cv2.CAP_PROP_FRAME_COUNT and self.declared is not None:
            return float(self.declared)
        return self._real.get(prop)

    def grab(self):
        type(self).grabs += 1
        return self._real.grab()

    def retrieve(self, *args):
        type(self).retrieves += 1
        return self._real.retrieve(*args)

    def __getattr__(self, name):
        return getattr(self._real, name)


@pytest.fixture
def spy(monkeypatch):
    """Replace cv2.VideoCapture by a fresh SpyCapture class for one test."""
    cls = type("Spy", (SpyCapture,), {})
    monkeypatch.setattr(cv2, "VideoCapture", cls)
    return cls


# --------------------------------------------------------------------------- sample_indices


def test_indices_are_the_centres_of_equal_segments():
    assert sample_indices(32, 4) == [4, 12, 20, 28]
    assert sample_indices(10, 1) == [5]


@pytest.mark.parametrize(
    "frame_count, num_frames", [(1, 1), (7, 3), (8, 8), (31, 8), (32, 16), (100, 3), (301, 16), (301, 1)]
)
def test_each_segment_gives_one_index_up_to_the_last(frame_count, num_frames):
    indices = sample_indices(frame_count, num_frames)
    segment = frame_count / num_frames
    assert len(indices) == num_frames and indices == sorted(indices)
    for i, index in enumerate(indices):
        assert i * segment <= index < (i + 1) * segment
    assert indices[-1] >= frame_count - segment  # the end of the clip is sampled too


def test_fewer_frames_than_asked_repeat_each_frame_in_order():
    assert sample_indices(3, 6) == [0, 0, 1, 1, 2, 2]
    assert sample_indices(1, 4) == [0, 0, 0, 0]
    stretched = sample_indices(5, 16)
    assert stretched == sorted(stretched) and set(stretched) == set(range(5))


@pytest.mark.parametrize("frame_count, num_frames", [(0, 4), (4, 0), (-1, 3)])
def test_indices_need_positive_counts(frame_count, num_frames):
    with pytest.raises(ValueError):
        sample_indices(frame_count, num_frames)


# --------------------------------------------------------------------------- read_clip: good files


def test_frames_are_uint8_of_the_asked_shape(tmp_path):
    write_video(tmp_path / "a.avi", numbered_frames(10))
    assert read_clip(tmp_path / "a.avi", 4, 16).frames.shape == (4, 16, 16, 3)
    clip = read_clip(tmp_path / "a.avi", 3, (12, 20))  # (height, width)
    assert clip.frames.shape == (3, 12, 20, 3) and clip.frames.dtype == np.uint8


def test_frames_come_back_rgb(tmp_path):
    red = np.zeros((4, 16, 16, 3), np.uint8)
    red[..., 0] = 255  # RGB red
    write_video(tmp_path / "red.avi", red)
    r, g, b = read_clip(tmp_path / "red.avi", 2, 16).frames.reshape(-1, 3).mean(axis=0)
    assert r > 200 and g < 50 and b < 50


def test_frames_are_sampled_from_the_whole_clip(tmp_path):
    write_video(tmp_path / "ramp.avi", numbered_frames(30))
    clip = read_clip(tmp_path / "ramp.avi", 5, 16)
    assert frame_numbers(clip.frames) == sample_indices(30, 5) == [3, 9, 15, 21, 27]
    assert clip.source_frames == 30 and not clip.padded and not clip.partial


def test_only_sampled_frames_are_decoded_and_reading_stops_after_the_last(tmp_path, spy):
    write_video(tmp_path / "ramp.avi", numbered_frames(40))
    read_clip(tmp_path / "ramp.avi", 4, 16)  # indices 5, 15, 25, 35
    assert spy.retrieves == 4 and spy.grabs == 36 and spy.opens == 1


def test_mp4_files_read_like_avi_files(tmp_path):
    write_video(tmp_path / "ramp.mp4", numbered_frames(20))
    levels = frame_levels(read_clip(tmp_path / "ramp.mp4", 4, 16).frames)
    assert np.allclose(levels, sample_indices(20, 4), atol=0.75)  # mp4v shifts levels a little more than MJPG


def test_short_clips_repeat_frames_and_say_so(tmp_path):
    write_video(tmp_path / "short.avi", numbered_frames(3))
    clip = read_clip(tmp_path / "short.avi", 6, 16)
    assert frame_numbers(clip.frames) == [0, 0, 1, 1, 2, 2] and clip.padded


def test_max_frames_limits_a_long_clip_to_its_start(tmp_path):
    write_video(tmp_path / "long.avi", numbered_frames(30))
    clip = read_clip(tmp_path / "long.avi", 2, 16, max_frames=10)
    assert frame_numbers(clip.frames) == [2, 7] and clip.source_frames == 10


def test_frames_per_second_is_the_declared_rate(tmp_path):
    write_video(tmp_path / "a.avi", numbered_frames(4), fps=12.5)
    assert video.frames_per_second(tmp_path / "a.avi") == pytest.approx(12.5)


# --------------------------------------------------------------------------- read_clip: wrong headers


def test_a_header_that_overstates_the_frame_count_falls_back_to_counting(tmp_path, spy):
    write_video(tmp_path / "liar.avi", numbered_frames(20))
    spy.declared = 200
    clip = read_clip(tmp_path / "liar.avi", 4, 16)
    assert clip.source_frames == 20 and clip.partial
    assert frame_numbers(clip.frames) == sample_indices(20, 4)


@pytest.mark.parametrize("declared", [0, -1, float("nan")])
def test_a_header_without_a_frame_count_falls_back_to_counting(tmp_path, spy, declared):
    write_video(tmp_path / "silent.avi", numbered_frames(12))
    spy.declared = declared
    clip = read_clip(tmp_path / "silent.avi", 3, 16)
    assert frame_numbers(clip.frames) == [2, 6, 10]
    assert clip.source_frames == 12 and not clip.partial


def test_a_truncated_file_keeps_the_frames_it_has(tmp_path):
    path = tmp_path / "cut.avi"
    write_video(path, numbered_frames(40))
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    clip = read_clip(path, 4, 16)
    assert clip.partial and 0 < clip.source_frames < 40
    assert frame_numbers(clip.frames) == sample_indices(clip.source_frames, 4)


# --------------------------------------------------------------------------- read_clip: bad files


@pytest.mark.parametrize(
    "name, content",
    [("empty.avi", b""), ("noise.avi", bytes(range(256)) * 64), ("notes.avi", b"just some text\n" * 50)],
)
def test_files_that_are_not_videos_are_one_line_clip_errors_naming_the_file(tmp_path, name, content):
    (tmp_path / name).write_bytes(content)
    with pytest.raises(ClipError, match=name) as error:
        read_clip(tmp_path / name, 4, 16)
    assert "\n" not in str(error.value)


def test_an_image_named_avi_is_at_most_a_one_frame_clip(tmp_path):
    """FFmpeg may open a still image as a one-frame video: then it is flagged padded."""
    cv2.imwrite(str(tmp_path / "photo.png"), np.zeros((8, 8, 3), np.uint8))
    path = tmp_path / "photo.avi"
    path.write_bytes((tmp_path / "photo.png").read_bytes())
    try:
        clip = read_clip(path, 4, 16)
    except ClipError as error:
        assert "photo.avi" in str(error)
    else:
        assert clip.source_frames == 1 and clip.padded


def test_a_missing_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.avi"):
        read_clip(tmp_path / "nope.avi", 4, 16)


# --------------------------------------------------------------------------- write_video


def test_write_video_creates_parent_folders(tmp_path):
    write_video(tmp_path / "a" / "b" / "clip.avi", numbered_frames(2))
    assert (tmp_path / "a" / "b" / "clip.avi").stat().st_size > 0


def test_write_video_refuses_other_containers(tmp_path):
    with pytest.raises(ClipError, match="clip.mkv"):
        write_video(tmp_path / "clip.mkv", numbered_frames(2))


@pytest.mark.parametrize(
    "frames",
    [np.zeros((2, 8, 8), np.uint8), np.zeros((2, 8, 8, 3), np.float32), np.zeros((0, 8, 8, 3), np.uint8)],
)
def test_write_video_wants_uint8_rgb_frames(tmp_path, frames):
    with pytest.raises(ValueError, match="uint8"):
        write_video(tmp_path / "clip.avi", frames)


def test_write_video_writes_webm_that_reads_back(tmp_path):
    write_video(tmp_path / "clip.webm", numbered_frames(6))
    assert video.probe(tmp_path / "clip.webm").frames == 6


# --------------------------------------------------------------------------- probe


def test_probe_gives_frames_rate_and_size(tmp_path):
    write_video(tmp_path / "a.avi", numbered_frames(9, size=24), fps=12.5)
    info = video.probe(tmp_path / "a.avi")
    assert (info.frames, info.fps, info.width, info.height) == (9, pytest.approx(12.5), 24, 24)
    assert info.complete and not info.header_lies


def test_probe_recounts_when_the_header_overstates_the_frames(tmp_path, spy):
    write_video(tmp_path / "liar.avi", numbered_frames(20), fps=10)
    spy.declared = 200
    info = video.probe(tmp_path / "liar.avi")
    assert info.frames == 20 and info.declared_frames == 200 and info.header_lies
    assert info.frames / info.fps == pytest.approx(2.0)  # the duration of what decodes, not of the header's 200


def test_probe_recounts_when_the_header_understates_the_frames(tmp_path, spy):
    write_video(tmp_path / "liar.avi", numbered_frames(20))
    spy.declared = 5
    assert video.probe(tmp_path / "liar.avi").frames == 20


def test_probe_stops_counting_at_max_frames_and_trusts_the_header_beyond(tmp_path, spy):
    write_video(tmp_path / "long.avi", numbered_frames(30))
    info = video.probe(tmp_path / "long.avi", max_frames=10)
    assert spy.grabs == 10 and info.frames == 30 and not info.complete and info.counted == 10  # frames: the header's, counted: measured
    spy.declared = 200
    assert video.probe(tmp_path / "long.avi", max_frames=50).frames == 30  # counted to the end: the header lied


@pytest.mark.parametrize("fps", [0.0, 1000.0, float("nan")])
def test_a_nonsense_frame_rate_is_none(tmp_path, monkeypatch, spy, fps):
    write_video(tmp_path / "a.avi", numbered_frames(3))
    real_get = spy.get
    monkeypatch.setattr(spy, "get", lambda self, prop: fps if prop == cv2.CAP_PROP_FPS else real_get(self, prop))
    assert video.probe(tmp_path / "a.avi").fps == 0.0 and video.frames_per_second(tmp_path / "a.avi") == 0.0


def test_probe_of_a_file_that_is_not_a_video_names_it(tmp_path):
    (tmp_path / "notes.avi").write_bytes(b"just some text\n" * 50)
    with pytest.raises(ClipError, match="notes.avi"):
        video.probe(tmp_path / "notes.avi")


# --------------------------------------------------------------------------- read_frames, VideoSource, ClipWriter


def test_read_frames_decodes_only_the_asked_frames_in_one_walk(tmp_path, spy):
    write_video(tmp_path / "a.avi", numbered_frames(30))
    decoded = video.read_frames(tmp_path / "a.avi", {3, 17, 12}, 16)
    assert sorted(decoded) == [3, 12, 17] and [frame_numbers(decoded[i][None])[0] for i in (3, 12, 17)] == [3, 12, 17]
    assert spy.opens == 1 and spy.retrieves == 3 and spy.grabs == 18


def test_read_frames_leaves_out_frames_past_the_end(tmp_path):
    write_video(tmp_path / "a.avi", numbered_frames(5))
    assert sorted(video.read_frames(tmp_path / "a.avi", [1, 4, 9], 8)) == [1, 4]


def test_a_video_source_yields_every_frame_rgb_at_its_own_size(tmp_path):
    frames = numbered_frames(7, size=20)
    frames[:, :, :, 0] = 250  # red in RGB
    write_video(tmp_path / "a.avi", frames, fps=8)
    with video.VideoSource(tmp_path / "a.avi") as source:
        read = list(source)
        assert source.fps == pytest.approx(8) and source.declared_frames == 7
    assert len(read) == 7 and read[0].shape == (20, 20, 3) and read[0][..., 0].mean() > 200


def test_a_source_that_cannot_be_opened_names_it(tmp_path):
    with pytest.raises(ClipError, match="nothing.avi: cannot be opened"):
        video.VideoSource(str(tmp_path / "nothing.avi"))


def test_a_clip_writer_writes_frame_by_frame_and_refuses_a_changed_size(tmp_path):
    with video.ClipWriter(tmp_path / "out" / "a.mp4", fps=10) as writer:
        for frame in numbered_frames(4):
            writer.write(frame)
        with pytest.raises(ValueError, match="frame 4 is 16x16"):
            writer.write(np.zeros((16, 16, 3), np.uint8))
    assert writer.written == 4 and video.probe(tmp_path / "out" / "a.mp4").frames == 4


def test_probe_and_read_counts_and_decodes_in_one_walk_when_the_header_is_right(tmp_path, spy):
    write_video(tmp_path / "a.avi", numbered_frames(20))
    info, decoded = video.probe_and_read(tmp_path / "a.avi", lambda n: sample_indices(n, 4), 16)
    assert info.frames == 20 and sorted(decoded) == sample_indices(20, 4)
    assert [frame_numbers(decoded[i][None])[0] for i in sorted(decoded)] == sample_indices(20, 4)
    assert spy.opens == 1 and spy.retrieves == 4


def test_probe_and_read_reads_again_for_the_true_count_when_the_header_lies(tmp_path, spy):
    write_video(tmp_path / "liar.avi", numbered_frames(20))
    spy.declared = 60
    info, decoded = video.probe_and_read(tmp_path / "liar.avi", lambda n: sample_indices(n, 4), 16)
    assert info.frames == 20 and sorted(decoded) == sample_indices(20, 4) and spy.opens == 2


def test_probe_and_read_passes_the_capped_count_past_max_frames(tmp_path, spy):
    write_video(tmp_path / "long.avi", numbered_frames(30))
    seen = []
    info, _ = video.probe_and_read(tmp_path / "long.avi", lambda n: seen.append(n) or [0], 16, max_frames=11)
    assert info.frames == 30 and not info.complete and seen == [11, 11] and spy.opens == 1

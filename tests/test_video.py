"""harflow.video: uniform sampling over the whole clip, RGB frames, wrong headers, bad files."""

import cv2
import numpy as np
import pytest

from harflow import video
from harflow.video import ClipError, read_clip, sample_indices, write_video


def brightness_ramp(count: int, size: int = 32) -> np.ndarray:
    """Frame i is uniformly grey at level 8 * i: the level tells which frame was read."""
    return np.stack([np.full((size, size, 3), 8 * i, np.uint8) for i in range(count)])


def frame_numbers(frames: np.ndarray) -> list[int]:
    return [int(round(frame.mean() / 8)) for frame in frames]


def test_indices_are_the_centres_of_equal_segments():
    assert sample_indices(32, 4) == [4, 12, 20, 28]
    assert sample_indices(10, 1) == [5]


def test_fewer_frames_than_asked_are_repeated_in_order():
    assert sample_indices(3, 6) == [0, 0, 1, 1, 2, 2]


def test_indices_need_a_positive_count():
    with pytest.raises(ValueError):
        sample_indices(0, 4)


def test_frames_are_sampled_from_the_whole_clip(tmp_path):
    path = tmp_path / "ramp.avi"
    write_video(path, brightness_ramp(30))
    clip = read_clip(path, 5, 16)
    assert clip.frames.shape == (5, 16, 16, 3) and clip.frames.dtype == np.uint8
    assert frame_numbers(clip.frames) == sample_indices(30, 5) == [3, 9, 15, 21, 27]
    assert clip.source_frames == 30 and not clip.padded and not clip.partial


def test_frames_come_back_rgb(tmp_path):
    red = np.zeros((4, 16, 16, 3), np.uint8)
    red[..., 0] = 255
    write_video(tmp_path / "red.avi", red)
    r, g, b = read_clip(tmp_path / "red.avi", 2, 16).frames.reshape(-1, 3).mean(axis=0)
    assert r > 200 and g < 50 and b < 50


def test_short_clips_repeat_frames_and_say_so(tmp_path):
    write_video(tmp_path / "short.avi", brightness_ramp(3))
    clip = read_clip(tmp_path / "short.avi", 6, 16)
    assert frame_numbers(clip.frames) == [0, 0, 1, 1, 2, 2] and clip.padded


def test_a_header_that_overstates_the_frame_count_falls_back_to_counting(tmp_path, monkeypatch):
    write_video(tmp_path / "liar.avi", brightness_ramp(20))
    monkeypatch.setattr(video, "declared_frame_count", lambda path: 200)
    clip = read_clip(tmp_path / "liar.avi", 4, 16)
    assert clip.source_frames == 20 and clip.partial
    assert frame_numbers(clip.frames) == sample_indices(20, 4)


def test_a_header_without_a_frame_count_falls_back_to_counting(tmp_path, monkeypatch):
    write_video(tmp_path / "silent.avi", brightness_ramp(12))
    monkeypatch.setattr(video, "declared_frame_count", lambda path: 0)
    clip = read_clip(tmp_path / "silent.avi", 3, 16)
    assert frame_numbers(clip.frames) == [2, 6, 10] and not clip.partial


def test_max_frames_limits_a_long_clip_to_its_start(tmp_path):
    write_video(tmp_path / "long.avi", brightness_ramp(30))
    assert frame_numbers(read_clip(tmp_path / "long.avi", 2, 16, max_frames=10).frames) == [2, 7]


def test_a_truncated_file_keeps_the_frames_it_has(tmp_path):
    path = tmp_path / "cut.avi"
    write_video(path, np.random.default_rng(0).integers(0, 256, (40, 32, 32, 3), dtype=np.uint8))
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    clip = read_clip(path, 4, 16)
    assert clip.frames.shape == (4, 16, 16, 3)
    assert clip.partial and 0 < clip.source_frames < 40


@pytest.mark.parametrize(
    "name, content",
    [("empty.avi", b""), ("noise.avi", bytes(range(256)) * 64), ("notes.mp4", b"just some text\n" * 50)],
)
def test_files_that_are_not_videos_are_clip_errors_naming_the_file(tmp_path, name, content):
    (tmp_path / name).write_bytes(content)
    with pytest.raises(ClipError, match=name):
        read_clip(tmp_path / name, 4, 16)


def test_an_image_named_avi_is_at_most_a_one_frame_clip(tmp_path):
    """OpenCV's image backend may open a still image as a one-frame video: then it is flagged padded."""
    path = tmp_path / "photo.avi"
    cv2.imwrite(str(tmp_path / "photo.png"), np.zeros((8, 8, 3), np.uint8))
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

"""serving.windows: how long clips are cut into windows and how a stream's rolling window is sampled."""

import numpy as np
import pytest

from harflow.video import sample_indices
from harflow.serving.windows import RollingWindow, frames_for, window_bounds, window_indices


def test_windows_cover_the_clip_back_to_back():
    assert window_bounds(12, 4) == [(0, 4), (4, 8), (8, 12)]


def test_a_short_remainder_joins_the_last_window():
    assert window_bounds(9, 4) == [(0, 4), (4, 9)]


def test_a_remainder_of_half_a_window_or_more_is_its_own_window():
    assert window_bounds(10, 4) == [(0, 4), (4, 8), (8, 10)]


def test_a_clip_shorter_than_a_window_is_one_window():
    assert window_bounds(3, 50) == [(0, 3)]


def test_each_window_is_sampled_as_read_clip_samples_a_whole_clip():
    bounds = [(0, 32), (32, 64)]
    assert window_indices(bounds, 4) == [sample_indices(32, 4), [32 + i for i in sample_indices(32, 4)]]


def test_seconds_become_frames_at_the_clips_rate():
    assert frames_for(2.0, 25.0) == 50 and frames_for(0.01, 25.0) == 1


def frame(value: int) -> np.ndarray:
    return np.full((2, 2, 3), value, np.uint8)


def test_the_rolling_window_predicts_on_the_first_frame_and_then_every_step():
    rolling = RollingWindow(window=6, num_frames=3, step=4)
    ready = [rolling.push(frame(i)) is not None for i in range(10)]
    assert ready == [True, False, False, False, True, False, False, False, True, False]


def test_the_rolling_window_samples_only_the_last_window_of_frames():
    rolling = RollingWindow(window=6, num_frames=3, step=1)
    for i in range(20):
        sampled = rolling.push(frame(i))
    # frames 14..19 are the last six; sample_indices(6, 3) == [1, 3, 5]
    assert [int(f[0, 0, 0]) for f in sampled] == [15, 17, 19]


def test_before_a_full_window_the_frames_so_far_are_stretched():
    rolling = RollingWindow(window=6, num_frames=4, step=1)
    rolling.push(frame(7))
    sampled = rolling.push(frame(8))
    assert sampled.shape == (4, 2, 2, 3) and [int(f[0, 0, 0]) for f in sampled] == [7, 7, 8, 8]


def test_a_rolling_window_needs_positive_sizes():
    with pytest.raises(ValueError, match="window, num_frames and step must be >= 1"):
        RollingWindow(window=0, num_frames=3, step=1)

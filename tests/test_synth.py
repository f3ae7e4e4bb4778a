"""The synthetic dataset: UCF101's layout, determinism, and classes that only order reveals."""

import numpy as np
import pytest

from components.datasets import EVAL, read_ucf101
from harflow.synth import CLASSES, SynthConfig, generate, render_clip
from harflow.video import read_clip

SMALL = SynthConfig(clips_per_class_train=3, clips_per_class_test=1, frames=12, size=48)


def centroid(frame: np.ndarray, background: np.ndarray) -> np.ndarray:
    """(x, y) of the pixels that differ from the first frame's background estimate."""
    ys, xs = np.nonzero(np.abs(frame.astype(int) - background.astype(int)).sum(axis=2) > 90)
    return np.array([xs.mean(), ys.mean()])


def horizontal_motion(clip: np.ndarray) -> tuple[float, float]:
    """(mean x of the shape over all frames, x displacement first -> last frame)."""
    background = np.median(clip, axis=0)  # the moving shape is gone from the per-pixel median
    xs = [centroid(frame, background)[0] for frame in clip]
    return float(np.mean(xs)), xs[-1] - xs[0]


def test_layout_is_ucf101s(tmp_path):
    generate(tmp_path / "d", SMALL)
    root = tmp_path / "d"
    assert (root / "classInd.txt").read_bytes().startswith(b"1 MoveLeft\r\n2 MoveRight\r\n")
    first_train = (root / "trainlist01.txt").read_bytes().split(b"\r\n")[0]
    assert first_train == b"MoveLeft/v_MoveLeft_g08_c01.avi 1"
    assert (root / "MoveLeft" / "v_MoveLeft_g01_c01.avi").is_file()
    index = read_ucf101(root)
    assert index.class_names == CLASSES
    assert index.count(EVAL) == len(CLASSES) * SMALL.clips_per_class_test
    eval_groups = {c.group for c in index.clips if c.split == EVAL}
    assert not eval_groups & {c.group for c in index.clips if c.split != EVAL}


def test_same_seed_same_clips_other_seed_other_clips():
    def clip(seed: int) -> np.ndarray:
        return render_clip("Grow", np.random.default_rng(seed), SMALL)

    assert np.array_equal(clip(3), clip(3))
    assert not np.array_equal(clip(3), clip(4))


def test_generating_again_keeps_the_dataset(tmp_path):
    generate(tmp_path / "d", SMALL)
    stamp = (tmp_path / "d" / "classInd.txt").stat().st_mtime_ns
    generate(tmp_path / "d", SMALL)
    assert (tmp_path / "d" / "classInd.txt").stat().st_mtime_ns == stamp


def test_a_folder_with_other_files_is_refused(tmp_path):
    (tmp_path / "mine.txt").write_text("keep me")
    with pytest.raises(FileExistsError, match="not a harflow synthetic dataset"):
        generate(tmp_path, SMALL)
    assert (tmp_path / "mine.txt").read_text() == "keep me"


def test_single_frames_cannot_tell_left_from_right_but_order_can():
    cfg = SynthConfig(frames=16, size=64)
    left = [horizontal_motion(render_clip("MoveLeft", np.random.default_rng(i), cfg)) for i in range(20)]
    right = [horizontal_motion(render_clip("MoveRight", np.random.default_rng(100 + i), cfg)) for i in range(20)]
    # where the shape is, frame by frame, is spread alike in both classes ...
    assert abs(np.mean([m for m, _ in left]) - np.mean([m for m, _ in right])) < 0.1 * cfg.size
    # ... while the direction of travel separates them, every time
    assert all(d < -0.1 * cfg.size for _, d in left) and all(d > 0.1 * cfg.size for _, d in right)


def test_a_reversed_left_clip_moves_right():
    clip = render_clip("MoveLeft", np.random.default_rng(7), SynthConfig(frames=16, size=64))
    assert horizontal_motion(clip[::-1])[1] > 0


def test_motion_survives_sampling_to_eight_small_frames(tmp_path):
    generate(tmp_path / "d", SynthConfig(clips_per_class_train=1, clips_per_class_test=1, frames=32, size=96))
    clip = read_clip(tmp_path / "d" / "MoveRight" / "v_MoveRight_g01_c01.avi", 8, 64)
    assert horizontal_motion(clip.frames)[1] > 0.2 * 64

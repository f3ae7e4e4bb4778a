"""The synthetic dataset: UCF101's layout, determinism, and classes that only the order of frames reveals."""

import re

import numpy as np
import pytest

from harflow.datasets.records import EVAL
from harflow.datasets.ucf101 import read_ucf101
from harflow.datasets.synth import CLASSES, SynthConfig, clip_motion, generate, render_clip, reversal_symmetric
from harflow.video import read_clip, segment_indices

SMALL = SynthConfig(clips_per_class_train=3, clips_per_class_test=2, frames=12, size=48)
CLIP_PATH = re.compile(r"^(\w+)/v_\1_g(\d\d)_c(\d\d)\.avi$")
TWINS = [
    ("MoveLeft", "MoveRight"),
    ("MoveUp", "MoveDown"),
    ("RotateClockwise", "RotateAnticlockwise"),
    ("Grow", "Shrink"),
]


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """A SMALL dataset, written once for the layout tests (do not modify it)."""
    root = tmp_path_factory.mktemp("synth") / "small"
    generate(root, SMALL)
    return root


def lines(path) -> list[str]:
    """The lines of a UCF101 list file, asserting every line ends with CRLF."""
    data = path.read_bytes()
    assert data.endswith(b"\r\n") and data.count(b"\n") == data.count(b"\r\n")
    return data.decode("ascii").split("\r\n")[:-1]


def group(clip_path: str) -> int:
    return int(CLIP_PATH.match(clip_path).group(2))


def centroid(frame: np.ndarray, background: np.ndarray) -> np.ndarray:
    """(x, y) of the pixels of frame [H, W, 3] that differ strongly from background [H, W, 3]."""
    ys, xs = np.nonzero(np.abs(frame.astype(int) - background.astype(int)).sum(axis=2) > 90)
    return np.array([xs.mean(), ys.mean()])


def shape_track(clip: np.ndarray) -> np.ndarray:
    """[T, 2] centroid of the moving shape in every frame of clip [T, H, W, 3] (Move classes)."""
    background = np.median(clip, axis=0)  # the moving shape is (mostly) gone from the per-pixel median
    # where the shape covers a pixel in over half the frames, the median keeps it: tracks fall a little short
    return np.stack([centroid(frame, background) for frame in clip])


# --------------------------------------------------------------------------- layout


def test_class_index_is_1_based_with_crlf(small):
    assert lines(small / "classInd.txt") == [f"{i} {name}" for i, name in enumerate(CLASSES, 1)]


def test_train_list_names_clips_ucf101_style_with_1_based_labels(small):
    train = lines(small / "trainlist01.txt")
    assert len(train) == len(CLASSES) * SMALL.clips_per_class_train
    assert train[0] == "MoveLeft/v_MoveLeft_g08_c01.avi 1"
    for line in train:
        path, label = line.split(" ")
        assert CLIP_PATH.match(path) and CLASSES[int(label) - 1] == path.split("/")[0]


def test_test_list_names_clips_without_labels(small):
    test = lines(small / "testlist01.txt")
    assert len(test) == len(CLASSES) * SMALL.clips_per_class_test
    assert test[0] == "MoveLeft/v_MoveLeft_g01_c01.avi"
    assert all(CLIP_PATH.match(path) for path in test)


def test_train_groups_and_test_groups_are_disjoint(small):
    train_groups = {group(line.split(" ")[0]) for line in lines(small / "trainlist01.txt")}
    test_groups = {group(path) for path in lines(small / "testlist01.txt")}
    assert train_groups <= set(range(8, 26)) and test_groups <= set(range(1, 8))


def test_the_lists_name_exactly_the_clips_on_disk(small):
    listed = {line.split(" ")[0] for line in lines(small / "trainlist01.txt")} | set(lines(small / "testlist01.txt"))
    on_disk = {p.relative_to(small).as_posix() for p in small.glob("*/*.avi")}
    assert listed == on_disk and len(on_disk) == len(CLASSES) * 5


def test_the_ucf101_reader_reads_it(small):
    index = read_ucf101(small)
    assert index.class_names == CLASSES
    assert index.count(EVAL) == len(CLASSES) * SMALL.clips_per_class_test


def test_clips_have_the_configured_frames_and_size(small):
    clip = read_clip(small / "Grow" / "v_Grow_g01_c01.avi", SMALL.frames, SMALL.size)
    assert clip.source_frames == SMALL.frames and clip.frames.shape == (12, 48, 48, 3)


def test_generate_summarises_what_it_wrote(tmp_path):
    summary = generate(tmp_path / "d", SMALL)
    assert summary["classes"] == list(CLASSES) and summary["path"] == str(tmp_path / "d")
    assert (summary["train_clips"], summary["test_clips"]) == (24, 16)


# --------------------------------------------------------------------------- the output folder


def test_generating_again_keeps_the_dataset(tmp_path):
    generate(tmp_path / "d", SMALL)
    stamp = (tmp_path / "d" / "classInd.txt").stat().st_mtime_ns
    generate(tmp_path / "d", SMALL)
    assert (tmp_path / "d" / "classInd.txt").stat().st_mtime_ns == stamp


def test_another_config_replaces_an_earlier_synthetic_dataset(tmp_path):
    generate(tmp_path / "d", SMALL)
    generate(tmp_path / "d", SynthConfig(clips_per_class_train=1, clips_per_class_test=1, frames=12, size=48))
    assert len(lines(tmp_path / "d" / "trainlist01.txt")) == len(CLASSES)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d"]


def test_a_folder_with_other_files_is_refused(tmp_path):
    (tmp_path / "mine.txt").write_text("keep me")
    with pytest.raises(FileExistsError, match="not a harflow synthetic dataset"):
        generate(tmp_path, SMALL)
    assert (tmp_path / "mine.txt").read_text() == "keep me"


def test_an_interrupted_run_leaves_nothing(tmp_path):
    def interrupt(done: int, total: int) -> None:
        if done == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        generate(tmp_path / "d", SMALL, progress=interrupt)
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------- determinism


def test_same_seed_same_clip_other_seed_other_clip():
    def clip(seed: int) -> np.ndarray:
        return render_clip("Grow", np.random.default_rng(seed), SMALL)

    assert np.array_equal(clip(3), clip(3))
    assert not np.array_equal(clip(3), clip(4))


def test_same_config_writes_byte_identical_videos(tmp_path):
    tiny = SynthConfig(clips_per_class_train=1, clips_per_class_test=1, frames=6, size=32, seed=5)
    generate(tmp_path / "a", tiny)
    generate(tmp_path / "b", tiny)
    generate(tmp_path / "c", SynthConfig(clips_per_class_train=1, clips_per_class_test=1, frames=6, size=32, seed=6))
    clip = "MoveUp/v_MoveUp_g08_c01.avi"
    assert (tmp_path / "a" / clip).read_bytes() == (tmp_path / "b" / clip).read_bytes()
    assert (tmp_path / "a" / clip).read_bytes() != (tmp_path / "c" / clip).read_bytes()


# --------------------------------------------------------------------------- motion


@pytest.mark.parametrize("class_name", CLASSES)
def test_the_shape_stays_inside_the_frame(class_name):
    cfg = SynthConfig(frames=8, size=48)
    for seed in range(50):
        motion = clip_motion(class_name, np.random.default_rng(seed), cfg)
        assert (motion.centre - motion.radius[:, None] >= 0).all()
        assert (motion.centre + motion.radius[:, None] <= cfg.size).all()


@pytest.mark.parametrize(
    "class_name, axis, sign", [("MoveLeft", 0, -1), ("MoveRight", 0, 1), ("MoveUp", 1, -1), ("MoveDown", 1, 1)]
)
def test_moves_cross_over_a_third_of_the_frame(class_name, axis, sign):
    for seed in range(50):
        centre = clip_motion(class_name, np.random.default_rng(seed), SynthConfig()).centre
        assert sign * (centre[-1, axis] - centre[0, axis]) >= 0.35 * SynthConfig().size
        assert np.ptp(centre[:, 1 - axis]) == 0


@pytest.mark.parametrize("class_name, sign", [("RotateClockwise", 1), ("RotateAnticlockwise", -1)])
def test_rotations_turn_at_least_120_degrees(class_name, sign):
    for seed in range(50):
        angle = clip_motion(class_name, np.random.default_rng(seed), SynthConfig()).angle
        assert sign * (angle[-1] - angle[0]) >= 120


@pytest.mark.parametrize("class_name, sign", [("Grow", 1), ("Shrink", -1)])
def test_sizes_change_at_least_1_8_times(class_name, sign):
    for seed in range(50):
        radius = clip_motion(class_name, np.random.default_rng(seed), SynthConfig()).radius
        assert (radius[-1] / radius[0]) ** sign >= 1.8


@pytest.mark.parametrize("first, second", TWINS)
def test_twin_classes_place_size_and_turn_single_frames_alike(first, second):
    """Pooled over many clips, the per-frame position, size and angle of twins are spread alike."""

    def pooled(class_name: str, seeds: range) -> np.ndarray:
        motions = [clip_motion(class_name, np.random.default_rng(seed), SynthConfig()) for seed in seeds]
        return np.concatenate([np.column_stack([m.centre, m.radius, m.angle % 360]) for m in motions])

    a, b = pooled(first, range(300)), pooled(second, range(1000, 1300))  # [clips * T, 4]: x, y, radius, angle
    for column, tolerance in zip(range(4), (4.0, 4.0, 1.0, 20.0)):
        assert abs(a[:, column].mean() - b[:, column].mean()) < tolerance
        assert abs(a[:, column].std() - b[:, column].std()) < tolerance


def test_ingestion_samples_a_default_clip_and_its_reversal_at_mirrored_frames():
    """Why the default has 33 frames: with 32, 8 samples hit frames 2, 6, ... 30, whose mirror is 1, 5, ... 29."""
    frames = SynthConfig().frames
    for num_frames in (4, 8, 16):
        for clips in (1, 3):
            assert reversal_symmetric(frames, num_frames, clips)
    assert not reversal_symmetric(32, 8)


@pytest.mark.parametrize("first, second", TWINS)
def test_twins_show_an_order_blind_model_the_same_set_of_frames(first, second):
    """The SET of (position, size, angle) in the frames ingestion samples cannot tell twins apart: it is identical.

    Drawn from the same random state, a class's motion is its twin's run backwards (a rotation also
    starts where its twin ends), so after sampling, the sorted frame states of the two clips are equal:
    nothing but the order differs. Checked for one whole-clip sample and for 3 clips per video.
    """
    cfg = SynthConfig()
    samplings = [segment_indices(cfg.frames, 8, 1)[0], [i for s in segment_indices(cfg.frames, 8, 3) for i in s]]
    for seed in range(20):
        a = clip_motion(first, np.random.default_rng(seed), cfg)
        b = clip_motion(second, np.random.default_rng(seed), cfg)
        b_angle = b.angle - (b.angle[-1] - b.angle[0]) if first.startswith("Rotate") else b.angle
        states_a = np.column_stack([a.centre, a.radius, a.angle])  # [T, 4]
        states_b = np.column_stack([b.centre, b.radius, b_angle])
        for indices in samplings:
            assert np.allclose(np.sort(states_a[indices], axis=0), np.sort(states_b[indices], axis=0))
            assert not np.allclose(states_a[indices], states_b[indices])  # the order does differ


# --------------------------------------------------------------------------- pixels


def test_single_frames_cannot_tell_left_from_right_but_order_can():
    cfg = SynthConfig(frames=16, size=64)
    left = [shape_track(render_clip("MoveLeft", np.random.default_rng(i), cfg))[:, 0] for i in range(20)]
    right = [shape_track(render_clip("MoveRight", np.random.default_rng(100 + i), cfg))[:, 0] for i in range(20)]
    # where the shape is, frame by frame, is spread alike in both classes ...
    assert abs(np.mean(left) - np.mean(right)) < 0.1 * cfg.size
    # ... while the direction of travel separates them, every time
    assert all(x[-1] - x[0] < -0.15 * cfg.size for x in left)
    assert all(x[-1] - x[0] > 0.15 * cfg.size for x in right)


def test_a_reversed_left_clip_moves_right():
    clip = render_clip("MoveLeft", np.random.default_rng(7), SynthConfig(frames=16, size=64))
    x = shape_track(clip[::-1])[:, 0]
    assert x[-1] - x[0] > 0.15 * 64


@pytest.fixture(scope="module")
def default_sized(tmp_path_factory):
    """One test clip per class at the default frames and size."""
    root = tmp_path_factory.mktemp("synth") / "default"
    generate(root, SynthConfig(clips_per_class_train=1, clips_per_class_test=1))
    return root


@pytest.mark.parametrize("class_name, axis, sign", [("MoveRight", 0, 1), ("MoveUp", 1, -1)])
def test_motion_survives_sampling_to_eight_small_frames(default_sized, class_name, axis, sign):
    clip = read_clip(default_sized / class_name / f"v_{class_name}_g01_c01.avi", 8, 64)
    track = shape_track(clip.frames)[:, axis]
    assert sign * (track[-1] - track[0]) > 0.15 * 64
    assert (sign * np.diff(track) > 0).all()


@pytest.mark.parametrize("class_name", CLASSES)
def test_every_sampled_small_frame_differs_from_the_next(default_sized, class_name):
    frames = read_clip(default_sized / class_name / f"v_{class_name}_g01_c01.avi", 8, 64).frames.astype(int)
    changed = np.abs(np.diff(frames, axis=0)).sum(axis=3) > 90  # [7, 64, 64]
    assert (changed.sum(axis=(1, 2)) >= 4).all()
    assert (np.abs(frames[-1] - frames[0]).sum(axis=2) > 90).sum() >= 40  # first and last differ clearly

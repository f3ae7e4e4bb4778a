"""The leakage audit (harflow/leakage.py) on generated videos written to disk and read back as ingestion reads them.

Cuts of one generated long video share its textured background; independent videos
(here: other long videos, and the synthetic dataset) do not. A random split of a
UCF101-named set of such cuts puts siblings on both sides; its group split does not.
"""

import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from harflow import leakage
from harflow.datasets import synth
from harflow.datasets.detect import read_dataset
from harflow.datasets.records import EVAL, TRAIN, DatasetIndex, record
from harflow.video import write_video

CLASSES = ("Jump", "Wave")
GROUPS, CUTS, CUT_FRAMES, SIZE = 6, 3, 20, 48


def long_video(seed: int, frames: int) -> np.ndarray:
    """[frames, SIZE, SIZE, 3] uint8: a smooth random background, a disc moving over it, pixel noise."""
    rng = np.random.default_rng(seed)
    background = cv2.resize(rng.random((10, 10, 3)).astype(np.float32), (SIZE, SIZE), interpolation=cv2.INTER_CUBIC) * 255
    video = []
    for t in range(frames):
        frame = background.copy()
        centre = (int(8 + (SIZE - 16) * (0.5 + 0.5 * np.sin(t / 9))), int(SIZE / 2 + 10 * np.cos(t / 13)))
        cv2.circle(frame, centre, 6, (255, 40, 40), -1)
        video.append(np.clip(frame + rng.normal(0, 5, frame.shape), 0, 255).astype(np.uint8))
    return np.stack(video)


def cut_dataset(root: Path) -> None:
    """CLASSES x GROUPS long videos, each cut into CUTS clips named v_<Class>_gNN_cNN.avi (a folder per class)."""
    for label, name in enumerate(CLASSES):
        for group in range(1, GROUPS + 1):
            video = long_video(100 * label + group, CUTS * CUT_FRAMES)
            for cut in range(CUTS):
                write_video(root / name / f"v_{name}_g{group:02d}_c{cut + 1:02d}.avi", video[cut * CUT_FRAMES : (cut + 1) * CUT_FRAMES])


@pytest.fixture(scope="module")
def cuts(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("cuts")
    cut_dataset(root)
    return root


def audit(index: DatasetIndex) -> dict:
    return leakage.audit_index(index, num_frames=8, image_size=32, threshold=8.0)


def test_cuts_of_one_long_video_on_both_sides_are_found(cuts):
    class_names = CLASSES
    clips = []  # group 1 of each class: cut 1 in eval, cuts 2-3 in train; group 2: all in train
    for label, name in enumerate(CLASSES):
        for group, cut, split in ((1, 1, EVAL), (1, 2, TRAIN), (1, 3, TRAIN), (2, 1, TRAIN), (2, 2, TRAIN)):
            clip_id = f"{name}/v_{name}_g{group:02d}_c{cut:02d}.avi"
            clips.append(record(cuts, clip_id, label, class_names, f"g{group:02d}", split))
    report = audit(DatasetIndex(class_names, tuple(clips)))

    assert report["eval_with_train_twin"] == 2 and report["eval_fraction_with_train_twin"] == 1.0
    named = {(p["a"], p["b"]) for p in report["top_pairs"]}
    for name in CLASSES:
        assert (f"{name}/v_{name}_g01_c01.avi", f"{name}/v_{name}_g01_c02.avi") in named
        assert not any(f"g02" in b for a, b in named if name in a)  # another long video is no twin
    assert report["per_class"] == {name: {"eval": 1, "with_train_twin": 1} for name in CLASSES}
    assert "2 of 2 eval videos (100.0%) have a near-duplicate in train" in leakage.to_markdown(report)


def test_independent_synthetic_videos_have_no_twins(tmp_path):
    """The false-positive rate on the synthetic set: independent clips, none may be a twin (measured: 0 of 16)."""
    root = tmp_path / "synth"
    synth.generate(root, synth.SynthConfig(clips_per_class_train=4, clips_per_class_test=2, frames=17, size=48))
    report = audit(read_dataset("auto", root))

    assert report["videos"][EVAL] == 16 and report["videos"]["train"] + report["videos"]["val"] == 32
    assert report["eval_with_train_twin"] == 0, report["top_pairs"]
    assert report["cross_split_pairs"] == {"eval-train": 0, "val-train": 0, "eval-val": 0}


def test_a_random_split_leaks_more_than_the_group_split(cuts):
    grouped = audit(read_dataset("folder", cuts, seed=1))
    shuffled = audit(read_dataset("folder", cuts, random_split=True, seed=1))

    assert grouped["split_source"].startswith("folder: group hash split, seed 1")
    assert shuffled["split_source"].startswith("folder: random split, seed 1")
    assert grouped["cross_split_pairs"]["eval-train"] == 0 and grouped["eval_with_train_twin"] == 0
    assert shuffled["cross_split_pairs"]["eval-train"] > 0 and shuffled["eval_fraction_with_train_twin"] > 0.5


def test_signatures_are_compact_and_bad_input_is_a_value_error():
    frames = long_video(1, 8)
    text = leakage.signature(frames)
    assert len(text.split(",")) == 5 and all(len(part) == 16 for part in text.split(","))
    assert leakage.distances([text], [text])[0, 0] == 0
    with pytest.raises(ValueError, match="shape"):
        leakage.signature(frames[0])
    with pytest.raises(ValueError, match="threshold"):
        leakage.audit([], 64)


def test_data_audit_prints_the_table_writes_json_and_fails_on_leak(cuts, tmp_path):
    out = tmp_path / "audit.json"
    command = [sys.executable, "-m", "harflow", "data", "audit", str(cuts), "--dataset", "folder", "--random-split",
               "--json", str(out), "--size", "32", "--fail-on-leak", "0.2"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)

    assert result.returncode == 1, result.stderr
    assert "split source: folder: random split, seed 0" in result.stdout and "## Leakage audit" in result.stdout
    assert "more than 0.2 of the eval videos" in result.stderr
    report = json.loads(out.read_text())
    assert report["eval_fraction_with_train_twin"] > 0.2 and report["threshold_bits"] == 8.0
    grouped = subprocess.run([c for c in command if c != "--random-split"], capture_output=True, text=True, timeout=300)
    assert grouped.returncode == 0, grouped.stderr

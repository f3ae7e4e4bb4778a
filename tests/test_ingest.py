"""VideoExampleGen's executor on real files: broken files are rejected with a reason, the rest is written,
counts land on the artifact, statistics are written, and a split without some class fails the run.

Real Beam (DirectRunner, in memory), real TFRecords; clips are tiny generated MJPG/mp4v videos.
"""

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import tensorflow as tf
from tfx.dsl.components.base import base_beam_executor
from tfx.types import standard_artifacts

from harflow.datasets.records import DatasetError
from harflow.datasets.folder import read_folder
from harflow.components.video_example_gen import executor, statistics
from harflow import features
from harflow.config import IngestConfig
from harflow.video import write_video

GROUPS = 5  # per class: groups g01..g05, two clips each


def frames(count: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 255, (count, 24, 32, 3), dtype=np.uint8)


def good_dataset(root: Path, frame_count: int = 12) -> list[str]:
    """A folder-per-class dataset of readable clips (avi and mp4); returns their clip ids."""
    ids = []
    for label, cls in enumerate(("jump", "wave")):
        for g in range(1, GROUPS + 1):
            for c, suffix in ((1, "avi"), (2, "mp4")):
                clip_id = f"{cls}/v_{cls}_g{g:02d}_c{c:02d}.{suffix}"
                write_video(root / clip_id, frames(frame_count, seed=label * 100 + g * 10 + c))
                ids.append(clip_id)
    return ids


def add_broken_files(root: Path) -> dict[str, str]:
    """One of each kind of bad file, named like the good ones; returns {clip id: words its reason must contain}."""
    good = (root / "jump" / "v_jump_g01_c01.avi").read_bytes()
    image = cv2.imencode(".png", frames(1, 7)[0])[1].tobytes()
    bad = {
        "jump/v_jump_g02_c03.avi": (b"", "empty"),
        "jump/v_jump_g03_c03.avi": (good[:300], "cannot be opened"),  # truncated inside its header
        "wave/v_wave_g01_c03.avi": (np.random.default_rng(1).bytes(4000), "cannot be opened"),
        "wave/v_wave_g02_c03.mp4": (b"this is a text file, not a video\n" * 30, "cannot be opened"),
        "wave/v_wave_g03_c03.avi": (image, "still PNG image"),
    }
    for clip_id, (data, _) in bad.items():
        (root / clip_id).write_bytes(data)
    return {clip_id: reason for clip_id, (_, reason) in bad.items()}


def run_executor(root: Path, out: Path, **config) -> standard_artifacts.Examples:
    examples = standard_artifacts.Examples()
    examples.uri = str(out)
    ingest = IngestConfig(dataset_root=str(root), dataset="folder", num_frames=4, image_size=16, **config)
    context = base_beam_executor.BaseBeamExecutor.Context(beam_pipeline_args=["--direct_running_mode=in_memory"])
    properties = {"ingest_config": json.dumps(ingest.__dict__), "dataset_fingerprint": ""}
    executor.Executor(context).Do({}, {"examples": [examples]}, properties)
    return examples


def written(out: Path) -> dict[str, tf.train.Example]:
    """{clip id: example} over every split."""
    files = [str(p) for p in out.glob("Split-*/*.gz")]
    found = {}
    for record in tf.data.TFRecordDataset(files, compression_type="GZIP"):
        example = tf.train.Example.FromString(record.numpy())
        found[example.features.feature[features.CLIP_ID].bytes_list.value[0].decode()] = example
    return found


def test_broken_files_are_rejected_with_reasons_and_every_good_clip_is_written(tmp_path):
    good = good_dataset(tmp_path / "data")
    bad = add_broken_files(tmp_path / "data")

    examples = run_executor(tmp_path / "data", tmp_path / "out")

    assert set(written(tmp_path / "out")) == set(good)
    rejects = [json.loads(line) for line in (tmp_path / "out" / features.REJECTS_FILE).read_text().splitlines()]
    assert {r["clip_id"] for r in rejects} == set(bad)
    for reject in rejects:
        assert bad[reject["clip_id"]] in reject["reason"], reject
    total_written = sum(examples.get_int_custom_property(f"written_{s}") for s in ("train", "val", "eval"))
    total_rejected = sum(examples.get_int_custom_property(f"rejected_{s}") for s in ("train", "val", "eval"))
    assert (total_written, total_rejected) == (len(good), len(bad))


def test_a_truncated_clip_keeps_the_frames_it_has_and_says_so(tmp_path):
    good_dataset(tmp_path / "data", frame_count=20)
    clip = tmp_path / "data" / "wave" / "v_wave_g04_c01.avi"
    data = clip.read_bytes()
    clip.write_bytes(data[: len(data) * 6 // 10])  # the AVI header still declares 20 frames

    examples = run_executor(tmp_path / "data", tmp_path / "out")

    feature = written(tmp_path / "out")["wave/v_wave_g04_c01.avi"].features.feature
    assert feature[features.PARTIAL].int64_list.value == [1]
    assert 1 <= feature[features.SOURCE_FRAMES].int64_list.value[0] < 20
    assert len(feature[features.FRAMES].bytes_list.value) == 4
    assert sum(examples.get_int_custom_property(f"partial_{s}") for s in ("train", "val", "eval")) == 1


def test_short_clips_repeat_frames_and_are_flagged_padded(tmp_path):
    good_dataset(tmp_path / "data", frame_count=2)
    run_executor(tmp_path / "data", tmp_path / "out")
    for example in written(tmp_path / "out").values():
        feature = example.features.feature
        assert feature[features.PADDED].int64_list.value == [1]
        assert len(feature[features.FRAMES].bytes_list.value) == 4


def test_gray_frames_have_equal_channels(tmp_path):
    good_dataset(tmp_path / "data")
    run_executor(tmp_path / "data", tmp_path / "out", color="gray", jpeg_quality=100)
    example = next(iter(written(tmp_path / "out").values()))
    frame = tf.io.decode_jpeg(example.features.feature[features.FRAMES].bytes_list.value[0]).numpy().astype(int)
    assert frame.shape == (16, 16, 3)
    assert np.abs(frame[..., 0] - frame[..., 1]).max() <= 2 and np.abs(frame[..., 1] - frame[..., 2]).max() <= 2


def test_statistics_count_clips_per_class_and_split(tmp_path):
    good = good_dataset(tmp_path / "data")
    run_executor(tmp_path / "data", tmp_path / "out")

    summary = json.loads((tmp_path / "out" / statistics.STATISTICS_JSON).read_text())
    per_split = summary["splits"]
    assert sum(part["written"] for part in per_split.values()) == len(good)
    for part in per_split.values():
        assert sum(part["per_class"].values()) == part["written"]
        if part["written"]:
            assert part["source_frames"]["min"] == part["source_frames"]["max"] == 12
    markdown = (tmp_path / "out" / statistics.STATISTICS_MD).read_text()
    assert "| jump |" in markdown and "Every split with clips has every class." in markdown
    assert summary["split_source"].startswith("folder: group hash split, seed 0")
    assert f"Split source: {summary['split_source']}." in markdown
    assert summary["leakage"]["eval_with_train_twin"] == 0  # every clip is independent noise
    assert "## Leakage audit" in markdown


def test_a_test_video_copied_into_train_is_named_and_can_fail_the_run(tmp_path):
    good_dataset(tmp_path / "data")
    index = read_folder(tmp_path / "data")
    eval_clip = next(c for c in index.clips if c.split == "eval" and c.clip_id.endswith(".avi"))
    train_clip = next(c for c in index.clips if c.split == "train" and c.clip_id.endswith(".avi"))
    Path(train_clip.path).write_bytes(Path(eval_clip.path).read_bytes())

    with pytest.raises(DatasetError, match=r"1 of \d+ eval videos .* near-duplicate in train.*--fail-on-leak 0.0"):
        run_executor(tmp_path / "data", tmp_path / "out", fail_on_leak=0.0)
    summary = json.loads((tmp_path / "out" / statistics.STATISTICS_JSON).read_text())
    assert summary["leakage"]["top_pairs"][0]["a"] == eval_clip.clip_id
    assert summary["leakage"]["top_pairs"][0]["b"] == train_clip.clip_id and summary["leakage"]["top_pairs"][0]["distance"] == 0


def test_a_split_that_lacks_a_class_fails_the_run_naming_it(tmp_path):
    good_dataset(tmp_path / "data")
    index = read_folder(tmp_path / "data")  # the split the executor will make
    wave_eval = [c.clip_id for c in index.clips if c.split == "eval" and c.label_name == "wave"]
    assert wave_eval
    for clip_id in wave_eval:  # every wave clip of eval unreadable: eval ends up without wave
        (tmp_path / "data" / clip_id).write_bytes(b"")

    with pytest.raises(DatasetError, match=r"split eval has no clips of 1 class\(es\) \(wave\)"):
        run_executor(tmp_path / "data", tmp_path / "out")
    assert "Missing: split `eval` has no clips of wave." in (tmp_path / "out" / statistics.STATISTICS_MD).read_text()


def test_missing_classes_can_be_allowed(tmp_path):
    good_dataset(tmp_path / "data")
    for clip in read_folder(tmp_path / "data").clips:
        if clip.split == "eval" and clip.label_name == "wave":
            Path(clip.path).write_bytes(b"")
    examples = run_executor(tmp_path / "data", tmp_path / "out", require_all_classes=False)
    assert json.loads(examples.get_string_custom_property("missing_classes")) == {"eval": ["wave"]}


def test_examples_written_without_tensorflow_parse_as_tf_examples():
    values = {
        features.FRAMES: [b"\xff\xd8jpeg-one", b"", b"x" * 300],
        features.LABEL: [7],
        features.SOURCE_FRAMES: [2**40],
        "negative": [-3, 0, 1],
        features.CLIP_ID: ["Walk/v_Wälk_g01_c01.avi".encode()],
    }
    parsed = tf.train.Example.FromString(features.serialize_example(values)).features.feature
    assert set(parsed) == set(values)
    for name, items in values.items():
        kind = parsed[name].WhichOneof("kind")
        assert list(getattr(parsed[name], kind).value) == items, name


def test_the_beam_workers_code_loads_neither_tensorflow_nor_tfx():
    """Each worker process imports the module EncodeClip lives in: TFX/TF there would cost seconds per worker."""
    import subprocess
    import sys

    probe = "import sys, components.video_example_gen.beam_job; print(sorted({'tensorflow', 'tfx'} & set(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"

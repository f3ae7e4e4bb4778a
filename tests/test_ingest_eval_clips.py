"""The evaluation protocol's ingestion: several clips per test video, each from its own segment.

Real Beam (DirectRunner, in memory), real TFRecords; the videos are tiny MJPG
files whose frame i is a solid grey of level 20*i, so a decoded frame tells
which source frame it was sampled from.
"""

from pathlib import Path

import apache_beam as beam
import numpy as np
import pytest
import tensorflow as tf

from harflow.datasets.records import EVAL, TRAIN, ClipRecord
from harflow.components.video_example_gen.beam_job import clip_example, write_examples
from harflow import features
from harflow.config import IngestConfig
from harflow.video import segment_indices, write_video

FRAMES = 12  # per video; with 3 clips, segments [0, 4), [4, 8), [8, 12)
LEVEL = 20  # grey level step per frame


def counting_video(path: Path) -> str:
    """A video whose frame i is solid grey LEVEL*i."""
    frames = np.stack([np.full((16, 16, 3), LEVEL * i, np.uint8) for i in range(FRAMES)])
    write_video(path, frames)
    return str(path)


def records(root: Path) -> list[ClipRecord]:
    return [
        ClipRecord(counting_video(root / f"{name}.avi"), f"walk/{name}.avi", 0, "walk", name, split)
        for name, split in (("v_walk_g01_c01", EVAL), ("v_walk_g02_c01", EVAL), ("v_walk_g08_c01", TRAIN))
    ]


def ingest(root: Path, out: Path, **config) -> dict[str, list[tf.train.Example]]:
    ingest_config = IngestConfig(dataset_root=str(root), num_frames=2, image_size=16, **config)
    write_examples(beam.Pipeline(), records(root), ingest_config, str(out))
    written = {}
    for split in ("train", "eval"):
        files = sorted(str(p) for p in (out / f"Split-{split}").glob("*.gz"))
        written[split] = [tf.train.Example.FromString(r.numpy()) for r in tf.data.TFRecordDataset(files, "GZIP")]
    return written


def sampled_frames(example: tf.train.Example) -> list[int]:
    """The source frame indices of an Example's frames, read back from their grey levels."""
    jpegs = example.features.feature[features.FRAMES].bytes_list.value
    return [round(float(tf.io.decode_jpeg(jpeg).numpy().mean()) / LEVEL) for jpeg in jpegs]


def feature(example: tf.train.Example, name: str):
    value = example.features.feature[name]
    return value.bytes_list.value[0].decode() if value.bytes_list.value else value.int64_list.value[0]


def test_segments_tile_the_video_and_are_sampled_like_a_whole_clip():
    assert segment_indices(FRAMES, 2, 3) == [[1, 3], [5, 7], [9, 11]]
    assert segment_indices(32, 8, 1) == [[2, 6, 10, 14, 18, 22, 26, 30]]  # one segment: sample_indices
    assert segment_indices(2, 3, 3)[0] == [0, 0, 0]  # fewer frames than segments: a shared frame, repeated


def test_each_test_video_becomes_n_clips_from_distinct_segments_with_one_video_id(tmp_path):
    written = ingest(tmp_path, tmp_path / "out", eval_clips_per_video=3)

    assert len(written["eval"]) == 2 * 3
    by_video: dict[str, dict[int, list[int]]] = {}
    for example in written["eval"]:
        by_video.setdefault(feature(example, features.VIDEO_ID), {})[feature(example, features.CLIP_INDEX)] = sampled_frames(example)
    assert set(by_video) == {"walk/v_walk_g01_c01.avi", "walk/v_walk_g02_c01.avi"}
    for clips in by_video.values():
        assert clips == {0: [1, 3], 1: [5, 7], 2: [9, 11]}


def test_train_videos_stay_one_clip_over_the_whole_video(tmp_path):
    written = ingest(tmp_path, tmp_path / "out", eval_clips_per_video=3)

    (example,) = written["train"]
    assert sampled_frames(example) == [3, 9]  # sample_indices(12, 2)
    assert features.VIDEO_ID not in example.features.feature and features.CLIP_INDEX not in example.features.feature


def test_train_segments_cut_each_train_video_into_n_clips_like_a_test_video(tmp_path):
    written = ingest(tmp_path, tmp_path / "out", eval_clips_per_video=3, train_segments=3)

    assert len(written["train"]) == 3
    clips = {feature(example, features.CLIP_INDEX): sampled_frames(example) for example in written["train"]}
    assert clips == {0: [1, 3], 1: [5, 7], 2: [9, 11]}  # the segments a test video's clips come from
    assert {feature(example, features.VIDEO_ID) for example in written["train"]} == {"walk/v_walk_g08_c01.avi"}


def test_train_segments_leave_the_test_videos_to_eval_clips(tmp_path):
    written = ingest(tmp_path, tmp_path / "out", train_segments=2)

    assert len(written["train"]) == 2 and len(written["eval"]) == 2  # eval_clips_per_video=1: one clip per test video
    assert all(features.VIDEO_ID not in example.features.feature for example in written["eval"])


def test_one_clip_per_video_writes_the_examples_as_before(tmp_path):
    written = ingest(tmp_path, tmp_path / "out")  # eval_clips_per_video=1, the default
    config = IngestConfig(dataset_root=str(tmp_path), num_frames=2, image_size=16)
    before = {clip_example(record, config)[0] for record in records(tmp_path) if record.split == EVAL}

    assert {example.SerializeToString(deterministic=True) for example in written["eval"]} == {
        tf.train.Example.FromString(data).SerializeToString(deterministic=True) for data in before
    }


def test_eval_clips_per_video_must_be_positive():
    with pytest.raises(ValueError, match="eval_clips_per_video"):
        IngestConfig(eval_clips_per_video=0)


def test_train_segments_must_be_positive():
    with pytest.raises(ValueError, match="train_segments"):
        IngestConfig(train_segments=0)


def test_the_comparison_reads_each_eval_clips_video_in_the_order_the_clips_are_scored(tmp_path):
    from harflow.components.model_comparison.executor import clip_videos
    from harflow.trainer.data import clip_dataset

    ingest(tmp_path, tmp_path / "out", eval_clips_per_video=3)
    files = [str(tmp_path / "out" / "Split-eval" / "*")]
    videos = clip_videos(files)
    clips = [frames.numpy() for batch, _ in clip_dataset(files, 2, 16, batch_size=4) for frames in batch]

    assert sorted(videos) == ["walk/v_walk_g01_c01.avi"] * 3 + ["walk/v_walk_g02_c01.avi"] * 3
    for video in set(videos):  # a video's three clips are its three segments, in any order
        frames = [round(float(clip.mean()) / LEVEL) for clip, v in zip(clips, videos) if v == video]
        assert sorted(frames) == [2, 6, 10]  # mean of frames [1, 3], [5, 7], [9, 11]


def test_without_several_clips_each_eval_clip_is_its_own_video(tmp_path):
    from harflow.components.model_comparison.executor import clip_videos

    ingest(tmp_path, tmp_path / "out")
    assert sorted(clip_videos([str(tmp_path / "out" / "Split-eval" / "*")])) == ["walk/v_walk_g01_c01.avi", "walk/v_walk_g02_c01.avi"]


def test_the_command_line_passes_eval_clips_to_the_ingest_config():
    from harflow.cli import build_parser
    from harflow.cli.options import pipeline_config

    args = build_parser().parse_args(["run", "--data", "DIR", "--eval-clips", "3"])
    assert pipeline_config(args, "DIR").ingest.eval_clips_per_video == 3
    assert pipeline_config(build_parser().parse_args(["run", "--data", "DIR"]), "DIR").ingest.eval_clips_per_video == 1


def test_the_command_line_passes_train_segments_to_the_ingest_config():
    from harflow.cli import build_parser
    from harflow.cli.options import pipeline_config

    args = build_parser().parse_args(["demo", "--train-segments", "3", "--eval-clips", "3"])
    assert pipeline_config(args, "DIR").ingest.train_segments == 3
    assert pipeline_config(build_parser().parse_args(["run", "--data", "DIR"]), "DIR").ingest.train_segments == 1

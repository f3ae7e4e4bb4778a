"""The job's per-bundle files (shards.py) under what runners do to bundles: retry them, kill them mid-way, lose them.

Real files on the local file system through Beam's FileSystems; the bundles are driven by hand, as a
runner's worker would, so each failure can be made on purpose.
"""

import json

import pytest
import tensorflow as tf

from harflow.components.video_example_gen import shards

SPLITS = ("train", "val", "eval")


def bundle(out, clip_ids, split="train", commit=True):
    """A bundle that writes one example per clip (its bytes: the clip id); committed unless told."""
    files = shards.BundleFiles(str(out))
    for clip_id in clip_ids:
        files.add_clip(clip_id)
        if clip_id.startswith("bad"):
            files.add_reject({"clip_id": clip_id, "split": split, "reason": "empty"})
        else:
            files.add_example(split, clip_id.encode(), {"clip_id": clip_id, "split": split, "padded": 0, "partial": 0})
    if commit:
        files.commit()
    return files


def records(out):
    return sorted(r.numpy().decode() for r in tf.data.TFRecordDataset([str(p) for p in out.glob("Split-*/*.gz")], "GZIP"))


def test_bundles_are_gathered_into_shards_facts_and_rejects(tmp_path):
    shards.prepare(str(tmp_path), SPLITS)
    bundle(tmp_path, ["a", "b", "bad1"])
    bundle(tmp_path, ["c"], split="eval")

    facts, rejects = shards.gather(str(tmp_path), SPLITS, {"a": 1, "b": 1, "bad1": 1, "c": 1})

    assert records(tmp_path) == ["a", "b", "c"]
    assert [f["clip_id"] for f in facts] == ["a", "b", "c"] and [r["clip_id"] for r in rejects] == ["bad1"]
    assert [json.loads(line)["clip_id"] for line in (tmp_path / "rejects.jsonl").read_text().splitlines()] == ["bad1"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["Split-eval", "Split-train", "Split-val", "clips.jsonl", "rejects.jsonl"]


def test_a_retried_bundle_replaces_its_first_try_instead_of_duplicating_it(tmp_path):
    shards.prepare(str(tmp_path), SPLITS)
    bundle(tmp_path, ["a", "b"])
    bundle(tmp_path, ["b", "a"])  # the runner ran the same bundle again (a worker was lost after it finished)

    shards.gather(str(tmp_path), SPLITS, {"a": 1, "b": 1})

    assert records(tmp_path) == ["a", "b"]
    assert len(list(tmp_path.glob("Split-train/*.gz"))) == 1


def test_a_bundle_killed_before_it_committed_leaves_nothing_behind(tmp_path):
    shards.prepare(str(tmp_path), SPLITS)
    dead = bundle(tmp_path, ["a", "b"], commit=False)  # its worker died; the runner gave its clips to other bundles
    dead._tfrecords["train"][1].close()
    bundle(tmp_path, ["a"])
    bundle(tmp_path, ["b"])

    shards.gather(str(tmp_path), SPLITS, {"a": 1, "b": 1})

    assert records(tmp_path) == ["a", "b"]
    assert not (tmp_path / shards.BUNDLES_DIR).exists()


def test_a_shard_renamed_but_never_committed_is_deleted(tmp_path):
    shards.prepare(str(tmp_path), SPLITS)
    bundle(tmp_path, ["a", "b"])
    (tmp_path / shards.BUNDLES_DIR / next(p.name for p in (tmp_path / shards.BUNDLES_DIR).glob("clips-*"))).unlink()
    bundle(tmp_path, ["a"])  # the retry came with other clips: the first try's TFRecord has no commit mark
    bundle(tmp_path, ["b"])

    shards.gather(str(tmp_path), SPLITS, {"a": 1, "b": 1})

    assert records(tmp_path) == ["a", "b"]


def test_a_lost_clip_fails_the_run_naming_it(tmp_path):
    shards.prepare(str(tmp_path), SPLITS)
    bundle(tmp_path, ["a"])
    with pytest.raises(shards.ShardError, match=r"1 clip\(s\) lost or duplicated .*b: 0 of 1 example\(s\) written"):
        shards.gather(str(tmp_path), SPLITS, {"a": 1, "b": 1})


def test_a_clip_in_two_committed_bundles_fails_the_run_naming_it(tmp_path):
    shards.prepare(str(tmp_path), SPLITS)
    bundle(tmp_path, ["a", "b"])
    bundle(tmp_path, ["b", "c"])
    with pytest.raises(shards.ShardError, match=r"b: 2 of 1 example\(s\) written"):
        shards.gather(str(tmp_path), SPLITS, {"a": 1, "b": 1, "c": 1})

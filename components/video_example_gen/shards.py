"""The Beam job's files, written per bundle so that every runner writes them the same way, and gathered after.

    bundle (on a worker) ──> .bundles/tmp-<token>-*       written as its clips come, under temporary names
        finish_bundle  ──> Split-<split>/data_tfrecord-<key>.gz   one per split the bundle has clips of
                       ──> .bundles/rejects-<key>.jsonl, then .bundles/clips-<key>.jsonl (last: the commit mark)
    executor (after the job) ──> gather(): keeps the shards of committed bundles, checks that every clip of the
        index was written or rejected exactly once, merges clips.jsonl and rejects.jsonl, removes .bundles/

Beam's own file sinks (WriteToTFRecord, WriteToText) finalize through side inputs; Beam's DaskRunner computes
side inputs again, in another temporary folder, and left those sinks' output empty (docs/ingestion.md has the
reproduction). A bundle's key is a hash of its clip ids, so a bundle that a runner retries with the same clips
writes the same names again (a rename replaces them): a retry cannot duplicate a clip, and gather() fails the
run, naming the clips, if any clip is still missing or twice there. Beam's FileSystems do the I/O, so the
output may be a local path or gs://, s3://. Standard library and Beam only: workers import this module.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Iterable

from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems
from apache_beam.io.tfrecordio import _TFRecordUtil  # the framing (length, masked CRC32C) Beam's WriteToTFRecord writes

from harflow.components.video_example_gen.statistics import CLIPS_FILE  # one JSON line of facts per example written
from harflow.features import REJECTS_FILE  # one JSON line per clip that could not be read

BUNDLES_DIR = ".bundles"  # beside the Split-* folders while the job runs; gather() removes it
SHARD_PREFIX = "data_tfrecord-"  # Split-<split>/data_tfrecord-<key>.gz, as TFX's ExampleGen names its shards


class ShardError(RuntimeError):
    """The job's output lost or duplicated a clip."""


def split_dir(output_uri: str, split: str) -> str:
    return FileSystems.join(output_uri, f"Split-{split}")


def prepare(output_uri: str, splits: Iterable[str]) -> None:
    """The folders the bundles rename their files into (a local rename needs them to exist)."""
    for path in [FileSystems.join(output_uri, BUNDLES_DIR)] + [split_dir(output_uri, s) for s in splits]:
        if not FileSystems.exists(path):
            FileSystems.mkdirs(path)


class BundleFiles:
    """One bundle's files: examples per split, facts and rejects, under temporary names until commit()."""

    def __init__(self, output_uri: str):
        self._uri = output_uri
        self._token = uuid.uuid4().hex
        self._tfrecords: dict = {}  # split -> (temporary path, open gzip file)
        self._facts: list[dict] = []
        self._rejects: list[dict] = []
        self._clip_ids: list[str] = []

    def _temporary(self, name: str) -> str:
        return FileSystems.join(self._uri, BUNDLES_DIR, f"tmp-{self._token}-{name}")

    def add_clip(self, clip_id: str) -> None:
        """Every clip the bundle processes, written or rejected: their ids make the bundle's key."""
        self._clip_ids.append(clip_id)

    def add_example(self, split: str, example: bytes, facts: dict) -> None:
        if split not in self._tfrecords:
            path = self._temporary(f"{split}.gz")
            self._tfrecords[split] = (path, FileSystems.create(path, compression_type=CompressionTypes.GZIP))
        _TFRecordUtil.write_record(self._tfrecords[split][1], example)
        self._facts.append(facts)

    def add_reject(self, reject: dict) -> None:
        self._rejects.append(reject)

    def commit(self) -> None:
        """Close the shards and rename them to their final names; the facts file, renamed last, marks the bundle done."""
        if not self._clip_ids:
            return
        key = hashlib.sha1("\n".join(sorted(self._clip_ids)).encode()).hexdigest()[:20]
        sources, destinations = [], []
        for split, (path, handle) in sorted(self._tfrecords.items()):
            handle.close()
            sources.append(path)
            destinations.append(FileSystems.join(split_dir(self._uri, split), f"{SHARD_PREFIX}{key}.gz"))
        for name, lines in (("rejects", self._rejects), ("clips", self._facts)):
            sources.append(self._temporary(f"{name}.jsonl"))
            destinations.append(FileSystems.join(self._uri, BUNDLES_DIR, f"{name}-{key}.jsonl"))
            _write_lines(sources[-1], lines)
        for source, destination in zip(sources, destinations):  # one at a time: clips-<key>.jsonl strictly last
            FileSystems.rename([source], [destination])  # a retried bundle's files replace its first try's


def _write_lines(path: str, records: list[dict]) -> None:
    with FileSystems.create(path) as handle:
        handle.write("".join(json.dumps(record) + "\n" for record in records).encode())


def _read_lines(path: str) -> list[dict]:
    with FileSystems.open(path) as handle:
        return [json.loads(line) for line in handle.read().decode().splitlines() if line.strip()]


def _key(path: str, prefix: str, suffix: str) -> str:
    name = path.rstrip("/").rsplit("/", 1)[-1]
    return name[len(prefix) : -len(suffix)]


def _matching(pattern: str) -> list[str]:
    return sorted(metadata.path for metadata in FileSystems.match([pattern])[0].metadata_list)


def gather(output_uri: str, splits: Iterable[str], expected: dict[str, int]) -> tuple[list[dict], list[dict]]:
    """After the job: (facts, rejects) of the committed bundles, checked against `expected` {clip id: examples}.

    Shards of bundles that never committed (a worker that died mid-bundle) are deleted; clips.jsonl and
    rejects.jsonl are written beside the splits, and .bundles/ is removed. Raises ShardError when a clip of
    `expected` is missing, written and rejected, or written more often than its number of examples.
    """
    bundles = FileSystems.join(output_uri, BUNDLES_DIR)
    committed = {_key(path, "clips-", ".jsonl"): path for path in _matching(FileSystems.join(bundles, "clips-*.jsonl"))}
    facts = [fact for key in sorted(committed) for fact in _read_lines(committed[key])]
    rejects = [r for key in sorted(committed) for r in _read_lines(FileSystems.join(bundles, f"rejects-{key}.jsonl"))]
    orphans = [
        path
        for split in splits
        for path in _matching(FileSystems.join(split_dir(output_uri, split), f"{SHARD_PREFIX}*.gz"))
        if _key(path, SHARD_PREFIX, ".gz") not in committed
    ]
    if orphans:
        FileSystems.delete(orphans)
    check_each_clip_once(facts, rejects, expected, output_uri)
    facts.sort(key=lambda fact: (fact["clip_id"], fact.get("clip_index", 0)))
    rejects.sort(key=lambda reject: reject["clip_id"])
    _write_lines(FileSystems.join(output_uri, CLIPS_FILE), facts)
    _write_lines(FileSystems.join(output_uri, REJECTS_FILE), rejects)
    leftovers = _matching(FileSystems.join(bundles, "*"))  # file by file: object stores have no folders to delete
    if leftovers:
        FileSystems.delete(leftovers)
    if FileSystems.exists(bundles):
        FileSystems.delete([bundles])
    return facts, rejects


def check_each_clip_once(facts: list[dict], rejects: list[dict], expected: dict[str, int], output_uri: str) -> None:
    """Every clip of `expected` rejected once, or written exactly `expected[clip]` times; else ShardError."""
    written: dict[str, int] = {}
    for fact in facts:
        written[fact["clip_id"]] = written.get(fact["clip_id"], 0) + 1
    rejected: dict[str, int] = {}
    for reject in rejects:
        rejected[reject["clip_id"]] = rejected.get(reject["clip_id"], 0) + 1
    wrong = {
        clip_id: f"{written.get(clip_id, 0)} of {examples} example(s) written, rejected {rejected.get(clip_id, 0)}x"
        for clip_id, examples in expected.items()
        if (written.get(clip_id, 0), rejected.get(clip_id, 0)) not in ((examples, 0), (0, 1))
    }
    wrong.update({clip_id: "not in the dataset index" for clip_id in set(written) | set(rejected) if clip_id not in expected})
    if wrong:
        listed = "; ".join(f"{clip_id}: {why}" for clip_id, why in sorted(wrong.items())[:5])
        raise ShardError(
            f"VideoExampleGen: {len(wrong)} clip(s) lost or duplicated by the Beam runner in {output_uri} ({listed}"
            f"{'; ...' if len(wrong) > 5 else ''}); run again, and report the runner if it happens again"
        )

"""VideoExampleGen's Beam job, free of TensorFlow and TFX.

    dataset index ──Reshuffle──> EncodeClip ──> per bundle: a gzip TFRecord shard per split,
                                                its rejects and facts (split, class, frames,
                                                perceptual signature; shards.py)
                 after the job: shards.gather ──> checked: each clip once; rejects.jsonl, clips.jsonl

Beam pickles EncodeClip by reference to this module, so every worker process
imports it: it imports only Beam, OpenCV, NumPy and harflow's own modules
(importing TFX would cost each worker ~10 s; harflow.features writes the
tf.train.Example bytes itself). Decoding is the cost, so clips are spread
over the workers (Reshuffle) and each clip is decoded only up to its last
sampled frame (harflow.video). A clip that cannot be read is counted (Beam
metrics), written with its reason to the rejects file, and skipped. The job
runs on the DirectRunner, Beam's portable runner (Flink, Dataflow) and Beam's
DaskRunner: tests/test_ingest_runners.py runs it on each and compares.
"""

from __future__ import annotations

from typing import Any

import apache_beam as beam
import cv2
import numpy as np

from harflow.datasets.records import EVAL, SPLITS, ClipRecord
from harflow.components.video_example_gen import shards
from harflow import features, leakage
from harflow.features import encode_jpeg  # the one frame encoding (clients use it too)
from harflow.config import IngestConfig
from harflow.video import Clip, ClipError, read_clip, read_segment_clips

METRICS_NAMESPACE = "harflow.ingest"
COUNTED = ("written", "rejected", "padded", "partial")


def clip_example(clip: ClipRecord, config: IngestConfig) -> tuple[bytes, dict]:
    """Decode, sample and encode one clip: (serialized tf.train.Example, its facts for the statistics)."""
    decoded = read_clip(clip.path, config.num_frames, config.image_size, color=config.color)
    return _example(clip, decoded, config), _facts(clip, decoded)


def segments_for(split: str, config: IngestConfig) -> int:
    """How many clips a video of `split` becomes: eval_clips_per_video for test videos, train_segments otherwise."""
    return config.eval_clips_per_video if split == EVAL else config.train_segments


def segment_examples(clip: ClipRecord, config: IngestConfig, segments: int) -> list[tuple[bytes, dict]]:
    """A video as `segments` clips, one per equal segment: [(serialized Example, facts)].

    Each Example also carries the video's id (its clip_id) and the segment's clip_index.
    """
    clips = read_segment_clips(clip.path, config.num_frames, config.image_size, segments, color=config.color)

    def extra(index: int) -> dict:
        return {features.VIDEO_ID: [clip.clip_id.encode()], features.CLIP_INDEX: [index]}

    return [
        (_example(clip, decoded, config, extra(index)), {**_facts(clip, decoded), "clip_index": index})
        for index, decoded in enumerate(clips)
    ]


def _example(clip: ClipRecord, decoded: Clip, config: IngestConfig, extra: dict | None = None) -> bytes:
    frames = decoded.frames  # [T, H, W, 3] uint8 RGB
    return features.serialize_example(
        {
            features.FRAMES: [encode_jpeg(frame, config.jpeg_quality) for frame in frames],
            features.LABEL: [clip.label],
            features.LABEL_NAME: [clip.label_name.encode()],
            features.CLIP_ID: [clip.clip_id.encode()],
            features.GROUP: [clip.group.encode()],
            features.NUM_FRAMES: [frames.shape[0]],
            features.HEIGHT: [frames.shape[1]],
            features.WIDTH: [frames.shape[2]],
            features.SOURCE_FRAMES: [decoded.source_frames],
            features.PADDED: [int(decoded.padded)],
            features.PARTIAL: [int(decoded.partial)],
            **(extra or {}),
        }
    )


def _facts(clip: ClipRecord, decoded: Clip) -> dict:
    return {
        "clip_id": clip.clip_id,
        "split": clip.split,
        "label_name": clip.label_name,
        "source_frames": decoded.source_frames,
        "padded": int(decoded.padded),
        "partial": int(decoded.partial),
        "signature": leakage.signature(decoded.frames),  # the leakage audit's perceptual hashes (statistics.py)
    }


class EncodeClip(beam.DoFn):
    """ClipRecord -> its Examples, written into this bundle's shards; an unreadable clip into its rejects.

    A test (eval split) video becomes eval_clips_per_video Examples when that is > 1, a train or val
    video train_segments Examples when that is > 1: one per segment. Nothing is output: the bundle's
    files are renamed into place when it finishes (shards.py), the one way of writing files that every
    runner here runs correctly (Beam's DaskRunner drops tagged outputs, outputs of finish_bundle and
    all but one sink). The counters are Beam metrics for the runner's UI; the counts harflow records
    come from the files (shards.gather), since not every runner reports metrics.
    """

    def __init__(self, config: IngestConfig, output_uri: str):
        self._config = config
        self._output_uri = output_uri
        self._files: shards.BundleFiles | None = None

    def start_bundle(self) -> None:
        self._files = shards.BundleFiles(self._output_uri)

    def process(self, clip: ClipRecord) -> None:
        self._files.add_clip(clip.clip_id)
        try:
            segments = segments_for(clip.split, self._config)
            if segments > 1:
                encoded = segment_examples(clip, self._config, segments)
            else:
                encoded = [clip_example(clip, self._config)]
        except (ClipError, OSError, cv2.error) as error:
            beam.metrics.Metrics.counter(METRICS_NAMESPACE, f"rejected_{clip.split}").inc()
            reason = str(error) or type(error).__name__
            self._files.add_reject({"clip_id": clip.clip_id, "split": clip.split, "reason": reason})
            return
        for example, facts in encoded:
            for kind in ("written", "padded", "partial"):
                if kind == "written" or facts[kind]:
                    beam.metrics.Metrics.counter(METRICS_NAMESPACE, f"{kind}_{clip.split}").inc()
            self._files.add_example(clip.split, example, facts)

    def finish_bundle(self) -> None:
        self._files.commit()
        self._files = None


def run_job(pipeline: beam.Pipeline, clips: list[ClipRecord], config: IngestConfig, output_uri: str) -> Any:
    """Run the Beam job to the end; returns its PipelineResult (the files still per bundle: see write_examples)."""
    shards.prepare(output_uri, SPLITS)
    _ = (
        pipeline
        | "Clips" >> beam.Create(clips)
        | "SpreadOverWorkers" >> beam.Reshuffle()
        | "DecodeSampleEncodeWrite" >> beam.ParDo(EncodeClip(config, output_uri))
    )
    result = pipeline.run()
    result.wait_until_finish()
    client = getattr(result, "client", None)  # Beam's DaskRunner leaves its dask.distributed Client open
    if client is not None:
        client.close()
    return result


def write_examples(pipeline: beam.Pipeline, clips: list[ClipRecord], config: IngestConfig, output_uri: str) -> dict:
    """Run the Beam job and gather its shards; returns counts {'written_train': n, 'rejected_eval': m, ...}.

    Raises shards.ShardError when a clip is missing from the output or there twice.
    """
    run_job(pipeline, clips, config, output_uri)
    expected = {clip.clip_id: segments_for(clip.split, config) for clip in clips}
    facts, rejects = shards.gather(output_uri, SPLITS, expected)
    return counts(facts, rejects)


def counts(facts: list[dict], rejects: list[dict]) -> dict:
    """{'written_<split>', 'rejected_<split>', 'padded_<split>', 'partial_<split>': n} from the job's files."""
    found = {f"{kind}_{split}": 0 for kind in COUNTED for split in SPLITS}
    for fact in facts:
        for kind in ("written", "padded", "partial"):
            found[f"{kind}_{fact['split']}"] += 1 if kind == "written" else int(fact[kind])
    for reject in rejects:
        found[f"rejected_{reject['split']}"] += 1
    return found


def beam_counters(result: Any) -> dict | None:
    """The same counts from Beam's metrics, or None from a runner that reports none (Beam's DaskRunner)."""
    try:
        query = result.metrics().query(beam.metrics.MetricsFilter().with_namespace(METRICS_NAMESPACE))
    except NotImplementedError:
        return None
    found = {f"{kind}_{split}": 0 for kind in COUNTED for split in SPLITS}
    for counter in query["counters"]:
        value = counter.committed if counter.committed is not None else counter.attempted
        found[counter.key.metric.name] = int(value or 0)
    return found

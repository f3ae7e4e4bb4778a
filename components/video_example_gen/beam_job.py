"""VideoExampleGen's Beam job, free of TensorFlow and TFX.

    dataset index ──Reshuffle──> EncodeClip ──> per split: WriteToTFRecord (gzip)
                                     ├── rejects (one JSON line each) ──> rejects.jsonl
                                     └── facts (split, class, frames)  ──> clips.jsonl

Beam pickles EncodeClip by reference to this module, so every worker process
imports it: it imports only Beam, OpenCV, NumPy and harflow's own modules
(importing TFX would cost each worker ~10 s; harflow.features writes the
tf.train.Example bytes itself). Decoding is the cost, so clips are spread
over the workers (Reshuffle) and each clip is decoded only up to its last
sampled frame (harflow.video). A clip that cannot be read is counted (Beam
metrics), written with its reason to the rejects file, and skipped.
"""

from __future__ import annotations

import json
import os
from typing import Any, Iterator

import apache_beam as beam
import cv2
import numpy as np

from harflow.datasets.records import EVAL, SPLITS, ClipRecord
from harflow.components.video_example_gen import statistics
from harflow import features
from harflow.config import IngestConfig
from harflow.video import Clip, ClipError, read_clip, read_segment_clips

METRICS_NAMESPACE = "harflow.ingest"


def encode_jpeg(frame_rgb: np.ndarray, quality: int) -> bytes:
    """[H, W, 3] uint8 RGB -> JPEG bytes (OpenCV encodes BGR, so swap first)."""
    ok, buffer = cv2.imencode(".jpg", cv2.cvtColor(frame_rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ClipError("JPEG encoding failed")
    return buffer.tobytes()


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
    }


class EncodeClip(beam.DoFn):
    """ClipRecord -> (split, serialized Example); unreadable clips go to `rejects`, every clip's facts to `facts`.

    A test (eval split) video becomes eval_clips_per_video Examples when that is > 1, a train or val
    video train_segments Examples when that is > 1: one per segment.
    """

    REJECTS = "rejects"
    FACTS = "facts"

    def __init__(self, config: IngestConfig):
        self._config = config

    def process(self, clip: ClipRecord) -> Iterator[Any]:
        try:
            segments = segments_for(clip.split, self._config)
            if segments > 1:
                encoded = segment_examples(clip, self._config, segments)
            else:
                encoded = [clip_example(clip, self._config)]
        except (ClipError, OSError, cv2.error) as error:
            beam.metrics.Metrics.counter(METRICS_NAMESPACE, f"rejected_{clip.split}").inc()
            reason = str(error) or type(error).__name__
            yield beam.pvalue.TaggedOutput(
                self.REJECTS, json.dumps({"clip_id": clip.clip_id, "split": clip.split, "reason": reason})
            )
            return
        for example, facts in encoded:
            beam.metrics.Metrics.counter(METRICS_NAMESPACE, f"written_{clip.split}").inc()
            if facts["padded"]:
                beam.metrics.Metrics.counter(METRICS_NAMESPACE, f"padded_{clip.split}").inc()
            if facts["partial"]:
                beam.metrics.Metrics.counter(METRICS_NAMESPACE, f"partial_{clip.split}").inc()
            yield beam.pvalue.TaggedOutput(self.FACTS, json.dumps(facts))
            yield clip.split, example


def write_examples(pipeline: beam.Pipeline, clips: list[ClipRecord], config: IngestConfig, output_uri: str) -> dict:
    """Run the Beam job; returns counts {'written_train': n, 'rejected_eval': m, ...}."""
    encoded = (
        pipeline
        | "Clips" >> beam.Create(clips)
        | "SpreadOverWorkers" >> beam.Reshuffle()
        | "DecodeSampleEncode" >> beam.ParDo(EncodeClip(config)).with_outputs(
            EncodeClip.REJECTS, EncodeClip.FACTS, main="examples"
        )
    )
    by_split = encoded.examples | "BySplit" >> beam.Partition(lambda item, _: SPLITS.index(item[0]), len(SPLITS))
    for split, examples in zip(SPLITS, by_split):
        _ = (
            examples
            | f"Values[{split}]" >> beam.Values()
            | f"Write[{split}]"
            >> beam.io.WriteToTFRecord(
                os.path.join(output_uri, f"Split-{split}", "data_tfrecord"),
                file_name_suffix=".gz",
            )
        )
    _ = encoded[EncodeClip.REJECTS] | "WriteRejects" >> beam.io.WriteToText(
        os.path.join(output_uri, features.REJECTS_FILE), shard_name_template=""
    )
    _ = encoded[EncodeClip.FACTS] | "WriteFacts" >> beam.io.WriteToText(
        os.path.join(output_uri, statistics.CLIPS_FILE), shard_name_template=""
    )
    result = pipeline.run()
    result.wait_until_finish()
    return _counters(result)


def _counters(result: Any) -> dict:
    query = result.metrics().query(beam.metrics.MetricsFilter().with_namespace(METRICS_NAMESPACE))
    counts = {f"{kind}_{split}": 0 for kind in ("written", "rejected", "padded", "partial") for split in SPLITS}
    for counter in query["counters"]:
        value = counter.committed if counter.committed is not None else counter.attempted
        counts[counter.key.metric.name] = int(value or 0)
    return counts

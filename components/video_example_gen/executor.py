"""The Beam job behind VideoExampleGen.

    dataset index ──Reshuffle──> EncodeClip ──> per split: WriteToTFRecord (gzip)
                                     ├── rejects (one JSON line each) ──> rejects.jsonl
                                     └── facts (split, class, frames)  ──> clips.jsonl ──> statistics.md

Decoding is the cost, so clips are spread over the workers (Reshuffle) and
each clip is decoded only up to its last sampled frame (harflow.video).
A clip that cannot be read is counted, written with its reason to the
rejects file beside the splits, and skipped: one bad file never fails a run.
A split that ends up without some class does fail it (statistics.py).
"""

from __future__ import annotations

import json
import os
from typing import Any, Iterator

import apache_beam as beam
import cv2
import numpy as np
from tfx.components.util import examples_utils
from tfx.dsl.components.base import base_beam_executor
from tfx.proto import example_gen_pb2
from tfx.types import artifact_utils

from components.datasets import SPLITS, ClipRecord, DatasetError, read_configured
from components.video_example_gen import statistics
from harflow import features
from harflow.config import IngestConfig
from harflow.video import ClipError, read_clip

METRICS_NAMESPACE = "harflow.ingest"


def encode_jpeg(frame_rgb: np.ndarray, quality: int) -> bytes:
    """[H, W, 3] uint8 RGB -> JPEG bytes (OpenCV encodes BGR, so swap first)."""
    ok, buffer = cv2.imencode(".jpg", cv2.cvtColor(frame_rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ClipError("JPEG encoding failed")
    return buffer.tobytes()


def clip_example(clip: ClipRecord, config: IngestConfig) -> tuple[bytes, dict]:
    """Decode, sample and encode one clip: (serialized tf.train.Example, its facts for the statistics)."""
    import tensorflow as tf  # imported in the worker, where it is used

    decoded = read_clip(clip.path, config.num_frames, config.image_size, color=config.color)
    frames = decoded.frames  # [T, H, W, 3] uint8 RGB

    def ints(value: int) -> Any:
        return tf.train.Feature(int64_list=tf.train.Int64List(value=[int(value)]))

    def strings(*values: bytes) -> Any:
        return tf.train.Feature(bytes_list=tf.train.BytesList(value=list(values)))

    feature = {
        features.FRAMES: strings(*(encode_jpeg(frame, config.jpeg_quality) for frame in frames)),
        features.LABEL: ints(clip.label),
        features.LABEL_NAME: strings(clip.label_name.encode()),
        features.CLIP_ID: strings(clip.clip_id.encode()),
        features.GROUP: strings(clip.group.encode()),
        features.NUM_FRAMES: ints(frames.shape[0]),
        features.HEIGHT: ints(frames.shape[1]),
        features.WIDTH: ints(frames.shape[2]),
        features.SOURCE_FRAMES: ints(decoded.source_frames),
        features.PADDED: ints(decoded.padded),
        features.PARTIAL: ints(decoded.partial),
    }
    example = tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString()
    facts = {
        "clip_id": clip.clip_id,
        "split": clip.split,
        "label_name": clip.label_name,
        "source_frames": decoded.source_frames,
        "padded": int(decoded.padded),
        "partial": int(decoded.partial),
    }
    return example, facts


class EncodeClip(beam.DoFn):
    """ClipRecord -> (split, serialized Example); unreadable clips go to `rejects`, every clip's facts to `facts`."""

    REJECTS = "rejects"
    FACTS = "facts"

    def __init__(self, config: IngestConfig):
        self._config = config

    def process(self, clip: ClipRecord) -> Iterator[Any]:
        try:
            example, facts = clip_example(clip, self._config)
        except (ClipError, OSError, cv2.error) as error:
            beam.metrics.Metrics.counter(METRICS_NAMESPACE, f"rejected_{clip.split}").inc()
            reason = str(error) or type(error).__name__
            yield beam.pvalue.TaggedOutput(
                self.REJECTS, json.dumps({"clip_id": clip.clip_id, "split": clip.split, "reason": reason})
            )
            return
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


class Executor(base_beam_executor.BaseBeamExecutor):
    """Reads the dataset index, runs the Beam job, records the counts on the artifact."""

    def Do(self, input_dict: dict, output_dict: dict, exec_properties: dict) -> None:
        config = IngestConfig(**json.loads(exec_properties["ingest_config"]))
        index = read_configured(config)
        examples = artifact_utils.get_single_instance(output_dict["examples"])
        examples.split_names = artifact_utils.encode_split_names(list(SPLITS))
        examples_utils.set_payload_format(examples, example_gen_pb2.PayloadFormat.FORMAT_TF_EXAMPLE)
        os.makedirs(examples.uri, exist_ok=True)
        with open(os.path.join(examples.uri, features.CLASS_NAMES_FILE), "w") as handle:
            handle.write("\n".join(index.class_names) + "\n")

        counts = write_examples(self._make_beam_pipeline(), list(index.clips), config, examples.uri)

        examples.set_string_custom_property("class_names", json.dumps(list(index.class_names)))
        for name, value in counts.items():
            examples.set_int_custom_property(name, value)
        print(summary_line(counts, examples.uri), flush=True)

        summary = write_statistics(examples.uri, list(index.class_names))
        missing = statistics.missing_classes(summary)
        examples.set_string_custom_property("missing_classes", json.dumps(missing))
        if missing and config.require_all_classes:
            split, names = next(iter(missing.items()))
            raise DatasetError(
                f"VideoExampleGen: split {split} has no clips of {len(names)} class(es) ({', '.join(names[:5])}"
                f"{', ...' if len(names) > 5 else ''}); see {os.path.join(examples.uri, statistics.STATISTICS_MD)} "
                "and the rejects file, or change the split"
            )


def _json_lines(path: str) -> list[dict]:
    import tensorflow as tf

    if not tf.io.gfile.exists(path):
        return []
    with tf.io.gfile.GFile(path) as handle:
        return [json.loads(line) for line in handle if line.strip()]


def write_statistics(uri: str, class_names: list[str]) -> dict:
    """statistics.json and statistics.md beside the splits, from clips.jsonl and rejects.jsonl."""
    import tensorflow as tf

    summary = statistics.summarize(
        _json_lines(os.path.join(uri, statistics.CLIPS_FILE)),
        _json_lines(os.path.join(uri, features.REJECTS_FILE)),
        class_names,
    )
    with tf.io.gfile.GFile(os.path.join(uri, statistics.STATISTICS_JSON), "w") as handle:
        handle.write(json.dumps(summary, indent=1))
    with tf.io.gfile.GFile(os.path.join(uri, statistics.STATISTICS_MD), "w") as handle:
        handle.write(statistics.to_markdown(summary))
    return summary


def summary_line(counts: dict, uri: str) -> str:
    parts = [f"{split} {counts[f'written_{split}']} written, {counts[f'rejected_{split}']} rejected" for split in SPLITS]
    return "VideoExampleGen: " + "; ".join(parts) + f" (rejects, if any: {os.path.join(uri, features.REJECTS_FILE)})"

"""VideoExampleGen's executor: reads the dataset index, runs the Beam job, records what it wrote.

    dataset index ──> beam_job.write_examples ──> Split-*/ TFRecords, rejects.jsonl, clips.jsonl
                  ──> statistics.json / statistics.md (split source, leakage audit), counts as MLMD custom properties

A run whose eval videos have near-duplicates in train beyond `fail_on_leak`
fails after the statistics are written, so the report says which pairs.

One bad file never fails a run (it is rejected with its reason); a split
that ends up without some class does (statistics.py), unless allowed.
"""

from __future__ import annotations

import json

from tfx.components.util import examples_utils
from tfx.dsl.components.base import base_beam_executor
from tfx.proto import example_gen_pb2
from tfx.types import artifact_utils

from harflow.datasets.detect import read_configured
from harflow.datasets.records import SPLITS, VAL, DatasetError
from harflow.components.video_example_gen import statistics
from harflow.components.video_example_gen.beam_job import write_examples
from harflow import artifacts, features, leakage, storage
from harflow.config import IngestConfig


class Executor(base_beam_executor.BaseBeamExecutor):
    """Reads the dataset index, runs the Beam job, records the counts on the artifact."""

    def Do(self, input_dict: dict, output_dict: dict, exec_properties: dict) -> None:
        config = ingest_config(exec_properties)
        index = read_configured(config)
        examples = artifact_utils.get_single_instance(output_dict["examples"])
        examples.split_names = artifact_utils.encode_split_names(list(SPLITS))
        examples_utils.set_payload_format(examples, example_gen_pb2.PayloadFormat.FORMAT_TF_EXAMPLE)
        storage.make_dirs(examples.uri)
        artifacts.write_class_names(examples.uri, index.class_names)

        counts = write_examples(self._make_beam_pipeline(), list(index.clips), config, examples.uri)

        examples.set_string_custom_property(artifacts.CLASS_NAMES_PROPERTY, json.dumps(list(index.class_names)))
        for name, value in counts.items():
            examples.set_int_custom_property(name, value)
        print(summary_line(counts, examples.uri), flush=True)

        print(f"VideoExampleGen: split source: {index.source}", flush=True)
        summary = write_statistics(examples.uri, list(index.class_names), index.source, config.leak_threshold)
        report = summary["leakage"]
        print(f"VideoExampleGen: leakage audit: {leakage.headline(report)}", flush=True)
        examples.set_string_custom_property(artifacts.SPLIT_SOURCE_PROPERTY, index.source)
        examples.set_float_custom_property(artifacts.LEAK_PROPERTY, report["eval_fraction_with_train_twin"])
        examples.set_int_custom_property(artifacts.VAL_VIDEOS_PROPERTY, report["videos"][VAL])
        if leakage.leaks_too_much(report, config.fail_on_leak):
            raise DatasetError(
                f"VideoExampleGen: {leakage.headline(report)}, more than --fail-on-leak {config.fail_on_leak}; "
                f"see {storage.join(examples.uri, statistics.STATISTICS_MD)} (split by group, or use the official split)"
            )
        missing = statistics.missing_classes(summary)
        examples.set_string_custom_property("missing_classes", json.dumps(missing))
        if missing and config.require_all_classes:
            split, names = next(iter(missing.items()))
            raise DatasetError(
                f"VideoExampleGen: split {split} has no clips of {len(names)} class(es) ({', '.join(names[:5])}"
                f"{', ...' if len(names) > 5 else ''}); see {storage.join(examples.uri, statistics.STATISTICS_MD)} "
                "and the rejects file, or change the split"
            )


OVERRIDES = ("dataset_root", "dataset", "split")  # exec properties that replace ingest_config's fields


def ingest_config(exec_properties: dict) -> IngestConfig:
    """ingest_config's JSON, with dataset_root, dataset and split replaced where those properties are set."""
    fields = json.loads(exec_properties["ingest_config"])
    fields.update({name: exec_properties[name] for name in OVERRIDES if exec_properties.get(name) not in (None, "")})
    return IngestConfig(**fields)


def _json_lines(path: str) -> list[dict]:
    if not storage.exists(path):
        return []
    return [json.loads(line) for line in storage.read_text(path).splitlines() if line.strip()]


def write_statistics(uri: str, class_names: list[str], split_source: str = "", leak_threshold: float | None = None) -> dict:
    """statistics.json and statistics.md beside the splits, from clips.jsonl and rejects.jsonl (and the leakage audit)."""
    summary = statistics.summarize(
        _json_lines(storage.join(uri, statistics.CLIPS_FILE)),
        _json_lines(storage.join(uri, features.REJECTS_FILE)),
        class_names,
        split_source,
        leak_threshold,
    )
    storage.write_text(storage.join(uri, statistics.STATISTICS_JSON), json.dumps(summary, indent=1))
    storage.write_text(storage.join(uri, statistics.STATISTICS_MD), statistics.to_markdown(summary))
    return summary


def summary_line(counts: dict, uri: str) -> str:
    parts = [f"{split} {counts[f'written_{split}']} written, {counts[f'rejected_{split}']} rejected" for split in SPLITS]
    return "VideoExampleGen: " + "; ".join(parts) + f" (rejects, if any: {storage.join(uri, features.REJECTS_FILE)})"

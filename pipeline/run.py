"""Run the pipeline on this machine and read back what it produced.

`run_locally` runs the pipeline with TFX's BeamDagRunner (or LocalDagRunner),
keeping ML Metadata in SQLite under the work dir; `latest_outcome` reads
MLMD to say what the run produced: the evaluation, the blessing, the push.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

from harflow.config import PipelineConfig

ACCURACY_METRIC = "sparse_categorical_accuracy"


@dataclass
class Outcome:
    """What the last run produced, read from MLMD and the artifacts."""

    accuracy: float | None = None  # TFMA's, on the eval split
    accuracy_by_class: dict[str, float] = field(default_factory=dict)
    example_count: int | None = None
    blessed: bool | None = None
    pushed: bool | None = None
    pushed_to: str | None = None  # the version directory under the serving base path
    evaluation_uri: str | None = None


def metadata_config(config: PipelineConfig):
    from tfx.orchestration import metadata

    Path(config.metadata_path).parent.mkdir(parents=True, exist_ok=True)
    return metadata.sqlite_metadata_connection_config(config.metadata_path)


class _DropBeamWorkerChatter(logging.Filter):
    """Beam's multi-processing workers each warn that they have no semi_persistent_directory,
    which only matters for user-registered schemas (harflow registers none)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "semi_persistent_directory" not in record.getMessage()


_BEAM_WORKER_CHATTER = _DropBeamWorkerChatter()


def run_locally(config: PipelineConfig) -> Outcome:
    """Run the whole pipeline for `config`; returns what it produced."""
    from pipeline.pipeline import create_pipeline

    # addFilter ignores a filter that is already there, so repeated runs add it once
    logging.getLogger("apache_beam.runners.portability.local_job_service").addFilter(_BEAM_WORKER_CHATTER)

    config = config.absolute()
    pipeline = create_pipeline(config, metadata_connection_config=metadata_config(config))
    if config.runner == "beam":
        from tfx.orchestration.beam.beam_dag_runner import BeamDagRunner

        runner = BeamDagRunner()
    elif config.runner == "local":
        from tfx.orchestration.local.local_dag_runner import LocalDagRunner

        runner = LocalDagRunner()
    else:
        raise ValueError(f"unknown runner {config.runner!r}: use beam or local")
    started = time.monotonic()
    runner.run(pipeline)
    print(f"pipeline {config.name}: finished in {time.monotonic() - started:.0f} s", flush=True)
    return latest_outcome(config)


def _latest_artifact(store, type_name: str):
    artifacts = store.get_artifacts_by_type(type_name)
    return max(artifacts, key=lambda a: a.id) if artifacts else None


def _custom_int(artifact, key: str) -> int | None:
    if artifact is None or key not in artifact.custom_properties:
        return None
    return artifact.custom_properties[key].int_value


def latest_outcome(config: PipelineConfig) -> Outcome:
    """Read the newest evaluation, blessing and push of `config`'s pipeline from MLMD."""
    import ml_metadata as mlmd

    config = config.absolute()
    store = mlmd.MetadataStore(metadata_config(config))
    outcome = Outcome()
    evaluation = _latest_artifact(store, "ModelEvaluation")
    if evaluation is not None:
        outcome.evaluation_uri = evaluation.uri
        outcome.accuracy, outcome.accuracy_by_class, outcome.example_count = read_evaluation(evaluation.uri)
    blessed = _custom_int(_latest_artifact(store, "ModelBlessing"), "blessed")
    outcome.blessed = None if blessed is None else bool(blessed)
    pushed_model = _latest_artifact(store, "PushedModel")
    pushed = _custom_int(pushed_model, "pushed")
    outcome.pushed = None if pushed is None else bool(pushed)
    if outcome.pushed:
        outcome.pushed_to = pushed_model.custom_properties["pushed_destination"].string_value
    return outcome


def read_evaluation(uri: str) -> tuple[float | None, dict[str, float], int | None]:
    """TFMA's output -> (overall accuracy, accuracy per class name, example count)."""
    import tensorflow_model_analysis as tfma

    overall, by_class, count = None, {}, None
    for metrics in tfma.load_metrics(uri):
        values = {}
        for item in metrics.metric_keys_and_values:
            if item.key.HasField("sub_key") or item.key.is_diff:
                continue
            values[item.key.name] = item.value.double_value.value
        slice_values = metrics.slice_key.single_slice_keys
        if not slice_values:
            overall = values.get(ACCURACY_METRIC)
            count = int(values["example_count"]) if "example_count" in values else None
        elif slice_values[0].column == "label_name" and ACCURACY_METRIC in values:
            by_class[slice_values[0].bytes_value.decode()] = values[ACCURACY_METRIC]
    return overall, dict(sorted(by_class.items())), count

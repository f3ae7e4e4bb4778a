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

from harflow.artifacts import LEAK_PROPERTY, SPLIT_SOURCE_PROPERTY
from harflow.config import PipelineConfig
from harflow.pipeline.pipeline import variant_of

ACCURACY_METRIC = "sparse_categorical_accuracy"
# With a baseline, TFMA scores both models; its output keys name them "candidate" and "baseline".
BASELINE = "baseline"


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
    from harflow.pipeline.pipeline import create_pipeline

    # addFilter ignores a filter that is already there, so repeated runs add it once
    logging.getLogger("apache_beam.runners.portability.local_job_service").addFilter(_BEAM_WORKER_CHATTER)

    config = config.absolute()
    if config.runner == "beam":  # Beam's options at run time: a new worker count re-runs nothing (pipeline/runner.py)
        from harflow.pipeline.runner import beam_dag_runner

        runner = beam_dag_runner(config.beam_args)
        pipeline = create_pipeline(config, metadata_connection_config=metadata_config(config), beam_args_in_spec=False)
    elif config.runner == "local":  # TFX's LocalDagRunner takes Beam's options from the specs only
        from tfx.orchestration.local.local_dag_runner import LocalDagRunner

        runner = LocalDagRunner()
        pipeline = create_pipeline(config, metadata_connection_config=metadata_config(config))
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
            if item.key.HasField("sub_key") or item.key.is_diff or item.key.model_name == BASELINE:
                continue
            values[item.key.name] = item.value.double_value.value
        slice_values = metrics.slice_key.single_slice_keys
        if not slice_values:
            overall = values.get(ACCURACY_METRIC)
            count = int(values["example_count"]) if "example_count" in values else None
        elif slice_values[0].column == "label_name" and ACCURACY_METRIC in values:
            by_class[slice_values[0].bytes_value.decode()] = values[ACCURACY_METRIC]
    return overall, dict(sorted(by_class.items())), count


# --------------------------------------------------------------------------- the runs in MLMD

TOP_K_METRIC = "sparse_top_k_categorical_accuracy"
_INPUT_EVENTS = (2, 3)  # metadata_store_pb2.Event.DECLARED_INPUT, INPUT
_OUTPUT_EVENTS = (1, 4)  # DECLARED_OUTPUT, OUTPUT


@dataclass
class RunSummary:
    """One pipeline run, read from MLMD: what ran, what the gate said, what was pushed."""

    run_id: str
    started: float  # seconds since the epoch
    variants: list[str] = field(default_factory=list)  # BACKBONE+HEAD of the run's Trainers
    cached: list[str] = field(default_factory=list)  # node ids TFX reused from its cache
    accuracy: float | None = None
    top_k_accuracy: float | None = None
    example_count: int | None = None
    blessed: bool | None = None
    pushed_version: int | None = None
    pushed_to: str | None = None
    evaluation_uri: str | None = None
    model_uri: str | None = None  # the candidate the Evaluator scored
    categories: dict[str, str] = field(default_factory=dict)  # class -> category, from the run's gate config
    top_k: int | None = None  # the k of top_k_accuracy, from the run's gate config
    split_source: str = ""  # which split the run used, as VideoExampleGen recorded it
    eval_twin_fraction: float | None = None  # the leakage audit: share of eval videos with a near-duplicate in train


def metadata_store(config: PipelineConfig):
    """The MLMD store of `config`'s pipeline; a clear error when no run has made it yet."""
    import ml_metadata as mlmd

    config = config.absolute()
    if not Path(config.metadata_path).is_file():
        raise FileNotFoundError(f"{config.metadata_path}: no pipeline metadata yet (run `harflow demo` or `harflow run` first)")
    return mlmd.MetadataStore(metadata_config(config))


def list_runs(config: PipelineConfig) -> list[RunSummary]:
    """Every run of `config`'s pipeline in MLMD, oldest first."""
    store = metadata_store(config)
    runs = sorted(store.get_contexts_by_type("pipeline_run"), key=lambda c: c.create_time_since_epoch)
    return [_summarise(store, config.name, run) for run in runs]


def _summarise(store, pipeline_name: str, run) -> RunSummary:
    import json

    summary = RunSummary(run_id=run.name, started=run.create_time_since_epoch / 1000)
    executions = store.get_executions_by_context(run.id)
    node_of = {}
    for execution in executions:
        for context in store.get_contexts_by_execution(execution.id):
            if context.type == "node":
                node_of[execution.id] = context.name.removeprefix(f"{pipeline_name}.")
    events = store.get_events_by_execution_ids([e.id for e in executions])
    artifacts = {a.id: a for a in store.get_artifacts_by_id(list({e.artifact_id for e in events}))}
    inputs, outputs = {}, {}
    for event in events:
        key = event.path.steps[0].key if event.path.steps else ""
        side = inputs if event.type in _INPUT_EVENTS else outputs if event.type in _OUTPUT_EVENTS else None
        if side is not None:
            side[(node_of.get(event.execution_id), key)] = artifacts[event.artifact_id]
    for execution in executions:
        node = node_of.get(execution.id, "")
        if variant := variant_of(node):
            summary.variants.append(variant)
        if execution.last_known_state == 5:  # Execution.CACHED
            summary.cached.append(node)
        if node == "Pusher" and "custom_config" in execution.custom_properties:
            custom = json.loads(execution.custom_properties["custom_config"].string_value or "{}")
            gate = json.loads(custom.get("harflow_gate", "{}"))
            summary.categories, summary.top_k = gate.get("categories", {}), gate.get("top_k")
    evaluation = outputs.get(("Evaluator", "evaluation"))
    if evaluation is not None and Path(evaluation.uri).is_dir():
        summary.evaluation_uri = evaluation.uri
        metrics = read_metrics(evaluation.uri)
        summary.accuracy = metrics.get(ACCURACY_METRIC)
        summary.top_k_accuracy = metrics.get(TOP_K_METRIC)
        count = metrics.get("example_count")
        summary.example_count = None if count is None else int(count)
    examples = outputs.get(("VideoExampleGen", "examples")) or inputs.get(("Evaluator", "examples"))
    if examples is not None:
        properties = examples.custom_properties
        if SPLIT_SOURCE_PROPERTY in properties:
            summary.split_source = properties[SPLIT_SOURCE_PROPERTY].string_value
        if LEAK_PROPERTY in properties:
            summary.eval_twin_fraction = properties[LEAK_PROPERTY].double_value
    model = inputs.get(("Evaluator", "model"))
    summary.model_uri = model.uri if model is not None else None
    blessed = _custom_int(outputs.get(("Evaluator", "blessing")), "blessed")
    summary.blessed = None if blessed is None else bool(blessed)
    pushed = outputs.get(("Pusher", "pushed_model"))
    if _custom_int(pushed, "pushed"):
        summary.pushed_version = int(pushed.custom_properties["pushed_version"].string_value)
        summary.pushed_to = pushed.custom_properties["pushed_destination"].string_value
    return summary


def read_metrics(uri: str) -> dict[str, float]:
    """TFMA's overall (unsliced) metrics: name -> value."""
    import tensorflow_model_analysis as tfma

    for metrics in tfma.load_metrics(uri):
        if not metrics.slice_key.single_slice_keys:
            return {
                item.key.name: item.value.double_value.value
                for item in metrics.metric_keys_and_values
                if not item.key.HasField("sub_key") and not item.key.is_diff and item.key.model_name != BASELINE
            }
    return {}


def read_confusion_matrix(uri: str, num_classes: int):
    """TFMA's MultiClassConfusionMatrixPlot (overall slice) -> counts [actual, predicted] as int64."""
    import numpy as np
    import tensorflow_model_analysis as tfma

    matrix = np.zeros((num_classes, num_classes), dtype=np.int64)
    for plots in tfma.load_plots(uri):
        if plots.slice_key.single_slice_keys:
            continue
        for item in plots.plot_keys_and_values:
            if item.key.model_name == BASELINE:
                continue
            at_thresholds = item.value.multi_class_confusion_matrix_at_thresholds
            for entry in at_thresholds.matrices[0].entries if at_thresholds.matrices else []:
                if entry.actual_class_id < num_classes and 0 <= entry.predicted_class_id < num_classes:
                    matrix[entry.actual_class_id, entry.predicted_class_id] += round(entry.num_weighted_examples)
    return matrix

"""The one function that builds harflow's TFX pipeline (local runs and Kubeflow alike).

    VideoExampleGen ──> Trainer per variant ──> ModelComparison ──> Evaluator (TFMA) ──> Pusher
                                              (the best variant)     ^
                                        Resolver (latest blessed model) ┘ baseline

The Evaluator blesses the candidate only if its accuracy on the eval split
clears the floor and does not fall below the last blessed model's; the
Pusher copies only a blessed model into the TF Serving base path.

Each component gets only its own settings (TFX caches an execution by its
inputs and parameters, so a setting given to a component that does not use it
would re-run that component whenever it changes): VideoExampleGen the ingest
settings that shape its examples, each Trainer a TrainerConfig (its variant,
the examples' shape, its resume folder), ModelComparison the CompareConfig and
the variants' order, the Evaluator the gate (eval_config), the Pusher the
serving base path and how many versions to keep. Beam's options (workers,
runner) are execution-only: local runs hand them over at run time
(pipeline/runner.py) instead of writing them into the components' specs.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from harflow.config import GateConfig, IngestConfig, PipelineConfig, TrainConfig, TrainerConfig, join_path

TRAINER_RUN_FN = "harflow.trainer.task.run_fn"
TRAINER_ID_PREFIX = "trainer_"


def dataset_fingerprint(root: str) -> str:
    """A digest of the dataset's file listing (names, sizes, times) and split files.

    TFX caches a component by its inputs and parameters; this parameter makes a
    changed dataset a different input. Empty where the root is not local.
    """
    path = Path(root)
    if not path.is_dir():
        return ""
    digest = hashlib.sha256()
    for directory, subdirs, files in os.walk(path):
        subdirs.sort()
        for name in sorted(files):
            stat = os.stat(os.path.join(directory, name))
            digest.update(f"{os.path.relpath(os.path.join(directory, name), path)}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:16]


def eval_config(gate: GateConfig):
    """TFMA on the eval split: what is measured, how it is sliced, and the blessing rule.

    Metrics: accuracy (the gate), top-k accuracy, example count and the
    multi-class confusion matrix (a plot; per-class precision and recall and
    per-category accuracy are read from it by pipeline.run). Slices: overall and
    by class (`label_name`; per-class accuracy is per-class recall). Blessing:
    overall accuracy >= the floor and >= the baseline's minus `max_accuracy_drop`.
    """
    import tensorflow_model_analysis as tfma
    from tensorflow_model_analysis.proto import config_pb2

    from harflow import artifacts, features

    # The rule holds on the whole eval split (the unsliced slice); a bare `threshold`
    # would apply to every slice, i.e. demand the floor of each class too.
    rule = tfma.MetricThreshold(
        value_threshold=tfma.GenericValueThreshold(lower_bound={"value": gate.min_accuracy}),
        change_threshold=tfma.GenericChangeThreshold(
            direction=tfma.MetricDirection.HIGHER_IS_BETTER,
            absolute={"value": -gate.max_accuracy_drop - 1e-10},
        ),
    )
    accuracy = tfma.MetricConfig(
        class_name="SparseCategoricalAccuracy",
        per_slice_thresholds=[config_pb2.PerSliceMetricThreshold(slicing_specs=[tfma.SlicingSpec()], threshold=rule)],
    )
    top_k = tfma.MetricConfig(class_name="SparseTopKCategoricalAccuracy", config=f'{{"k": {gate.top_k}}}')
    return tfma.EvalConfig(
        model_specs=[
            tfma.ModelSpec(signature_name=artifacts.EXAMPLES_SIGNATURE, label_key=features.LABEL, prediction_key=artifacts.PROBABILITIES_OUTPUT)
        ],
        slicing_specs=[tfma.SlicingSpec(), tfma.SlicingSpec(feature_keys=["label_name"])],
        metrics_specs=[
            tfma.MetricsSpec(
                metrics=[
                    accuracy,
                    top_k,
                    tfma.MetricConfig(class_name="ExampleCount"),
                    tfma.MetricConfig(class_name="MultiClassConfusionMatrixPlot"),
                ]
            )
        ],
    )


def create_pipeline(config: PipelineConfig, metadata_connection_config=None, runtime_parameters=None, beam_args_in_spec=True):
    """Build the TFX pipeline for `config` (paths should be absolute: see PipelineConfig.absolute).

    `runtime_parameters` (Kubeflow, kubeflow/compile.py): TFX RuntimeParameters by name
    (dataset_root, dataset, split, serving_base) that replace those settings at run time.
    `beam_args_in_spec=False`: config.beam_args are left out of the components' specs (and so out
    of TFX's cache key); the runner must then hand them over (pipeline/runner.py, as run_locally does).
    """
    from tfx import v1 as tfx

    runtime = dict(runtime_parameters or {})
    ingest, examples = ingest_components(config, runtime)
    training, model = training_components(config, examples)
    gate = gate_and_push_components(config, examples, model, runtime)
    return tfx.dsl.Pipeline(
        pipeline_name=config.name,
        pipeline_root=config.pipeline_root,
        components=[*ingest, *training, *gate],
        enable_cache=config.enable_cache,
        metadata_connection_config=metadata_connection_config,
        beam_pipeline_args=list(config.beam_args) if beam_args_in_spec else [],
    )


def ingest_components(config: PipelineConfig, runtime: dict | None = None):
    """Videos -> TFRecord frame sequences. Returns (components, the Examples channel)."""
    from harflow.components.video_example_gen.component import VideoExampleGen

    example_gen = VideoExampleGen(
        ingest_config_json=example_gen_settings(config.ingest),
        dataset_fingerprint=dataset_fingerprint(config.ingest.dataset_root),
        overrides={name: value for name, value in (runtime or {}).items() if name in ("dataset_root", "dataset", "split")},
    )
    if config.ingest_beam_args:  # after the pipeline's Beam options, so these win for ingestion
        example_gen.with_beam_pipeline_args(list(config.ingest_beam_args))
    examples = example_gen.outputs["examples"]
    if not config.ingest.tfdv_statistics:
        return [example_gen], examples
    return [example_gen, *tfdv_components(examples)], examples


def example_gen_settings(ingest: IngestConfig) -> str:
    """VideoExampleGen's ingest_config: IngestConfig as JSON without tfdv_statistics (it adds components, not examples)."""
    import dataclasses
    import json

    fields = dataclasses.asdict(ingest)
    del fields["tfdv_statistics"]
    return json.dumps(fields, sort_keys=True)


def trainer_settings(config: PipelineConfig, train: TrainConfig) -> str:
    """One Trainer's custom_config["harflow"]: a TrainerConfig as JSON (trainer/task.py reads it)."""
    return TrainerConfig(train=train, ingest=config.ingest, resume_root=join_path(config.work_dir, "resume", config.name)).to_json()


def tfdv_components(examples):
    """StatisticsGen (small features only) -> SchemaGen -> ExampleValidator, for TFDV's views of the data."""
    import tensorflow_data_validation as tfdv
    from tfx import v1 as tfx

    from harflow import features

    # the JPEG frames are left out: TFDV would summarise megabytes of bytes to say nothing useful
    statistics_gen = tfx.components.StatisticsGen(
        examples=examples, stats_options=tfdv.StatsOptions(feature_allowlist=list(features.SMALL_FEATURES))
    )
    schema_gen = tfx.components.SchemaGen(statistics=statistics_gen.outputs["statistics"], infer_feature_shape=False)
    validator = tfx.components.ExampleValidator(
        statistics=statistics_gen.outputs["statistics"], schema=schema_gen.outputs["schema"]
    )
    return [statistics_gen, schema_gen, validator]


def training_components(config: PipelineConfig, examples):
    """Examples -> one Trainer per variant -> ModelComparison. Returns (components, the candidate Model channel).

    Each variant (config.train.variants, or the one backbone+head) gets its own
    TFX Trainer, `trainer_<backbone>_<head>`, whose custom_config is that
    variant's TrainerConfig (trainer_settings). ModelComparison scores them all on the
    eval split, writes the comparison table and plots, and outputs the best
    variant's model: the candidate (docs/comparison.md).
    """
    from tfx import v1 as tfx

    from harflow.components.model_comparison.component import ModelComparison

    trainers = []
    variants = config.train.variant_configs()
    for train in variants:
        trainers.append(
            tfx.components.Trainer(
                run_fn=TRAINER_RUN_FN,
                examples=examples,
                train_args=tfx.proto.TrainArgs(splits=["train"]),
                eval_args=tfx.proto.EvalArgs(splits=["val"]),
                custom_config={"harflow": trainer_settings(config, train)},
            ).with_id(trainer_id(train.variant))
        )
    comparison = ModelComparison(
        examples=examples,
        models=[trainer.outputs["model"] for trainer in trainers],
        compare_config_json=_json(config.compare),
        variant_order=[train.variant for train in variants],
    ).with_id("model_comparison")
    return [*trainers, comparison], comparison.outputs["model"]


def trainer_id(variant: str) -> str:
    """"mobilenet_v2+gru" -> "trainer_mobilenet_v2_gru": the Trainer's node id in TFX and MLMD."""
    return TRAINER_ID_PREFIX + variant.replace("+", "_")


def variant_of(node_id: str) -> str | None:
    """A Trainer's node id -> its variant ("trainer_mobilenet_v2_gru" -> "mobilenet_v2+gru"); None for other nodes.

    Head names have no underscore, so the last one separates backbone and head.
    """
    if not node_id.startswith(TRAINER_ID_PREFIX):
        return None
    backbone, _, head = node_id.removeprefix(TRAINER_ID_PREFIX).rpartition("_")
    return f"{backbone}+{head}"


def gate_and_push_components(config: PipelineConfig, examples, model, runtime: dict | None = None):
    """The candidate `model` is pushed only if the Evaluator blesses it against the latest blessed model.

    `model` is one Model channel (one trainer's, or the pick of several). The
    Pusher writes the next integer version of the serving base path atomically
    and keeps the newest `gate.keep_versions` (components/pusher).
    """
    from tfx import v1 as tfx

    from harflow.components.pusher.component import VersionedPusher

    baseline = tfx.dsl.Resolver(
        strategy_class=tfx.dsl.experimental.LatestBlessedModelStrategy,
        model=tfx.dsl.Channel(type=tfx.types.standard_artifacts.Model),
        model_blessing=tfx.dsl.Channel(type=tfx.types.standard_artifacts.ModelBlessing),
    ).with_id("latest_blessed_model")
    evaluator = tfx.components.Evaluator(
        examples=examples,
        example_splits=["eval"],
        model=model,
        baseline_model=baseline.outputs["model"],
        eval_config=eval_config(config.gate),
    )
    pusher = VersionedPusher(
        model=model,
        model_blessing=evaluator.outputs["blessing"],
        base_directory=config.serving_base,
        keep_versions=config.gate.keep_versions,
        gate_json=_json(config.gate),
        serving_base=(runtime or {}).get("serving_base"),
    ).with_id("Pusher")
    return [baseline, evaluator, pusher]


def _json(section) -> str:
    import dataclasses
    import json

    return json.dumps(dataclasses.asdict(section), sort_keys=True)

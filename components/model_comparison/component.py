"""ModelComparison: the Trainers' models in; the comparison and the best variant's model out.

    trainer_small_gru ─┐
    trainer_small_lstm ┼─ models (one channel, the union of the Trainers' outputs) ─> ModelComparison
    trainer_...       ─┘                                                   ├─> comparison (ModelComparison artifact)
    VideoExampleGen ── examples (the eval split) ─────────────────────────┘└─> model: the best variant = the candidate

TFX fixes a component's input keys in its spec, so the variable number of
Trainers arrives as one `models` channel: the union of their `model`
outputs (tfx.types.channel.union). Each Model artifact says which variant it
is (harflow_training.json, written by trainer.task), so nothing depends on
the order of the union.
"""

from __future__ import annotations

from tfx.dsl.components.base import base_component, executor_spec
from tfx.types import artifact, channel, standard_artifacts
from tfx.types.component_spec import ChannelParameter, ComponentSpec, ExecutionParameter

from components.model_comparison import executor


class ModelComparisonArtifact(artifact.Artifact):
    """A folder: comparison.md, comparison.csv, comparison.json, curves.png, confusion_<variant>.png."""

    TYPE_NAME = "harflow.ModelComparison"  # KFP needs a custom type as namespace.Name (kubeflow/compile.py)


class ModelComparisonSpec(ComponentSpec):
    PARAMETERS = {
        # harflow.config.PipelineConfig as JSON (the compare section: categories, direction pairs)
        "harflow_config": ExecutionParameter(type=str),
    }
    INPUTS = {
        "examples": ChannelParameter(type=standard_artifacts.Examples),
        "models": ChannelParameter(type=standard_artifacts.Model),
    }
    OUTPUTS = {
        "comparison": ChannelParameter(type=ModelComparisonArtifact),
        "model": ChannelParameter(type=standard_artifacts.Model),
    }


class ModelComparison(base_component.BaseComponent):
    SPEC_CLASS = ModelComparisonSpec
    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(executor.Executor)

    def __init__(self, examples, models: list, harflow_config_json: str):
        models_channel = models[0] if len(models) == 1 else channel.union(models)
        super().__init__(
            spec=ModelComparisonSpec(
                harflow_config=harflow_config_json,
                examples=examples,
                models=models_channel,
                comparison=channel.Channel(type=ModelComparisonArtifact),
                model=channel.Channel(type=standard_artifacts.Model),
            )
        )

"""ModelComparison: the Trainers' models in; the comparison and the best variant's model out.

    trainer_small_gru ─ model_0 ─┐
    trainer_small_lstm ─ model_1 ┼─> ModelComparison ─┬─> comparison (ModelComparison artifact)
    trainer_...        ─ model_2 ┘        ^           └─> model: the best variant = the candidate
    VideoExampleGen ── examples (the eval split)

TFX fixes a component's input keys in its spec, so the spec has MAX_VARIANTS
optional keys, `model_0` ... `model_<MAX_VARIANTS - 1>`, and each Trainer's
model takes one. (A union of the Trainers' channels would need no fixed
maximum, but TFX's KubeflowV2DagRunner cannot compile a union.) Each Model
artifact says which variant it is (harflow_training.json, written by
trainer.task), so nothing depends on which key a model arrives on.
"""

from __future__ import annotations

import json

from tfx.dsl.components.base import base_component, executor_spec
from tfx.types import artifact, channel, standard_artifacts
from tfx.types.component_spec import ChannelParameter, ComponentSpec, ExecutionParameter

from harflow.components.model_comparison import executor


MAX_VARIANTS = 16  # how many Trainers' models one ModelComparison takes


def model_key(index: int) -> str:
    return f"model_{index}"


class ModelComparisonArtifact(artifact.Artifact):
    """A folder: comparison.md, comparison.csv, comparison.json, curves.png, confusion_<variant>.png."""

    TYPE_NAME = "harflow.ModelComparison"  # KFP needs a custom type as namespace.Name (kubeflow/compile.py)


class ModelComparisonSpec(ComponentSpec):
    PARAMETERS = {
        # harflow.config.CompareConfig as JSON (categories, direction pairs): only its own settings,
        # so that TFX's cache reuses the comparison when the gate, the push or Beam's options change
        "compare_config": ExecutionParameter(type=str),
        # the variants in the order of --variants (JSON list): the comparison's row order
        "variant_order": ExecutionParameter(type=str),
    }
    INPUTS = {
        "examples": ChannelParameter(type=standard_artifacts.Examples),
        **{model_key(index): ChannelParameter(type=standard_artifacts.Model, optional=True) for index in range(MAX_VARIANTS)},
    }
    OUTPUTS = {
        "comparison": ChannelParameter(type=ModelComparisonArtifact),
        "model": ChannelParameter(type=standard_artifacts.Model),
    }


class ModelComparison(base_component.BaseComponent):
    SPEC_CLASS = ModelComparisonSpec
    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(executor.Executor)

    def __init__(self, examples, models: list, compare_config_json: str, variant_order: list[str] = ()):
        if not 1 <= len(models) <= MAX_VARIANTS:
            raise ValueError(f"{len(models)} variants: one run compares 1 to {MAX_VARIANTS} (--variants); split the list over several runs")
        super().__init__(
            spec=ModelComparisonSpec(
                compare_config=compare_config_json,
                variant_order=json.dumps(list(variant_order)),
                examples=examples,
                **{model_key(index): model for index, model in enumerate(models)},
                comparison=channel.Channel(type=ModelComparisonArtifact),
                model=channel.Channel(type=standard_artifacts.Model),
            )
        )

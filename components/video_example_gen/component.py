"""VideoExampleGen: a dataset folder of videos in, an Examples artifact of frame sequences out.

Like TFX's own ExampleGens it writes gzipped TFRecords of `tf.train.Example`
into `Split-<name>/` folders of its `examples` output (splits: train, val,
eval), so StatisticsGen, Trainer and Evaluator read it as they read any
ExampleGen's output. The executor runs on Apache Beam.
"""

from __future__ import annotations

from tfx.dsl.components.base import base_beam_component, executor_spec
from tfx.types import channel, standard_artifacts
from tfx.types.component_spec import ChannelParameter, ComponentSpec, ExecutionParameter

from harflow.components.video_example_gen import executor


class VideoExampleGenSpec(ComponentSpec):
    PARAMETERS = {
        # harflow.config.IngestConfig as JSON: dataset root, layout, split, frames, size, quality
        "ingest_config": ExecutionParameter(type=str),
        # a digest of the dataset's listing, so TFX's cache notices changed data
        "dataset_fingerprint": ExecutionParameter(type=str),
        # optional overrides of ingest_config's dataset_root, dataset and split: a Kubeflow run's
        # runtime parameters (kubeflow/compile.py); unset in local runs
        "dataset_root": ExecutionParameter(type=str, optional=True),
        "dataset": ExecutionParameter(type=str, optional=True),
        "split": ExecutionParameter(type=int, optional=True),
    }
    INPUTS = {}
    OUTPUTS = {"examples": ChannelParameter(type=standard_artifacts.Examples)}


class VideoExampleGen(base_beam_component.BaseBeamComponent):
    SPEC_CLASS = VideoExampleGenSpec
    EXECUTOR_SPEC = executor_spec.BeamExecutorSpec(executor.Executor)

    def __init__(self, ingest_config_json: str, dataset_fingerprint: str = "", overrides: dict | None = None):
        """`overrides`: values (or TFX RuntimeParameters) for dataset_root, dataset and split."""
        super().__init__(
            spec=VideoExampleGenSpec(
                ingest_config=ingest_config_json,
                dataset_fingerprint=dataset_fingerprint,
                **(overrides or {}),
                examples=channel.Channel(type=standard_artifacts.Examples),
            )
        )

"""The Pusher's component: TFX's Pusher spec plus a runtime base path, run by executor.VersionedPushExecutor."""

from __future__ import annotations

from tfx.components.pusher import component as pusher_component
from tfx.dsl.components.base import base_component, executor_spec
from tfx.proto import pusher_pb2
from tfx.types import channel, standard_artifacts, standard_component_specs
from tfx.types.component_spec import ExecutionParameter
from tfx.utils import json_utils

from harflow.components.pusher.executor import GATE_KEY, KEEP_VERSIONS_KEY, SERVING_BASE_KEY, VersionedPushExecutor


class VersionedPusherSpec(standard_component_specs.PusherSpec):
    """TFX's PusherSpec plus an optional `serving_base` that replaces push_destination's base path."""

    PARAMETERS = {
        **standard_component_specs.PusherSpec.PARAMETERS,
        SERVING_BASE_KEY: ExecutionParameter(type=str, optional=True),
    }


class VersionedPusher(pusher_component.Pusher):
    """TFX's Pusher (same inputs, outputs and blessing rule) with VersionedPushExecutor."""

    SPEC_CLASS = VersionedPusherSpec
    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(VersionedPushExecutor)

    def __init__(
        self, model, model_blessing, base_directory: str, keep_versions: int, gate_json: str = "{}", serving_base=None
    ):
        """`serving_base`: None, or a TFX RuntimeParameter that names the base path at run time (Kubeflow)."""
        spec = VersionedPusherSpec(
            model=model,
            model_blessing=model_blessing,
            push_destination=pusher_pb2.PushDestination(
                filesystem=pusher_pb2.PushDestination.Filesystem(base_directory=base_directory)
            ),
            custom_config=json_utils.dumps({KEEP_VERSIONS_KEY: keep_versions, GATE_KEY: gate_json}),
            serving_base=serving_base,
            pushed_model=channel.Channel(type=standard_artifacts.PushedModel),
        )
        # TFX's Pusher.__init__ builds a plain PusherSpec; the base class takes ours as it is
        base_component.BaseComponent.__init__(self, spec=spec)

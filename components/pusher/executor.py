"""The Pusher's executor: a blessed model becomes the next integer version of a TF Serving base path.

Copied into a hidden folder of the base path and made a numbered version whole
(serving.versions: one atomic rename on a file system, saved_model.pb copied
last on gs:// or s3://), then the complete versions outside the newest
`keep_versions` removed once their successor is `prune_grace_s` old (staging
folders of dead pushes go first); the push is recorded on the PushedModel artifact as TFX does.
"""

from __future__ import annotations

import json
from typing import Any

from tfx import types
from tfx.components.pusher import executor as pusher_executor
from tfx.proto import pusher_pb2
from tfx.types import artifact_utils, standard_component_specs
from tfx.utils import io_utils, proto_utils

from harflow.config import GateConfig
from harflow.serving import versions

KEEP_VERSIONS_KEY = "keep_versions"  # in the component's custom_config
GATE_KEY = "harflow_gate"  # the run's GateConfig as JSON, kept in MLMD for `harflow runs show`
SERVING_BASE_KEY = "serving_base"  # optional: replaces push_destination's base path (a Kubeflow runtime parameter)


class VersionedPushExecutor(pusher_executor.Executor):
    """Pushes a blessed model as the next integer version of a base path (a folder, gs:// or s3://)."""

    def Do(
        self,
        input_dict: dict[str, list[types.Artifact]],
        output_dict: dict[str, list[types.Artifact]],
        exec_properties: dict[str, Any],
    ) -> None:
        self._log_startup(input_dict, output_dict, exec_properties)
        pushed_model = artifact_utils.get_single_instance(output_dict[standard_component_specs.PUSHED_MODEL_KEY])
        if not self.CheckBlessing(input_dict):
            self._MarkNotPushed(pushed_model)
            return
        destination = pusher_pb2.PushDestination()
        proto_utils.json_to_proto(exec_properties[standard_component_specs.PUSH_DESTINATION_KEY], destination)
        if destination.WhichOneof("destination") != "filesystem":
            raise ValueError("harflow's Pusher pushes to a filesystem base path only (a folder, gs:// or s3://)")
        base = exec_properties.get(SERVING_BASE_KEY) or destination.filesystem.base_directory
        custom = json.loads(exec_properties.get(standard_component_specs.CUSTOM_CONFIG_KEY) or "null") or {}
        keep = int(custom.get(KEEP_VERSIONS_KEY, GateConfig().keep_versions))
        gate = json.loads(custom.get(GATE_KEY) or "{}")
        grace_s = float(gate.get("prune_grace_s", GateConfig().prune_grace_s))

        model_path = self.GetModelPath(input_dict)
        version, target = versions.publish_version(model_path, base)
        removed = versions.prune_versions(base, keep, grace_s)
        print(f"pushed {model_path} as version {version} of {base}; removed old versions {removed}", flush=True)
        io_utils.copy_dir(model_path, pushed_model.uri)  # TFX keeps a copy with the artifact, too
        self._MarkPushed(pushed_model, pushed_destination=str(target), pushed_version=str(version))

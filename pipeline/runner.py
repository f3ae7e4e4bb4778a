"""TFX's BeamDagRunner with the Beam options handed to components at run time, outside TFX's cache key.

TFX caches an execution under a digest of its node, inputs, parameters and
executor spec; the Beam options set on a pipeline (`beam_pipeline_args`) are
written into every Beam component's executor spec, so `--direct_num_workers=2`
instead of 1 would re-run VideoExampleGen although it writes the same
examples. `beam_dag_runner(beam_args)` leaves the options out of the spec and
gives them to each Beam component's executor when it starts, before the
component's own options (`with_beam_pipeline_args`, which still win).

Uses two hooks of TFX's portable orchestration: BeamDagRunner's
`_PIPELINE_NODE_DO_FN_CLS` (the DoFn that launches a node) and the Launcher's
`custom_executor_operators`. A Kubeflow run keeps its options in the spec
(kubeflow/compile.py): there each step is its own container.
"""

from __future__ import annotations

import functools

from tfx.orchestration import metadata
from tfx.orchestration.beam import beam_dag_runner as tfx_beam
from tfx.orchestration.portable import beam_executor_operator, launcher, partial_run_utils
from tfx.proto.orchestration import executable_spec_pb2, placeholder_pb2


class RunTimeBeamArgsOperator(beam_executor_operator.BeamExecutorOperator):
    """TFX's Beam executor operator, with `beam_args` put before the options from the executor spec."""

    def __init__(self, executor_spec, platform_config=None, beam_args: tuple[str, ...] = ()):
        super().__init__(executor_spec, platform_config)
        self.beam_pipeline_args[:0] = [_constant(arg) for arg in beam_args]


def _constant(text: str) -> placeholder_pb2.PlaceholderExpression:
    """A Beam option as the placeholder expression TFX resolves (a plain string value)."""
    expression = placeholder_pb2.PlaceholderExpression()
    expression.value.string_value = text
    return expression


class NodeWithRunTimeBeamArgs(tfx_beam.PipelineNodeAsDoFn):
    """BeamDagRunner's node launcher, whose Beam components get `beam_args` from RunTimeBeamArgsOperator."""

    def __init__(self, *, beam_args: tuple[str, ...] = (), **node):
        super().__init__(**node)
        self._beam_args = tuple(beam_args)

    def _run_node(self) -> None:  # TFX's PipelineNodeAsDoFn._run_node plus custom_executor_operators
        platform_config = self._extract_platform_config(self._deployment_config, self._node_id)
        if self._pipeline_node.execution_options.run.perform_snapshot:
            with metadata.Metadata(self._mlmd_connection_config) as mlmd_handle:
                partial_run_utils.snapshot(mlmd_handle, self._pipeline)
        operator = functools.partial(RunTimeBeamArgsOperator, beam_args=self._beam_args)
        launcher.Launcher(
            pipeline_node=self._pipeline_node,
            mlmd_connection=metadata.Metadata(self._mlmd_connection_config),
            pipeline_info=self._pipeline_info,
            pipeline_runtime_spec=self._pipeline_runtime_spec,
            executor_spec=self._executor_spec,
            platform_config=platform_config,
            custom_driver_spec=self._custom_driver_spec,
            custom_executor_operators={executable_spec_pb2.BeamExecutableSpec: operator},
        ).launch()


def beam_dag_runner(beam_args: tuple[str, ...]) -> tfx_beam.BeamDagRunner:
    """A BeamDagRunner whose Beam components run with `beam_args` (not part of their cache key)."""
    runner = tfx_beam.BeamDagRunner()
    # an instance attribute: BeamDagRunner calls self._PIPELINE_NODE_DO_FN_CLS(**node) for each node
    runner._PIPELINE_NODE_DO_FN_CLS = functools.partial(NodeWithRunTimeBeamArgs, beam_args=tuple(beam_args))
    return runner

"""TFX's cache: a change to the gate or to Beam's workers re-runs only what it affects.

Two runs of the real pipeline (BeamDagRunner, MLMD in SQLite) on one tiny
synthetic dataset and one metadata store. The second run changes the gate's
floor (`min_accuracy`) and Beam's worker count, and nothing else. MLMD must
then say that VideoExampleGen, the Trainer and ModelComparison of the second
run were CACHED (their inputs and settings did not change) and that the
Evaluator ran again (a new, COMPLETE execution: its gate changed).
"""

import dataclasses

import pytest

from harflow.config import GateConfig, IngestConfig, PipelineConfig, TrainConfig
from harflow.datasets.synth import SynthConfig, generate

COMPLETE, CACHED = 3, 5  # ml_metadata's Execution.State


def node_states(config: PipelineConfig, run_index: int) -> dict[str, tuple[int, int]]:
    """The run's executions from MLMD: node id -> (execution id, state)."""
    from harflow.pipeline.run import metadata_store

    store = metadata_store(config)
    runs = sorted(store.get_contexts_by_type("pipeline_run"), key=lambda c: c.create_time_since_epoch)
    states = {}
    for execution in store.get_executions_by_context(runs[run_index].id):
        for context in store.get_contexts_by_execution(execution.id):
            if context.type == "node":
                states[context.name.removeprefix(f"{config.name}.")] = (execution.id, execution.last_known_state)
    return states


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    """Run 1, then run 2 with another min_accuracy and Beam worker count; the states of both runs' nodes."""
    from harflow.pipeline.run import run_locally

    work = tmp_path_factory.mktemp("cache")
    data = work / "data"
    generate(data, SynthConfig(clips_per_class_train=3, clips_per_class_test=1, frames=8, size=32, seed=1))
    first = PipelineConfig(
        name="cache",
        work_dir=str(work),
        beam_args=("--direct_num_workers=1", "--direct_running_mode=in_memory"),
        ingest=IngestConfig(dataset_root=str(data), num_frames=2, image_size=16, val_fraction=0.34),
        train=TrainConfig(epochs=1, batch_size=8),
        gate=GateConfig(min_accuracy=0.0),
    )
    second = dataclasses.replace(
        first,
        beam_args=("--direct_num_workers=2", "--direct_running_mode=in_memory"),
        gate=GateConfig(min_accuracy=0.01),
    )
    run_locally(first)
    run_locally(second)
    config = first.absolute()
    return node_states(config, 0), node_states(config, 1)


def test_the_first_run_executes_every_node(two_runs):
    first, _ = two_runs
    for node in ("VideoExampleGen", "trainer_small_gru", "model_comparison", "Evaluator", "Pusher"):
        assert first[node][1] == COMPLETE, (node, first[node])


@pytest.mark.parametrize("node", ["VideoExampleGen", "trainer_small_gru", "model_comparison"])
def test_a_new_gate_and_worker_count_reuse_ingestion_training_and_comparison(two_runs, node):
    _, second = two_runs
    assert second[node][1] == CACHED, f"{node} ran again: its inputs include a setting it does not use"


def test_a_new_gate_runs_the_evaluator_again(two_runs):
    first, second = two_runs
    execution, state = second["Evaluator"]
    assert state == COMPLETE and execution != first["Evaluator"][0]


def test_local_runs_keep_beams_options_out_of_the_components_specs(tmp_path):
    from harflow.pipeline.pipeline import create_pipeline

    config = PipelineConfig(work_dir=str(tmp_path), beam_args=("--direct_num_workers=3",)).absolute()
    kept_out = {c.id: c.executor_spec.beam_pipeline_args for c in create_pipeline(config, beam_args_in_spec=False).components
                if hasattr(c.executor_spec, "beam_pipeline_args")}
    written = {c.id: c.executor_spec.beam_pipeline_args for c in create_pipeline(config).components
               if hasattr(c.executor_spec, "beam_pipeline_args")}
    assert set(kept_out) >= {"VideoExampleGen", "Evaluator"}
    assert all(args == [] for args in kept_out.values())
    assert all("--direct_num_workers=3" in args for args in written.values())


def test_run_time_beam_options_come_before_a_components_own():
    from tfx.proto.orchestration import executable_spec_pb2

    from harflow.pipeline.runner import RunTimeBeamArgsOperator

    spec = executable_spec_pb2.BeamExecutableSpec()
    spec.python_executor_spec.class_path = "harflow.components.video_example_gen.executor.Executor"
    spec.beam_pipeline_args_placeholders.add().value.string_value = "--runner=DataflowRunner"
    operator = RunTimeBeamArgsOperator(spec, beam_args=("--direct_num_workers=2", "--direct_running_mode=in_memory"))
    given = [arg.value.string_value for arg in operator.beam_pipeline_args]
    assert given == ["--direct_num_workers=2", "--direct_running_mode=in_memory", "--runner=DataflowRunner"]

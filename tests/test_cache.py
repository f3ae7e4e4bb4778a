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
from harflow.synth import SynthConfig, generate

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

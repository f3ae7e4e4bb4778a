"""VideoExampleGen's Beam job across process boundaries: each runner's TFRecords equal the DirectRunner's, clip by clip.

Real engines on loopback, started and stopped here: Beam's portable runner (a local job service and an
external SDK worker pool, the architecture Flink and Dataflow run the job in), Beam's DaskRunner against a
dask.distributed cluster (a scheduler and 2 worker processes), and the DirectRunner with 2 worker
processes (harflow's default). The reference is the DirectRunner in one process. The dataset: tiny
generated clips, some broken files, 2 clips per eval video.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import apache_beam as beam
import pytest
import tensorflow as tf
from apache_beam.options.pipeline_options import PipelineOptions

from harflow import features
from harflow.datasets.folder import read_folder
from harflow.components.video_example_gen import beam_job, shards, statistics
from harflow.config import IngestConfig
from test_ingest import add_broken_files, good_dataset

START_TIMEOUT_S = 60  # a job service or worker pool that does not listen by then fails the test


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> tuple[list, IngestConfig]:
    root = tmp_path_factory.mktemp("data")
    good_dataset(root)
    add_broken_files(root)
    config = IngestConfig(dataset_root=str(root), dataset="folder", num_frames=4, image_size=16, eval_clips_per_video=2)
    return list(read_folder(root).clips), config


@pytest.fixture(scope="module")
def reference(dataset, tmp_path_factory) -> dict:
    """What the DirectRunner in one process writes."""
    clips, config = dataset
    return run(clips, config, tmp_path_factory.mktemp("direct"), ["--direct_running_mode=in_memory"])


def run(clips: list, config: IngestConfig, out: Path, options: list[str]) -> dict:
    """The job on `options`' runner: its examples {(clip id, clip index): bytes}, files, counts and Beam's counters."""
    result = beam_job.run_job(beam.Pipeline(options=PipelineOptions(options)), clips, config, str(out))
    counters = beam_job.beam_counters(result)
    shard_files = sorted(p.name for p in out.glob("Split-*/*.gz"))
    expected = {clip.clip_id: beam_job.segments_for(clip.split, config) for clip in clips}
    counts = beam_job.counts(*shards.gather(str(out), ("train", "val", "eval"), expected))
    return {
        "examples": examples(out),
        "rejects": (out / features.REJECTS_FILE).read_text(),
        "facts": (out / statistics.CLIPS_FILE).read_text(),
        "counts": counts,
        "beam_counters": counters,
        "shards": shard_files,
        "left": sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file() and p.suffix != ".gz"),
    }


def examples(out: Path) -> dict[tuple[str, str, int], bytes]:
    """{(split, clip id, clip index): serialized Example} over every split; fails on a clip written twice."""
    found = {}
    for split_dir in sorted(out.glob("Split-*")):
        for record in tf.data.TFRecordDataset(sorted(str(p) for p in split_dir.glob("*.gz")), compression_type="GZIP"):
            feature = tf.train.Example.FromString(record.numpy()).features.feature
            index = feature[features.CLIP_INDEX].int64_list.value[0] if features.CLIP_INDEX in feature else -1
            key = (split_dir.name, feature[features.CLIP_ID].bytes_list.value[0].decode(), index)
            assert key not in found, f"{key} written twice"
            found[key] = record.numpy()
    return found


def assert_same_output(found: dict, reference: dict) -> None:
    written = sum(n for name, n in reference["counts"].items() if name.startswith("written_"))
    assert len(reference["examples"]) == written > 20  # 20 readable clips, each eval video as 2
    assert set(found["examples"]) == set(reference["examples"])
    for key, example in reference["examples"].items():  # same labels, frames (JPEG bytes) and every other feature
        assert found["examples"][key] == example, key
    assert found["rejects"] == reference["rejects"] and len(reference["rejects"].splitlines()) == 5
    assert found["facts"] == reference["facts"]
    assert found["counts"] == reference["counts"]
    assert found["left"] == reference["left"] == sorted([features.REJECTS_FILE, statistics.CLIPS_FILE])


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("localhost", 0))
        return probe.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen, log: Path, name: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with {process.returncode}: {log.read_text()[-2000:]}")
        with socket.socket() as probe:
            if probe.connect_ex(("localhost", port)) == 0:
                return
        time.sleep(0.2)
    raise RuntimeError(f"{name} did not listen on port {port} within {START_TIMEOUT_S} s")


def stop(process: subprocess.Popen) -> None:
    """End the process and what it started (its own session: the worker pool's SDK workers)."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


@pytest.fixture
def beam_module(tmp_path):
    """Starts `python -m <module> <args>` in its own session, logging to a file; stopped (with its children) at teardown."""
    started = []

    def start(module: str, *args: str) -> tuple[subprocess.Popen, Path]:
        log = tmp_path / f"{module.rsplit('.', 1)[-1]}.log"
        with open(log, "wb") as sink:  # a file, not a pipe: a pipe nobody reads blocks a chatty process
            process = subprocess.Popen(
                [sys.executable, "-m", module, *args], stdout=sink, stderr=subprocess.STDOUT, start_new_session=True
            )
        started.append(process)
        return process, log

    yield start
    for process in started:
        stop(process)


def test_the_direct_runner_with_2_processes_writes_what_one_process_writes(dataset, reference, tmp_path):
    clips, config = dataset
    found = run(clips, config, tmp_path / "out", ["--direct_running_mode=multi_processing", "--direct_num_workers=2"])
    assert_same_output(found, reference)
    assert found["beam_counters"] == found["counts"] == reference["beam_counters"]


def test_this_host_name_resolves_as_beams_job_service_needs():
    """The job service hands its SDK workers `socket.getfqdn():port` to connect back to (Beam's
    ExternalWorkerHandler); harflow's root file system binds the host's /etc/hosts so that name resolves."""
    assert socket.gethostbyname(socket.getfqdn())


def test_the_portable_runner_with_an_external_worker_pool_writes_what_the_direct_runner_writes(
    dataset, reference, tmp_path, beam_module
):
    clips, config = dataset
    job_port, pool_port = free_port(), free_port()
    job_service = beam_module("apache_beam.runners.portability.local_job_service_main", "--port", str(job_port))
    worker_pool = beam_module("apache_beam.runners.worker.worker_pool_main", "--service_port", str(pool_port))
    wait_for_port(job_port, *job_service, "Beam's job service")
    wait_for_port(pool_port, *worker_pool, "Beam's worker pool")

    options = [
        "--runner=PortableRunner",
        f"--job_endpoint=localhost:{job_port}",
        "--environment_type=EXTERNAL",
        f"--environment_config=localhost:{pool_port}",
    ]
    found = run(clips, config, tmp_path / "out", options)

    assert_same_output(found, reference)
    assert found["beam_counters"] == found["counts"]  # Beam's metrics cross the process boundary too


def test_the_dask_runner_on_a_two_worker_cluster_writes_what_the_direct_runner_writes(dataset, reference, tmp_path):
    import distributed  # pyproject's test extra pins it

    clips, config = dataset
    with distributed.LocalCluster(
        n_workers=2, processes=True, threads_per_worker=1, dashboard_address="127.0.0.1:0", host="127.0.0.1"
    ) as cluster:
        options = [
            "--runner=apache_beam.runners.dask.dask_runner.DaskRunner",
            f"--dask_client_address={cluster.scheduler_address}",
            "--dask_npartitions=4",  # its default (128 clips a partition) would give one worker all of them
        ]
        found = run(clips, config, tmp_path / "out", options)

    assert_same_output(found, reference)
    assert found["beam_counters"] is None  # Beam's DaskRunner reports no metrics: the counts come from the files
    assert len(found["shards"]) > len(reference["shards"])  # several bundles wrote shards of one split

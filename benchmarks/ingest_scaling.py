"""Ingestion scaling: VideoExampleGen's Beam job with 1 and 2 workers, on the DirectRunner and on a Dask cluster.

    bin/harflow env run -- python benchmarks/ingest_scaling.py            # 1,000 clips of 2 s, 4 rounds
    bin/harflow env run -- python benchmarks/ingest_scaling.py --quick    # 40 clips, 1 round: checks the script

Clips: benchmarks/ingest.py's generated MJPG AVIs (320x240, 25 fps), cached. Each round runs, one after the
other, DirectRunner 1 worker (in_memory), DirectRunner 2 workers (multi_processing; starting the worker
processes is part of each run), Dask 1 worker, Dask 2 workers (Beam's DaskRunner against a dask.distributed
LocalCluster on loopback with 1 or 2 single-threaded worker processes, started once before the rounds and
warmed up by a small untimed job, as a long-lived cluster would be). So 1 and 2 workers alternate (A B A B)
and every pair shares the machine's load: the table gives each round's 2-worker / 1-worker ratio and their
median. For where the second core goes, each run also records the CPU seconds of harflow's own processes
(this one, its reaped children, the Dask workers) and of the whole machine (/proc/stat) per wall second.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.ingest import component, direct_options, generate  # noqa: E402
from benchmarks.report import markdown_table, write_section  # noqa: E402

NAME = "ingest-scaling"
PARTITIONS = 16  # Dask partitions (bundles) per job: enough for 2 workers to share, few enough to be cheap


def machine_busy_seconds() -> float:
    """CPU seconds every core of the machine has spent busy since boot (/proc/stat: all but idle and iowait)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    return (sum(fields) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")


def own_cpu_seconds(dask_pids: list[int]) -> float:
    """CPU seconds of this process, its reaped children (DirectRunner workers) and the living Dask workers."""
    import psutil  # comes with dask.distributed

    times = os.times()
    total = times.user + times.system + times.children_user + times.children_system
    for pid in dask_pids:
        cpu = psutil.Process(pid).cpu_times()
        total += cpu.user + cpu.system
    return total


def cluster(workers: int):
    from distributed import LocalCluster

    return LocalCluster(n_workers=workers, processes=True, threads_per_worker=1, dashboard_address="127.0.0.1:0", host="127.0.0.1")


def dask_options(address: str) -> list[str]:
    return [
        "--runner=apache_beam.runners.dask.dask_runner.DaskRunner",
        f"--dask_client_address={address}",
        f"--dask_npartitions={PARTITIONS}",
    ]


def worker_pids(dask_cluster) -> list[int]:
    from distributed import Client

    with Client(dask_cluster.scheduler_address) as client:
        return list(client.run(os.getpid).values())


def measure(run, dask_pids: list[int]) -> dict:
    own, busy, load = own_cpu_seconds(dask_pids), machine_busy_seconds(), os.getloadavg()[0]
    started = time.perf_counter()
    result = run()
    wall = time.perf_counter() - started
    return {
        "wall": wall,
        "own_cores": (own_cpu_seconds(dask_pids) - own) / wall,
        "machine_cores": (machine_busy_seconds() - busy) / wall,
        "load": load,
        "written": sum(v for k, v in result.items() if k.startswith("written_")),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=2.0, help="clip length (default: %(default)s)")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--quick", action="store_true", help="40 clips, 1 round: checks the script")
    args = parser.parse_args()
    if args.quick:
        args.clips, args.rounds = 40, 1

    from harflow.datasets.folder import read_folder
    from harflow.config import IngestConfig

    root = generate(args.clips, args.seconds, 320, 240)
    clips = list(read_folder(root).clips)
    config = IngestConfig(dataset_root=str(root), dataset="folder")
    load_before = os.getloadavg()
    runs: dict[tuple[str, int], list[dict]] = {}
    with cluster(1) as dask_one, cluster(2) as dask_two:
        pids = worker_pids(dask_one) + worker_pids(dask_two)
        variants = {
            ("DirectRunner", 1): lambda: component(clips, config, 1, direct_options(1)),
            ("DirectRunner", 2): lambda: component(clips, config, 2, direct_options(2)),
            ("DaskRunner", 1): lambda: component(clips, config, 1, dask_options(dask_one.scheduler_address)),
            ("DaskRunner", 2): lambda: component(clips, config, 2, dask_options(dask_two.scheduler_address)),
        }
        for dask_cluster in (dask_one, dask_two):  # workers import Beam, OpenCV and harflow once, untimed
            component(clips[:PARTITIONS], config, 1, dask_options(dask_cluster.scheduler_address))
        for round_number in range(args.rounds):
            for variant, run in variants.items():
                runs.setdefault(variant, []).append(measure(run, pids))
                last = runs[variant][-1]
                assert last["written"] == len(clips), last
                print(f"round {round_number + 1}/{args.rounds}: {variant}: {last['wall']:.1f} s, load {last['load']:.1f}", file=sys.stderr, flush=True)
    write_report(args, len(clips), runs, load_before)


def write_report(args, count: int, runs: dict, load_before: tuple) -> None:
    def median(variant, key):
        return statistics.median(run[key] for run in runs[variant])

    rows, ratio_rows = [], []
    for engine in ("DirectRunner", "DaskRunner"):
        for workers in (1, 2):
            variant = (engine, workers)
            rows.append(
                [engine, workers, f"{median(variant, 'wall'):.1f}", f"{count / median(variant, 'wall'):.1f}",
                 f"{median(variant, 'own_cores'):.2f}", f"{median(variant, 'machine_cores'):.2f}",
                 f"{min(r['load'] for r in runs[variant]):.1f}-{max(r['load'] for r in runs[variant]):.1f}"]
            )
        pairs = [one["wall"] / two["wall"] for one, two in zip(runs[(engine, 1)], runs[(engine, 2)])]
        ratio_rows.append([engine, ", ".join(f"{r:.2f}" for r in pairs), f"{statistics.median(pairs):.2f}", ">= 1.6"])
    loads = [run["load"] for variant in runs.values() for run in variant]
    busy = max(load_before[0], statistics.median(loads) - 2) > 0.5 * (os.cpu_count() or 1)
    body = (
        f"{count} generated clips of {args.seconds:g} s, 320x240 MJPG AVI; each becomes 8 frames of 64x64 JPEG. "
        f"Wall-clock for the whole set, median of {args.rounds} round(s); 1 and 2 workers alternate within each round "
        f"(A B A B). DaskRunner: a LocalCluster of single-threaded worker processes, {PARTITIONS} partitions per job. "
        "`own cores`: CPU seconds of harflow's processes (the driver, the DirectRunner's workers, the Dask workers) "
        "per wall second; `machine cores`: the same for every process on the machine (/proc/stat), so "
        "`machine - own` is what other work took.\n\n"
        + markdown_table(["engine", "workers", "median s", "clips/s", "own cores", "machine cores", "load (1 min)"], rows)
        + "\n\n"
        + markdown_table(["engine", "2 workers / 1 worker, clips/s, per round", "median", "goal"], ratio_rows)
        + f"\n\nLoad average (1, 5, 15 min) before the rounds: {', '.join(f'{v:.1f}' for v in load_before)} on "
        f"{os.cpu_count()} cores. "
        + ("The machine was busy with other work: the ratios are not reliable; run again on a quiet machine."
           if busy else "The machine was otherwise quiet.")
    )
    command = " ".join(["bin/harflow env run -- python benchmarks/ingest_scaling.py", *sys.argv[1:]])
    write_section(NAME, "Ingestion scaling: 1 vs 2 workers, DirectRunner and Dask", command, body)


if __name__ == "__main__":
    main()

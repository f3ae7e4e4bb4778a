"""`harflow demo` and `harflow run`: the pipeline on the synthetic dataset, or on a dataset folder."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from harflow.cli.options import (
    add_command,
    add_dataset,
    add_folder_options,
    add_pipeline_options,
    add_synth_options,
    config_from,
    pipeline_config,
)
from harflow.cli.progress import progress
from harflow.config import PipelineConfig, SynthConfig


def add_commands(commands) -> None:
    demo = add_command(commands, "demo", cmd_demo, "the main job: synthetic data -> pipeline -> pushed model -> one prediction")
    add_pipeline_options(demo)
    add_synth_options(demo)
    run = add_command(commands, "run", cmd_run, "run the pipeline on a dataset folder")
    add_dataset(run.add_argument_group("dataset"), required=True)
    add_pipeline_options(run)
    add_folder_options(run)


def demo_data(work_dir: str) -> Path:
    """Where `harflow demo` writes its synthetic dataset."""
    return Path(work_dir) / "data" / "synth"


def cmd_demo(args: argparse.Namespace) -> int:
    """Generate the embedded synthetic dataset (once), run the whole pipeline (VideoExampleGen, Trainer,
    Evaluator, Pusher), print the pushed model and its test accuracy, and predict one test clip."""
    from harflow.datasets import synth

    data = demo_data(args.work_dir)
    started = time.monotonic()
    config = pipeline_config(args, dataset_root=str(data))  # a bad option fails here, before any clip is made
    synth.generate(data, config_from(SynthConfig, args), progress=progress("synth"))
    code = run_and_report(config)
    if code != 0:
        return code
    clip = str(data / (data / "testlist01.txt").read_text().split()[0])
    print(f"\nharflow predict {clip}")
    from harflow.cli.predict import print_predictions

    print_predictions(config.absolute().serving_base, [clip], top=5)
    print(f"\ndemo finished in {time.monotonic() - started:.0f} s")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    """Run the pipeline on a dataset folder: UCF101 (classInd.txt, trainlistNN.txt, testlistNN.txt),
    HMDB51 (testTrainMulti_7030_splits/) or a folder per class of clips. `harflow data download` fetches
    UCF101 and HMDB51; docs/ingestion.md describes the layouts. A bad folder or split list is one line
    before the pipeline starts."""
    from harflow.datasets.detect import require_dataset
    from harflow.datasets.records import SPLITS

    config = pipeline_config(args, dataset_root=args.dataset_root)
    index = require_dataset(config.ingest)
    counts = ", ".join(f"{split} {index.count(split)}" for split in SPLITS)
    print(f"dataset {config.ingest.dataset_root}: {len(index.class_names)} classes; clips: {counts}", flush=True)
    print(f"split source: {index.source}", flush=True)
    return run_and_report(config)


def run_and_report(config: PipelineConfig) -> int:
    """Run the pipeline; print TFMA's accuracy, the gate's verdict and the push. Exit 1 when nothing was pushed."""
    from harflow.pipeline.run import run_locally

    outcome = run_locally(config)
    print()
    if outcome.accuracy is not None:
        print(f"test accuracy (TFMA, eval split, {outcome.example_count} clips): {outcome.accuracy:.4f}")
        for name, accuracy in outcome.accuracy_by_class.items():
            print(f"  {name:<24} {accuracy:.3f}")
    print(f"blessed: {outcome.blessed}   (floor: accuracy >= {config.gate.min_accuracy})")
    if outcome.pushed:
        print(f"pushed model: {outcome.pushed_to}")
        return 0
    print(f"no model was pushed: the candidate was not blessed; {config.absolute().serving_base} is unchanged")
    return 1

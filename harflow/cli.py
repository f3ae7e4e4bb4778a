"""The `harflow` command line.

Parsing happens on whatever Python starts it (standard library only, so
`harflow --help` is instant anywhere). A command that needs TFX re-runs
itself inside harflow's environment (harflow.env), building it on first use.
Heavy modules (TensorFlow, TFX) are imported inside the commands.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time
from pathlib import Path

from harflow import env
from harflow.config import GateConfig, IngestConfig, PipelineConfig, ServingConfig, TrainConfig


class UsageError(Exception):
    """A mistake the user can fix; printed as one line, without a traceback."""


# --------------------------------------------------------------------------- commands


def cmd_synth(args: argparse.Namespace) -> int:
    """Write the synthetic dataset."""
    from harflow import synth

    summary = synth.generate(args.out, _synth_config(args), progress=_progress("synth"))
    print(
        f"synthetic dataset: {len(summary['classes'])} classes, {summary['train_clips']} train clips, "
        f"{summary['test_clips']} test clips in {summary['path']}"
    )
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    """Run the pipeline on a dataset."""
    config = _pipeline_config(args, dataset_root=args.data)
    _require_dataset(config.ingest)
    return _run_and_report(config)


def cmd_demo(args: argparse.Namespace) -> int:
    """Synthetic data (made once) -> the whole pipeline -> one prediction."""
    from harflow import synth

    data = Path(args.work_dir) / "data" / "synth"
    started = time.monotonic()
    synth.generate(data, _synth_config(args), progress=_progress("synth"))
    config = _pipeline_config(args, dataset_root=str(data))
    code = _run_and_report(config)
    if code != 0:
        return code
    clip = _first_test_clip(data)
    print(f"\nharflow predict {clip}")
    _print_predictions(config.absolute().serving_base, [clip], top=5)
    print(f"\ndemo finished in {time.monotonic() - started:.0f} s")
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    """Top classes of one or more clips."""
    for video in args.videos:
        if not Path(video).is_file():
            raise UsageError(f"{video}: no such file")
    if args.server or args.rest:
        return _predict_remote(args)
    _print_predictions(args.model, args.videos, top=args.top)
    return 0


def _predict_remote(args: argparse.Namespace) -> int:
    """Top classes from a model server: gRPC (--server HOST:PORT) or REST (--rest URL)."""
    from serving.clients import GrpcClient, RestClient, ServerError, ServerUnavailable

    if args.server and args.rest:
        raise UsageError("give --server HOST:PORT (gRPC) or --rest URL, not both")
    config = ServingConfig(model_name=args.model_name, signature=args.signature, version=args.version, timeout_s=args.timeout)
    client = GrpcClient(args.server, config) if args.server else RestClient(args.rest, config)
    try:
        print(f"server: {args.server or args.rest}  model: {config.model_name}  signature: {config.signature}")
        for video in args.videos:
            started = time.monotonic()
            answer = client.predict_clip(video)
            version = f", version {answer.model_version}" if answer.model_version is not None else ""
            print(f"{video}  ({(time.monotonic() - started) * 1000:.0f} ms{version})")
            for rank, (name, probability) in enumerate(answer.top(args.top), 1):
                print(f"  {rank}. {name:<24} {probability:.4f}")
    except (ServerUnavailable, ServerError) as error:
        raise UsageError(str(error)) from None
    finally:
        client.close()
    return 0


def cmd_runs(args: argparse.Namespace) -> int:
    """The pipeline's runs from MLMD; `runs show [RUN]`: one run's evaluation."""
    import logging

    from pipeline.report import RUNS_HEADER, run_line, text_table
    from pipeline.run import list_runs

    logging.getLogger("tensorflow").setLevel(logging.ERROR)  # TFMA's reader warns of a deprecated TF API
    config = PipelineConfig(name=args.name, work_dir=args.work_dir)
    runs = list_runs(config)
    if not runs:
        raise UsageError(f"{config.absolute().metadata_path}: no pipeline runs recorded yet")
    if args.action != "show":
        print(text_table(RUNS_HEADER, [run_line(run) for run in runs]))
        return 0
    chosen = [run for run in runs if args.run in (None, run.run_id)]
    if not chosen:
        raise UsageError(f"no run {args.run!r} in {config.absolute().metadata_path}; `harflow runs` lists them")
    text = _evaluation_page(chosen[-1])
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(text)
        print(f"wrote {args.out}")
    else:
        print(text, end="")
    return 0


def _evaluation_page(run) -> str:
    from pipeline.report import evaluation_markdown
    from pipeline.run import model_class_names, read_confusion_matrix

    names = model_class_names(run.model_uri)
    matrix = read_confusion_matrix(run.evaluation_uri, len(names)) if run.evaluation_uri and names else None
    return evaluation_markdown(run, matrix, names)


def cmd_env(args: argparse.Namespace) -> int:
    return env.main([args.verb, *args.argv])


# --------------------------------------------------------------------------- helpers


def _synth_config(args: argparse.Namespace):
    from harflow.synth import SynthConfig

    return SynthConfig(
        clips_per_class_train=args.train_clips,
        clips_per_class_test=args.test_clips,
        frames=args.synth_frames,
        size=args.synth_size,
        seed=args.seed,
    )


def _pipeline_config(args: argparse.Namespace, dataset_root: str) -> PipelineConfig:
    beam_args = [f"--direct_num_workers={args.workers}"]
    beam_args.append("--direct_running_mode=" + ("multi_processing" if args.workers > 1 else "in_memory"))
    return PipelineConfig(
        name=args.name,
        work_dir=args.work_dir,
        runner=args.runner,
        beam_args=tuple(beam_args),
        enable_cache=not args.no_cache,
        serving_dir=args.serving_dir or "",
        ingest=_ingest_config(args, dataset_root),
        train=_train_config(args),
        gate=_gate_config(args),
    )


def _ingest_config(args: argparse.Namespace, dataset_root: str) -> IngestConfig:
    return IngestConfig(
        dataset_root=dataset_root,
        dataset=getattr(args, "dataset", "ucf101"),
        split=getattr(args, "split", 1),
        num_frames=args.frames,
        image_size=args.size,
    )


def _train_config(args: argparse.Namespace) -> TrainConfig:
    return TrainConfig(head=args.head, epochs=args.epochs, batch_size=args.batch_size, seed=args.seed)


def _gate_config(args: argparse.Namespace) -> GateConfig:
    return GateConfig(
        min_accuracy=args.min_accuracy,
        max_accuracy_drop=args.max_accuracy_drop,
        top_k=args.top_k,
        categories=_read_categories(args.categories) if args.categories else {},
        keep_versions=args.keep_versions,
    )


def _read_categories(path: str) -> dict[str, str]:
    """A JSON file {"class name": "category", ...} -> the mapping."""
    import json

    try:
        mapping = json.loads(Path(path).read_text())
    except json.JSONDecodeError as error:
        raise UsageError(f"{path}: not JSON ({error.msg}); write {{\"ClassName\": \"Category\", ...}}") from None
    if not isinstance(mapping, dict) or not all(isinstance(v, str) for v in mapping.values()):
        raise UsageError(f"{path}: expected one JSON object {{\"ClassName\": \"Category\", ...}}")
    return mapping


def _require_dataset(ingest: IngestConfig) -> None:
    """Read the dataset's index before the pipeline starts: a bad folder or split file is one line here."""
    from components.datasets import EVAL, TRAIN, read_dataset

    root = ingest.dataset_root
    if not Path(root).is_dir():
        raise UsageError(f"{root}: no such dataset folder (make one with `harflow synth {root}`)")
    index = read_dataset(ingest.dataset, root, split=ingest.split, val_fraction=ingest.val_fraction)
    missing = [split for split in (TRAIN, EVAL) if index.count(split) == 0]
    if missing:
        raise UsageError(f"{root}: the split lists of split {ingest.split} name no {' and no '.join(missing)} clips")


def _run_and_report(config: PipelineConfig) -> int:
    from pipeline.run import run_locally

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


def _first_test_clip(data: Path) -> str:
    first = (data / "testlist01.txt").read_text().split()[0]
    return str(data / first)


def _print_predictions(model_path: str, videos: list[str], top: int) -> None:
    from serving.predict import load_model

    model = load_model(model_path)
    print(f"model: {model.directory}")
    for video in videos:
        started = time.monotonic()
        predictions = model.predict_clip(video, top=top)
        print(f"{video}  ({(time.monotonic() - started) * 1000:.0f} ms)")
        for rank, (name, probability) in enumerate(predictions, 1):
            print(f"  {rank}. {name:<24} {probability:.4f}")


def _progress(label: str):
    state = {"last": -1}

    def report(done: int, total: int) -> None:
        step = int(10 * done / max(total, 1))
        if step != state["last"]:
            state["last"] = step
            print(f"{label}: {done}/{total}", file=sys.stderr, flush=True)

    return report


# --------------------------------------------------------------------------- parser


def _add_pipeline_options(parser: argparse.ArgumentParser) -> None:
    defaults = PipelineConfig()
    group = parser.add_argument_group("pipeline")
    group.add_argument("--work-dir", default=defaults.work_dir, help="pipeline root, MLMD and serving dir live here (default: %(default)s)")
    group.add_argument("--name", default=defaults.name, help="pipeline name (default: %(default)s)")
    group.add_argument("--runner", choices=["beam", "local"], default=defaults.runner, help="TFX BeamDagRunner or LocalDagRunner (default: %(default)s)")
    group.add_argument("--workers", type=int, default=2, help="Beam DirectRunner worker processes (default: %(default)s)")
    group.add_argument("--no-cache", action="store_true", help="re-run every component instead of reusing TFX's cache")
    group.add_argument("--serving-dir", help="TF Serving model base path to push to (default: WORK_DIR/serving/NAME)")
    _add_ingest_options(parser)
    _add_train_options(parser)
    _add_gate_options(parser)


def _add_ingest_options(parser: argparse.ArgumentParser) -> None:
    ingest = IngestConfig()
    group = parser.add_argument_group("ingestion (VideoExampleGen)")
    group.add_argument("--frames", type=int, default=ingest.num_frames, help="frames sampled per clip (default: %(default)s)")
    group.add_argument("--size", type=int, default=ingest.image_size, help="frame size in pixels, square (default: %(default)s)")


def _add_train_options(parser: argparse.ArgumentParser) -> None:
    train = TrainConfig()
    group = parser.add_argument_group("training (Trainer)")
    group.add_argument("--head", choices=["gru", "lstm"], default=train.head, help="recurrent layer (default: %(default)s)")
    group.add_argument("--epochs", type=int, default=train.epochs, help="at most this many epochs; early stopping may end sooner (default: %(default)s)")
    group.add_argument("--batch-size", type=int, default=train.batch_size, help="(default: %(default)s)")


def _add_gate_options(parser: argparse.ArgumentParser) -> None:
    gate = GateConfig()
    group = parser.add_argument_group("gate and push (Evaluator, Pusher)")
    group.add_argument("--min-accuracy", type=float, default=gate.min_accuracy, help="the Evaluator blesses only above this eval accuracy (default: %(default)s)")
    group.add_argument("--max-accuracy-drop", type=float, default=gate.max_accuracy_drop, help="how far below the last blessed model's accuracy a candidate may fall and still be blessed (default: %(default)s)")
    group.add_argument("--top-k", type=int, default=gate.top_k, help="the Evaluator also reports top-k accuracy (default: %(default)s)")
    group.add_argument("--categories", metavar="JSON", help="a file {\"class\": \"category\"}: `harflow runs show` adds accuracy per category")
    group.add_argument("--keep-versions", type=int, default=gate.keep_versions, help="the Pusher keeps this many newest versions in the serving dir (default: %(default)s)")


def _add_serving_options(parser: argparse.ArgumentParser) -> None:
    serving = ServingConfig()
    group = parser.add_argument_group(
        "model server (instead of --model)",
        "Ask a running TF Serving (see docs/serving.md) instead of loading the model here; the clip is "
        "sampled here exactly as training did, with the frame count and size the server's model reports.",
    )
    group.add_argument("--server", metavar="HOST:PORT", help="TF Serving's gRPC address (PredictionService; port 8500 by default)")
    group.add_argument("--rest", metavar="URL", help="TF Serving's REST address, e.g. http://localhost:8501")
    group.add_argument("--model-name", default=serving.model_name, help="the model's name on the server (default: %(default)s)")
    group.add_argument("--signature", default=serving.signature, help="(default: %(default)s)")
    group.add_argument("--version", type=int, help="a specific model version (default: the server's newest)")
    group.add_argument("--timeout", type=float, default=serving.timeout_s, help="seconds per request (default: %(default)s)")


def _add_runs_command(commands) -> None:
    defaults = PipelineConfig()
    runs = commands.add_parser(
        "runs",
        help="the pipeline's runs from ML Metadata; `runs show [RUN]`: one run's evaluation",
        description="List the pipeline runs recorded in ML Metadata (when, which trainer variants, TFMA accuracy "
        "and top-k accuracy, blessed or not, the model version pushed). `harflow runs show [RUN]` prints one run's "
        "evaluation (the newest by default) as Markdown: metrics, per-class recall and precision, per-category "
        "accuracy when the gate has a class->category mapping, and the confusion matrix.",
    )
    runs.add_argument("action", nargs="?", choices=["list", "show"], default="list", help="list (default) or show")
    runs.add_argument("run", nargs="?", help="with show: a run id from `harflow runs` (default: the newest)")
    runs.add_argument("--out", help="with show: write the Markdown to this file instead of printing it")
    runs.add_argument("--work-dir", default=defaults.work_dir, help="(default: %(default)s)")
    runs.add_argument("--name", default=defaults.name, help="pipeline name (default: %(default)s)")
    runs.set_defaults(func=cmd_runs)


def _add_synth_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("synthetic dataset")
    group.add_argument("--train-clips", type=int, default=64, help="train clips per class (default: %(default)s)")
    group.add_argument("--test-clips", type=int, default=16, help="test clips per class (default: %(default)s)")
    group.add_argument("--synth-frames", type=int, default=32, help="frames per generated clip (default: %(default)s)")
    group.add_argument("--synth-size", type=int, default=96, help="generated frame size in pixels (default: %(default)s)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="harflow",
        description="Train, gate, push and use video action classifiers with a TFX pipeline.",
        epilog="The first command that needs TFX builds harflow's environment (see `harflow env --help`).",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    demo = commands.add_parser(
        "demo",
        help="the main job: synthetic data -> pipeline -> pushed model -> one prediction",
        description="Generate the embedded synthetic dataset (once), run the whole pipeline "
        "(VideoExampleGen, Trainer, Evaluator, Pusher), print the pushed model and its test accuracy, "
        "and predict one test clip.",
    )
    _add_pipeline_options(demo)
    _add_synth_options(demo)
    demo.add_argument("--seed", type=int, default=0, help="seed for data and training (default: %(default)s)")
    demo.set_defaults(func=cmd_demo)

    run = commands.add_parser(
        "run",
        help="run the pipeline on a dataset folder",
        description="Run the pipeline on a UCF101-layout dataset (classInd.txt, trainlistNN.txt, testlistNN.txt).",
    )
    run.add_argument("--data", required=True, help="dataset root folder")
    run.add_argument("--dataset", choices=["ucf101"], default="ucf101", help="dataset layout (default: %(default)s)")
    run.add_argument("--split", type=int, choices=[1, 2, 3], default=1, help="official split (default: %(default)s)")
    run.add_argument("--seed", type=int, default=0, help="training seed (default: %(default)s)")
    _add_pipeline_options(run)
    run.set_defaults(func=cmd_run)

    synth = commands.add_parser(
        "synth",
        help="write the synthetic dataset (UCF101 layout)",
        description="Write a deterministic synthetic action dataset in UCF101's layout: 8 classes whose "
        "label shows only in the order of frames (moving left/right/up/down, rotating either way, growing, shrinking).",
    )
    synth.add_argument("out", help="output folder (created; must be empty or an earlier synthetic dataset)")
    synth.add_argument("--seed", type=int, default=0, help="(default: %(default)s)")
    _add_synth_options(synth)
    synth.set_defaults(func=cmd_synth)

    predict = commands.add_parser(
        "predict",
        help="top-5 classes of video clips with a pushed or exported model",
        description="Read each clip with OpenCV, sample frames as training did, and print the top classes.",
    )
    predict.add_argument("videos", nargs="+", metavar="VIDEO", help="video file(s)")
    predict.add_argument(
        "--model",
        default=str(Path(PipelineConfig().serving_base)),
        help="SavedModel dir or TF Serving base path (newest version used) (default: %(default)s)",
    )
    predict.add_argument("--top", type=int, default=5, help="how many classes to print (default: %(default)s)")
    _add_serving_options(predict)
    predict.set_defaults(func=cmd_predict)
    _add_runs_command(commands)

    environment = commands.add_parser(
        "env",
        help="show, build or use harflow's environment",
        description="harflow runs inside a virtual environment; on hosts with glibc < 2.39 (which TFX 1.21's "
        "wheels need) that venv lives in a Debian 13 root file system, entered with unshare + chroot. "
        "`status` describes it, `build` builds it, `run -- CMD` runs CMD inside it.",
    )
    environment.add_argument("verb", choices=["status", "build", "run"])
    environment.add_argument("argv", nargs=argparse.REMAINDER, metavar="-- CMD", help="with run: the command")
    environment.set_defaults(func=cmd_env)
    return parser


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    if args.command != "env" and os.environ.get(env.IN_ENV_FLAG) != "1":
        try:
            return env.run(["python", "-m", "harflow", *argv])
        except env.EnvironmentError_ as error:
            print(f"harflow: error: {error}", file=sys.stderr)
            return 2
    try:
        return args.func(args)
    except (UsageError, FileNotFoundError, FileExistsError, ValueError) as error:
        if os.environ.get("HARFLOW_DEBUG") == "1":
            raise
        print(f"harflow: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("harflow: interrupted", file=sys.stderr)
        return 130

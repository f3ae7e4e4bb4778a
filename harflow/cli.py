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
from harflow.config import (
    BACKBONE_NAMES,
    HEAD_NAMES,
    CompareConfig,
    GateConfig,
    IngestConfig,
    PipelineConfig,
    ServingConfig,
    TrainConfig,
)


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


def cmd_compare(args: argparse.Namespace) -> int:
    """Print a run's model comparison; with several runs (e.g. splits 1-3), also the mean per variant."""
    from components.model_comparison.report import MARKDOWN, mean_over_runs

    folders = [_comparison_folder(run, args.name) for run in args.runs]
    if len(folders) == 1:
        print((Path(folders[0]) / MARKDOWN).read_text())
    else:
        print(mean_over_runs(folders))
    print(f"(files: {', '.join(folders)})")
    return 0


def _comparison_folder(run: str, name: str) -> str:
    """RUN: a comparison folder, or a work dir whose MLMD names the newest comparison."""
    path = Path(run)
    if (path / "comparison.md").is_file():
        return str(path)
    config = PipelineConfig(name=name, work_dir=str(path))
    metadata = Path(config.metadata_path)
    if not metadata.is_file():
        raise UsageError(f"{run}: neither a comparison folder (comparison.md) nor a work dir with {metadata.relative_to(path)}")
    from ml_metadata.proto import metadata_store_pb2

    from components.model_comparison.component import ModelComparisonArtifact
    from pipeline.run import metadata_store

    store = metadata_store(config)
    artifacts = [a for a in store.get_artifacts_by_type(ModelComparisonArtifact.TYPE_NAME) if a.state == metadata_store_pb2.Artifact.LIVE]
    if not artifacts:
        raise UsageError(f"{metadata}: no model comparison recorded yet (run `harflow run` or `harflow demo` first)")
    return max(artifacts, key=lambda a: a.id).uri


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


def cmd_data_download(args: argparse.Namespace) -> int:
    """Download (or take --archive files), unpack and arrange UCF101 or HMDB51 (standard library only)."""
    from harflow import download

    try:
        root = download.download(args.dataset, args.dir, archives=args.archive, progress=lambda line: print(line, flush=True))
    except download.DownloadError as error:
        raise UsageError(str(error)) from None
    print(f"next: harflow run --data {root} --dataset {args.dataset}")
    return 0


def cmd_data_stats(args: argparse.Namespace) -> int:
    """Print statistics.md of an Examples artifact (or of the newest VideoExampleGen run under a work dir)."""
    print(_statistics_file(Path(args.path)).read_text(), end="")
    return 0


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
    beam_args += getattr(args, "beam_arg", None) or []  # e.g. --runner=FlinkRunner (docs/ingestion.md)
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
        compare=_compare_config(args),
    )


def _ingest_config(args: argparse.Namespace, dataset_root: str) -> IngestConfig:
    return IngestConfig(
        dataset_root=dataset_root,
        dataset=getattr(args, "dataset", "auto"),
        split=getattr(args, "split", 1),
        num_frames=args.frames,
        image_size=args.size,
        jpeg_quality=args.jpeg_quality,
        color=args.color,
        groups=getattr(args, "groups", "auto"),
        test_fraction=getattr(args, "test_fraction", 0.2),
        random_split=getattr(args, "random_split", False),
        split_seed=getattr(args, "split_seed", 0),
        require_all_classes=not args.allow_missing_classes,
        tfdv_statistics=args.tfdv_statistics,
        eval_clips_per_video=args.eval_clips,
    )


def _train_config(args: argparse.Namespace) -> TrainConfig:
    variants = tuple(v.strip() for v in (args.variants or "").split(",") if v.strip())
    return TrainConfig(
        backbone=args.backbone,
        head=args.head,
        bidirectional=args.bidirectional,
        rnn_units=args.rnn_units,
        dense_stack=args.dense_stack,
        weights=args.weights,
        weights_dir=args.weights_dir or "",
        trainable_layers=args.trainable_layers,
        alpha=args.alpha,
        backbone_size=args.backbone_size,
        cache_trunk=args.cache_trunk,
        epochs=args.epochs,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        augment=tuple(a.strip() for a in (args.augment or "").split(",") if a.strip()),
        class_weights=args.class_weights,
        mixed_precision=args.mixed_precision,
        seed=args.seed,
        variants=variants,
    )


def _compare_config(args: argparse.Namespace) -> CompareConfig:
    return CompareConfig(category_map=str(Path(args.categories).resolve()) if args.categories else "")


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
    from components.datasets import EVAL, SPLITS, TRAIN, read_configured

    root = ingest.dataset_root
    if not Path(root).is_dir():
        raise UsageError(f"{root}: no such dataset folder (make one with `harflow synth {root}`)")
    index = read_configured(ingest)
    missing = [split for split in (TRAIN, EVAL) if index.count(split) == 0]
    if missing:
        raise UsageError(f"{root}: the split lists of split {ingest.split} name no {' and no '.join(missing)} clips")
    for split in SPLITS:
        present = {clip.label for clip in index.clips if clip.split == split}
        absent = [name for label, name in enumerate(index.class_names) if present and label not in present]
        if absent and ingest.require_all_classes:
            raise UsageError(
                f"{root}: split {split} has no clips of {', '.join(absent[:5])}{', ...' if len(absent) > 5 else ''} "
                "(add clips, change the split, or pass --allow-missing-classes)"
            )
    counts = ", ".join(f"{split} {index.count(split)}" for split in SPLITS)
    print(f"dataset {root}: {len(index.class_names)} classes; clips: {counts}", flush=True)


def _statistics_file(path: Path) -> Path:
    """statistics.md in an Examples folder, or in the newest VideoExampleGen output under a work dir."""
    candidates = [path / "statistics.md"] if (path / "statistics.md").is_file() else []
    if not candidates and path.is_dir():
        candidates = sorted(path.glob("**/VideoExampleGen/examples/*/statistics.md"), key=lambda p: p.stat().st_mtime)
    if not candidates:
        raise UsageError(f"{path}: no statistics.md here or under */VideoExampleGen/examples/ (run the pipeline first)")
    return candidates[-1]


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
    group.add_argument("--beam-arg", action="append", metavar="ARG", help="a Beam pipeline option, repeatable, e.g. --beam-arg=--runner=FlinkRunner (docs/ingestion.md)")
    _add_ingest_options(parser)
    _add_train_options(parser)
    _add_gate_options(parser)


def _add_ingest_options(parser: argparse.ArgumentParser) -> None:
    ingest = IngestConfig()
    group = parser.add_argument_group("ingestion (VideoExampleGen)")
    group.add_argument("--frames", type=int, default=ingest.num_frames, help="frames sampled per clip (default: %(default)s)")
    group.add_argument("--size", type=int, default=ingest.image_size, help="frame size in pixels, square (default: %(default)s)")
    group.add_argument("--jpeg-quality", type=int, default=ingest.jpeg_quality, help="JPEG quality of stored frames, 1-100 (default: %(default)s)")
    group.add_argument("--color", choices=["rgb", "gray"], default=ingest.color, help="rgb, or gray in all 3 channels (default: %(default)s)")
    group.add_argument("--allow-missing-classes", action="store_true", help="do not fail when a split has no clips of some class")
    group.add_argument("--tfdv-statistics", action="store_true", help="also run TFX StatisticsGen, SchemaGen and ExampleValidator on every feature but the frames")
    group.add_argument(
        "--eval-clips",
        type=int,
        default=ingest.eval_clips_per_video,
        metavar="N",
        help="clips per test video, one from each of N equal segments: the comparison then reports video-level "
        "accuracy (the clips' scores averaged) beside single-clip accuracy (default: %(default)s)",
    )


def _add_folder_options(parser: argparse.ArgumentParser) -> None:
    ingest = IngestConfig()
    group = parser.add_argument_group("folder-per-class datasets (--dataset folder)")
    group.add_argument("--groups", default=ingest.groups, metavar="SOURCE", help="where a clip's group comes from: auto (sub-folder, else _gNN_ in the name), subfolder, name, or a CSV file 'clip,group'; a group never spans two splits (default: %(default)s)")
    group.add_argument("--test-fraction", type=float, default=ingest.test_fraction, help="share of groups for the eval split (default: %(default)s)")
    group.add_argument("--random-split", action="store_true", help="split each class's clips at random (seeded) instead of by group: only when clips are unrelated")
    group.add_argument("--split-seed", type=int, default=ingest.split_seed, help="seed of the group or random split (default: %(default)s)")


def _add_train_options(parser: argparse.ArgumentParser) -> None:
    train = TrainConfig()
    group = parser.add_argument_group("training (one Trainer per variant, then ModelComparison; docs/model.md)")
    group.add_argument("--backbone", choices=BACKBONE_NAMES, default=train.backbone, help="frame CNN (default: %(default)s)")
    group.add_argument("--head", choices=HEAD_NAMES, default=train.head, help="over frames: GRU, LSTM or frame averaging (default: %(default)s)")
    group.add_argument(
        "--variants",
        metavar="B+H,...",
        help="train several variants in one run and compare them, e.g. small+gru,small+lstm,mobilenet+gru "
        "(BACKBONE+HEAD; the other options apply to all); the best by val accuracy is the candidate",
    )
    group.add_argument("--rnn-units", type=int, default=train.rnn_units, help="GRU/LSTM units (default: %(default)s)")
    group.add_argument("--bidirectional", action="store_true", help="bidirectional GRU/LSTM")
    group.add_argument("--dense-stack", choices=["lean", "seed"], default=train.dense_stack, help="seed: the 1024-512-128-64 dense stack with dropout 0.5 before the softmax (default: %(default)s)")
    group.add_argument("--weights", choices=["imagenet", "none"], default=train.weights, help="ImageNet backbones: pretrained or random weights (default: %(default)s)")
    group.add_argument("--weights-dir", metavar="DIR", help="a Keras cache with ImageNet weight files (DIR/models/<file>.h5, KERAS_HOME layout); default: Keras's cache, else download")
    group.add_argument("--trainable-layers", type=int, default=train.trainable_layers, help="how many of an ImageNet backbone's last layers fine-tune; 0 freezes it; -1: the backbone's default (mobilenet 9, resnet152v2 24, ...)")
    group.add_argument("--alpha", type=float, default=train.alpha, help="MobileNet width multiplier (default: %(default)s)")
    group.add_argument("--backbone-size", type=int, default=train.backbone_size, help="resize frames to this inside the model for an ImageNet backbone; 0: as ingested (default: %(default)s)")
    group.add_argument("--cache-trunk", choices=["auto", "on", "off"], default=train.cache_trunk, help="compute an ImageNet backbone's frozen layers once per clip and fit the rest on their cached outputs; auto: unless --augment (default: %(default)s)")
    group.add_argument("--epochs", type=int, default=train.epochs, help="at most this many epochs; early stopping may end sooner (default: %(default)s)")
    group.add_argument("--batch-size", type=int, default=train.batch_size, help="(default: %(default)s)")
    group.add_argument("--learning-rate", type=float, default=train.learning_rate, help="Adam's (default: %(default)s)")
    group.add_argument("--augment", metavar="A,...", help="clip-consistent augmentation, any of flip,crop,rotate,zoom (never flip on the synthetic dataset: it swaps left and right)")
    group.add_argument("--class-weights", action="store_true", help="weight the loss by inverse class frequency")
    group.add_argument("--mixed-precision", choices=["auto", "on", "off"], default=train.mixed_precision, help="mixed_float16; auto: on when a GPU is visible (default: %(default)s)")


def _add_gate_options(parser: argparse.ArgumentParser) -> None:
    gate = GateConfig()
    group = parser.add_argument_group("gate and push (Evaluator, Pusher)")
    group.add_argument("--min-accuracy", type=float, default=gate.min_accuracy, help="the Evaluator blesses only above this eval accuracy (default: %(default)s)")
    group.add_argument("--max-accuracy-drop", type=float, default=gate.max_accuracy_drop, help="how far below the last blessed model's accuracy a candidate may fall and still be blessed (default: %(default)s)")
    group.add_argument("--top-k", type=int, default=gate.top_k, help="the Evaluator also reports top-k accuracy (default: %(default)s)")
    group.add_argument("--categories", metavar="JSON", help="a file {\"class\": \"category\"}: accuracy per category in the comparison and in `harflow runs show` (comparison default: UCF101's five groups, or the synthetic motion kinds)")
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
    group.add_argument("--synth-frames", type=int, default=33, help="frames per generated clip; odd, so that a clip and its time reversal are sampled at mirrored frames (harflow/synth.py) (default: %(default)s)")
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
        description="Run the pipeline on a dataset folder: UCF101 (classInd.txt, trainlistNN.txt, testlistNN.txt), "
        "HMDB51 (testTrainMulti_7030_splits/) or a folder per class of clips. `harflow data download` fetches "
        "UCF101 and HMDB51; docs/ingestion.md describes the layouts.",
    )
    run.add_argument("--data", required=True, help="dataset root folder")
    run.add_argument("--dataset", choices=["auto", "ucf101", "hmdb51", "folder"], default="auto", help="dataset layout; auto detects it from the files (default: %(default)s)")
    run.add_argument("--split", type=int, choices=[1, 2, 3], default=1, help="official split of UCF101/HMDB51 (default: %(default)s)")
    run.add_argument("--seed", type=int, default=0, help="training seed (default: %(default)s)")
    _add_pipeline_options(run)
    _add_folder_options(run)
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

    data = commands.add_parser(
        "data",
        help="download UCF101 or HMDB51; show ingestion statistics",
        description="`download ucf101|hmdb51 DIR` fetches the official archives (resuming partial downloads), "
        "unpacks them and arranges DIR for `harflow run --data DIR`; RAR needs bsdtar, 7z, unrar or unar. "
        "`stats PATH` prints the class counts and frames per clip of an ingestion run.",
    )
    data_verbs = data.add_subparsers(dest="verb", metavar="VERB", required=True)
    fetch = data_verbs.add_parser("download", help="fetch, unpack and arrange a dataset", description="Fetch the official archives and split files into DIR/downloads (resumable), unpack them and arrange DIR in the layout `harflow run` reads.")
    fetch.add_argument("dataset", choices=["ucf101", "hmdb51"])
    fetch.add_argument("dir", metavar="DIR", help="where the dataset goes")
    fetch.add_argument("--archive", action="append", metavar="FILE", help="use this archive already on disk instead of downloading (repeat for the videos and the split files)")
    fetch.set_defaults(func=cmd_data_download)
    show = data_verbs.add_parser("stats", help="print an ingestion run's statistics", description="Print statistics.md (clips per class and split, frames per clip, rejects) of an Examples folder, or of the newest VideoExampleGen run under a work dir.")
    show.add_argument("path", nargs="?", default=PipelineConfig().work_dir, help="Examples folder or work dir (default: %(default)s)")
    show.set_defaults(func=cmd_data_stats)

    compare = commands.add_parser(
        "compare",
        help="print the model comparison of a run (every variant on the test split)",
        description="Print the comparison table a run wrote (ModelComparison): per variant best epoch, accuracy, "
        "loss, val accuracy and loss, top-5, training time, parameters, inference ms per clip, per-category and "
        "direction-pair accuracy. RUN is a work dir (the newest comparison in its ML Metadata) or a comparison folder; "
        "with several RUNs, the mean over them (UCF101/HMDB51's protocol: the mean over splits 1-3).",
    )
    compare.add_argument(
        "runs",
        nargs="*",
        default=[PipelineConfig().work_dir],
        metavar="RUN",
        help="work dir or comparison folder (default: %(default)s); several (e.g. the runs of splits 1, 2 and 3): "
        "the mean accuracy and top-5 over them, per variant",
    )
    compare.add_argument("--name", default=PipelineConfig().name, help="pipeline name (default: %(default)s)")
    compare.set_defaults(func=cmd_compare)

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


def _runs_on_host(args: argparse.Namespace) -> bool:
    """Commands that need no TFX run on the host's Python; `data download` too, unless only the
    environment's root file system has a RAR extractor (bsdtar, installed there by harflow.env)."""
    if args.command == "env":
        return True
    if args.command == "data":
        from harflow.download import rar_extractor

        return args.verb == "stats" or rar_extractor() is not None or not env.needs_rootfs()
    return False


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    if not _runs_on_host(args) and os.environ.get(env.IN_ENV_FLAG) != "1":
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

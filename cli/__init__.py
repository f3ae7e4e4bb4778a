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
    WebConfig,
)


class UsageError(Exception):
    """A mistake the user can fix; printed as one line, without a traceback."""


# --------------------------------------------------------------------------- commands


def cmd_synth(args: argparse.Namespace) -> int:
    """Write the synthetic dataset."""
    from harflow.datasets import synth

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
    from harflow.datasets import synth

    data = Path(args.work_dir) / "data" / "synth"
    started = time.monotonic()
    config = _pipeline_config(args, dataset_root=str(data))  # a bad option fails here, before any clip is made
    synth.generate(data, _synth_config(args), progress=_progress("synth"))
    code = _run_and_report(config)
    if code != 0:
        return code
    clip = _first_test_clip(data)
    print(f"\nharflow predict {clip}")
    _print_predictions(config.absolute().serving_base, [clip], top=5)
    print(f"\ndemo finished in {time.monotonic() - started:.0f} s")
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    """Top classes of clips or folders of clips; --annotate, --webcam and --stream predict on a running video."""
    if args.webcam is not None or args.stream:
        return _predict_live(args)
    videos = _video_files(args.videos)
    if args.annotate:
        return _predict_annotate(args, videos)
    if len(videos) > 1 or args.json or args.csv or any(Path(v).is_dir() for v in args.videos):
        return _predict_many(args, videos)
    if args.server or args.rest:
        return _predict_remote(args)
    _print_predictions(args.model, videos, top=args.top)
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    """Print a run's model comparison; with several runs (e.g. splits 1-3), also the mean per variant."""
    from harflow.components.model_comparison.report import MARKDOWN, mean_over_runs

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

    from harflow.components.model_comparison.component import ModelComparisonArtifact
    from harflow.pipeline.run import metadata_store

    store = metadata_store(config)
    artifacts = [a for a in store.get_artifacts_by_type(ModelComparisonArtifact.TYPE_NAME) if a.state == metadata_store_pb2.Artifact.LIVE]
    if not artifacts:
        raise UsageError(f"{metadata}: no model comparison recorded yet (run `harflow run` or `harflow demo` first)")
    return max(artifacts, key=lambda a: a.id).uri


def _predict_remote(args: argparse.Namespace) -> int:
    """Top classes from a model server: gRPC (--server HOST:PORT) or REST (--rest URL)."""
    from harflow.serving.clients import GrpcClient, RestClient, ServerError, ServerUnavailable

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


# --------------------------------------------------------------------------- web app and live prediction (docs/web.md)


def cmd_serve(args: argparse.Namespace) -> int:
    """The web app under waitress: an upload page, POST /api/predict and /healthz; the model is loaded once."""
    from harflow.serving.web.server import make_server, shutdown, url_of

    config = _web_config(args)
    predictor = _open_predictor(args)
    server = make_server(predictor, config)
    url = url_of(server)
    print(f"model: {predictor.description} ({len(predictor.class_names)} classes, {predictor.num_frames} frames of {predictor.image_size}px)")
    print(f"page: {url}   API: POST {url}api/predict   health: {url}healthz")
    print(f"limits: {config.max_upload_mb:g} MB per upload, the first {config.max_clip_seconds:g} s of a clip; "
          f"{config.threads} threads; uploads wait in {server.app.config['UPLOAD_DIR']}   (Ctrl-C stops)", flush=True)
    try:
        server.run()  # until Ctrl-C (waitress returns) or SIGTERM
    finally:
        shutdown(server)
        predictor.close()
    print("harflow serve: stopped", flush=True)
    return 0


def _web_config(args: argparse.Namespace) -> WebConfig:
    defaults = WebConfig()
    return WebConfig(
        host=getattr(args, "host", defaults.host),
        port=getattr(args, "port", defaults.port),
        threads=getattr(args, "threads", defaults.threads),
        max_upload_mb=getattr(args, "max_upload_mb", defaults.max_upload_mb),
        max_clip_seconds=args.max_clip_seconds,
        top_k=args.top,
        window_seconds=args.window_seconds,
        step_seconds=getattr(args, "step_seconds", defaults.step_seconds),
        upload_dir=getattr(args, "upload_dir", None) or "",
    )


def _open_predictor(args: argparse.Namespace):
    """The model of --model in process, or the server of --server / --rest (connected once)."""
    from harflow.serving.backends import open_predictor
    from harflow.serving.clients import ServerError, ServerUnavailable

    serving = ServingConfig(model_name=args.model_name, signature=args.signature, version=args.version, timeout_s=args.timeout)
    try:
        return open_predictor(args.model, server=args.server, rest=args.rest, serving=serving)
    except (ServerUnavailable, ServerError) as error:
        raise UsageError(str(error)) from None


def _video_files(paths: list[str]) -> list[Path]:
    """VIDEO arguments -> clip files: a file as is, a folder -> every video file inside it (recursively, sorted)."""
    from harflow.video import VIDEO_SUFFIXES

    if not paths:
        raise UsageError("give VIDEO files or folders, --webcam [N] or --stream URL (see harflow predict --help)")
    videos: list[Path] = []
    for name in paths:
        path = Path(name)
        if path.is_dir():
            inside = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES)
            if not inside:
                raise UsageError(f"{path}: no video files inside (looked for {', '.join(VIDEO_SUFFIXES)})")
            videos += inside
        elif path.is_file():
            videos.append(path)
        else:
            raise UsageError(f"{name}: no such file")
    return videos


def _predict_many(args: argparse.Namespace, videos: list[Path]) -> int:
    """Every clip's top classes as a table, or --json / --csv; a progress bar on stderr. Exit 1 if a clip failed."""
    import json

    from harflow.serving.analysis import analyse_clip
    from harflow.serving.clients import ServerError, ServerUnavailable

    config = _web_config(args)
    predictor = _open_predictor(args)
    bar = _progress_bar("predict", len(videos)) if len(videos) > 1 else None
    rows: list[dict] = []
    try:
        for done, video in enumerate(videos, 1):
            try:
                rows.append(analyse_clip(video, predictor, config, with_timeline=args.json).to_json(str(video)))
            except ValueError as error:  # harflow.video.ClipError: this clip only
                rows.append({"file": str(video), "error": str(error)})
            if bar:
                bar(done, video.name)
    except (ServerUnavailable, ServerError) as error:
        raise UsageError(str(error)) from None
    finally:
        predictor.close()
    if args.json:
        print(json.dumps(rows, indent=1, ensure_ascii=False))
    elif args.csv:
        _print_csv(rows, args.top)
    else:
        print(f"model: {predictor.description}")
        _print_table(rows)
    failed = [row for row in rows if "error" in row]
    for row in failed:
        print(f"harflow: {row['error']}", file=sys.stderr)
    return 1 if failed else 0


def _print_csv(rows: list[dict], top: int) -> None:
    import csv

    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(["file", *[f"{kind}_{rank}" for rank in range(1, top + 1) for kind in ("class", "probability")], "seconds", "duration_s", "error"])
    for row in rows:
        ranked = [value for entry in row.get("top", []) for value in (entry["class"], f"{entry['probability']:.6f}")]
        ranked += [""] * (2 * top - len(ranked))
        writer.writerow([row["file"], *ranked, row.get("seconds", ""), row.get("duration_s", ""), row.get("error", "")])


def _print_table(rows: list[dict]) -> None:
    width = max(len(row["file"]) for row in rows)
    print(f"{'clip':<{width}}  {'top class':<22} {'p':>6}  {'second':<22} {'p':>6}  {'ms':>6}")
    for row in rows:
        if "error" in row:
            print(f"{row['file']:<{width}}  error: {row['error']}")
            continue
        ranked = [(entry["class"], entry["probability"]) for entry in row["top"]] + [("", 0.0)]
        (first, p1), (second, p2) = ranked[0], ranked[1]
        print(f"{row['file']:<{width}}  {first:<22} {p1:6.3f}  {second:<22} {p2:6.3f}  {row['seconds'] * 1000:6.0f}")


def _predict_annotate(args: argparse.Namespace, videos: list[Path]) -> int:
    """--annotate OUT: the clip with the running prediction drawn on every frame."""
    from harflow.serving.live import annotate

    if len(videos) != 1:
        raise UsageError(f"--annotate writes one video: give one clip, not {len(videos)}")
    predictor = _open_predictor(args)
    try:
        written = annotate(videos[0], args.annotate, predictor, _web_config(args), progress=_progress("annotate"))
    finally:
        predictor.close()
    print(f"wrote {args.annotate}: {written} frames of {videos[0]} with the prediction of the last "
          f"{args.window_seconds:g} s, renewed every {args.step_seconds:g} s")
    return 0


def _predict_live(args: argparse.Namespace) -> int:
    """--webcam [N] / --stream URL: predict on a rolling window; a live window, or lines without a display."""
    from harflow.serving.live import display_available, watch

    if args.webcam is not None and args.stream:
        raise UsageError("give --webcam [N] or --stream URL, not both")
    source = args.webcam if args.webcam is not None else args.stream
    predictor = _open_predictor(args)
    show = False if args.no_window else display_available()
    print(f"{'webcam ' + str(source) if args.webcam is not None else source}: the last {args.window_seconds:g} s, "
          f"predicted every {args.step_seconds:g} s with {predictor.description}"
          f"{' (q in the window stops)' if show else ' (Ctrl-C stops)'}", flush=True)
    try:
        watch(source, predictor, _web_config(args), show=show, emit=lambda line: print(line, flush=True))
    finally:
        predictor.close()
    return 0


def _progress_bar(label: str, total: int):
    """A progress bar on stderr: redrawn in place on a terminal, a line per tenth otherwise."""
    interactive = sys.stderr.isatty()
    state = {"last": -1}

    def report(done: int, name: str = "") -> None:
        if interactive:
            filled = int(30 * done / total)
            end = "\n" if done == total else ""
            print(f"\r{label} [{'#' * filled}{'.' * (30 - filled)}] {done}/{total} {name[:40]:<40}", end=end, file=sys.stderr, flush=True)
        elif int(10 * done / total) != state["last"]:
            state["last"] = int(10 * done / total)
            print(f"{label}: {done}/{total}", file=sys.stderr, flush=True)

    return report


def cmd_runs(args: argparse.Namespace) -> int:
    """The pipeline's runs from MLMD; `runs show [RUN]`: one run's evaluation."""
    import logging

    from harflow.pipeline.report import RUNS_HEADER, run_line, text_table
    from harflow.pipeline.run import list_runs

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
    from harflow.pipeline.report import evaluation_markdown
    from harflow.pipeline.run import model_class_names, read_confusion_matrix

    names = model_class_names(run.model_uri)
    matrix = read_confusion_matrix(run.evaluation_uri, len(names)) if run.evaluation_uri and names else None
    return evaluation_markdown(run, matrix, names)


def cmd_env(args: argparse.Namespace) -> int:
    return env.main([args.verb, *args.argv])


def cmd_data_download(args: argparse.Namespace) -> int:
    """Download (or take --archive files), unpack and arrange UCF101 or HMDB51 (standard library only)."""
    from harflow.datasets import download

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
    from harflow.datasets.synth import SynthConfig

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
        train_segments=args.train_segments,
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
        balance=args.balance,
        tflite=args.tflite,
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
    from harflow.datasets.detect import read_configured
    from harflow.datasets.records import EVAL, SPLITS, TRAIN

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


def _first_test_clip(data: Path) -> str:
    first = (data / "testlist01.txt").read_text().split()[0]
    return str(data / first)


def _print_predictions(model_path: str, videos: list[str], top: int) -> None:
    from harflow.serving.predict import load_model

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
    group.add_argument(
        "--train-segments",
        type=int,
        default=ingest.train_segments,
        metavar="N",
        help="cut each train and val video into N equal segments, one clip each, so that the model trains on "
        "what a test clip of --eval-clips N shows (default: %(default)s, one clip over the whole video)",
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
    group.add_argument("--class-weights", action="store_true", help="weight the loss by inverse class frequency (the same as --balance weights)")
    group.add_argument("--balance", choices=["none", "weights", "sample"], default=train.balance, help="imbalanced data: weights weighs the loss by inverse class frequency; sample draws every class equally often, so each batch is even (default: %(default)s)")
    group.add_argument("--tflite", action="store_true", help="also write model.tflite (uint8 frames in, probabilities out) and its class names beside the SavedModel")
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


def _add_predict_web_options(parser: argparse.ArgumentParser) -> None:
    web = WebConfig()
    output = parser.add_argument_group("output, long clips and live video")
    formats = output.add_mutually_exclusive_group()
    formats.add_argument("--json", action="store_true", help="a JSON list, one object per clip (the web API's answer, with a timeline for long clips)")
    formats.add_argument("--csv", action="store_true", help="CSV: file, class_1, probability_1, ..., seconds, duration_s, error")
    output.add_argument("--annotate", metavar="OUT.mp4", help="write the clip with the running prediction drawn on every frame (.mp4 or .avi)")
    output.add_argument("--webcam", nargs="?", type=int, const=0, metavar="N", help="predict live on webcam N (default 0)")
    output.add_argument("--stream", metavar="URL", help="predict live on a stream (rtsp://, http://, or a video file)")
    output.add_argument("--no-window", action="store_true", help="with --webcam/--stream: print lines even when a display is available")
    _add_window_options(output, web)


def _add_window_options(group, web: WebConfig, live: bool = True) -> None:
    group.add_argument("--max-clip-seconds", type=float, default=web.max_clip_seconds, help="analyse only the first this-many seconds of a long clip (default: %(default)s)")
    group.add_argument("--window-seconds", type=float, default=web.window_seconds, help="timeline and rolling window: seconds per window, sampled to the model's frames as a training clip (default: %(default)s)")
    if live:
        group.add_argument("--step-seconds", type=float, default=web.step_seconds, help="--annotate/--webcam/--stream: predict again every this-many seconds (default: %(default)s)")


def _add_serve_command(commands) -> None:
    web = WebConfig()
    serve = commands.add_parser(
        "serve",
        help="the web app: upload a clip in a browser, or POST it to /api/predict",
        description="Serve a page where people drop a video clip and read the top-5 actions (with confidence bars, "
        "the time it took and, for clips longer than one window, a timeline), a JSON API (POST /api/predict, "
        "multipart field 'clip') and GET /healthz, under waitress (a production WSGI server). The model is loaded "
        "once: the pushed SavedModel in process (--model, default), or TF Serving (--server HOST:PORT over gRPC, "
        "or --rest URL). Uploads are limited in size, judged by decoding them, stored outside the web root under "
        "generated names and deleted after the answer (docs/web.md).",
    )
    serve.add_argument("--model", default=str(Path(PipelineConfig().serving_base)), help="SavedModel dir or TF Serving base path (newest version used) (default: %(default)s)")
    serve.add_argument("--top", type=int, default=web.top_k, help="classes shown per clip (default: %(default)s)")
    _add_serving_options(serve)
    group = serve.add_argument_group("web server")
    group.add_argument("--host", default=web.host, help="address to listen on; 0.0.0.0 for every interface (default: %(default)s)")
    group.add_argument("--port", type=int, default=web.port, help="(default: %(default)s)")
    group.add_argument("--threads", type=int, default=web.threads, help="waitress worker threads (default: %(default)s)")
    group.add_argument("--max-upload-mb", type=float, default=web.max_upload_mb, help="larger uploads get 413 (default: %(default)s)")
    group.add_argument("--upload-dir", help="where uploads wait while analysed (made private; default: a new temp dir, removed at exit)")
    _add_window_options(group, web, live=False)
    serve.set_defaults(func=cmd_serve)


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
    parser.add_argument(
        "-v", "--verbose", action="store_true",
        help="show TensorFlow's, absl's and FFmpeg's own log lines (hidden by default) and full tracebacks; "
        "same as HARFLOW_DEBUG=1",
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
        help="top-5 classes of clips, folders of clips, a webcam or a stream",
        description="Read each clip with OpenCV, sample frames as training did, and print the top classes: "
        "one clip as a ranked list, several clips or folders as a table (or --json / --csv) with a progress bar "
        "on stderr. --annotate OUT.mp4 writes the clip with the running prediction drawn on it; --webcam [N] and "
        "--stream URL predict on a rolling window of the last seconds (docs/web.md).",
    )
    predict.add_argument("videos", nargs="*", metavar="VIDEO", help="video file(s) or folder(s) of them (searched recursively)")
    predict.add_argument(
        "--model",
        default=str(Path(PipelineConfig().serving_base)),
        help="SavedModel dir or TF Serving base path (newest version used) (default: %(default)s)",
    )
    predict.add_argument("--top", type=int, default=5, help="how many classes to print (default: %(default)s)")
    _add_serving_options(predict)
    _add_predict_web_options(predict)
    predict.set_defaults(func=cmd_predict)
    _add_serve_command(commands)
    _add_runs_command(commands)
    _add_kubeflow_command(commands)

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


# --------------------------------------------------------------------------- kubeflow


def cmd_kubeflow_compile(args: argparse.Namespace) -> int:
    """Compile the pipeline into a Kubeflow PipelineSpec file."""
    from harflow.kubeflow.compile import compile_pipeline, summary

    config, kubeflow = _kubeflow_configs(args)
    spec = compile_pipeline(config, kubeflow)
    print(summary(spec, kubeflow))
    return 0


def cmd_kubeflow_submit(args: argparse.Namespace) -> int:
    """Upload a spec (given, or compiled now) to Kubeflow Pipelines and start a run."""
    import tempfile

    from harflow.kubeflow.compile import compile_pipeline, read_spec
    from harflow.kubeflow.submit import parse_parameters, submit

    connection = _kubeflow_connection(args)
    with tempfile.TemporaryDirectory(prefix="harflow-submit-") as scratch:
        spec_path = args.spec
        if spec_path:
            if not Path(spec_path).is_file():
                raise FileNotFoundError(f"{spec_path}: no such pipeline spec (make one with `harflow kubeflow compile`)")
        else:
            config, kubeflow = _kubeflow_configs(args, output=str(Path(scratch) / "pipeline.yaml"))
            compile_pipeline(config, kubeflow)
            spec_path = kubeflow.output
        parameters = parse_parameters(args.param or [], read_spec(spec_path))
        done = submit(
            spec_path,
            connection,
            experiment=args.experiment,
            run_name=args.run_name or "",
            parameters=parameters,
            pipeline_root=args.pipeline_root or "",
            service_account=args.service_account or "",
        )
    print(f"uploaded {spec_path if args.spec else 'the compiled pipeline'} to {connection.host}: pipeline {done.pipeline_id}, version {done.version_id}")
    print(f"experiment {args.experiment} ({done.experiment_id}); parameters {done.parameters or 'as compiled'}")
    print(f"run {done.run_id} started: {done.run_link}")
    return 0


def _kubeflow_configs(args: argparse.Namespace, output: str | None = None):
    """(PipelineConfig, KubeflowConfig) from the kubeflow options; --work-dir and --data are required."""
    from harflow.config import KubeflowConfig

    if not args.work_dir or not args.data:
        raise UsageError(
            "give --work-dir (e.g. gs://BUCKET/harflow: pipeline root and serving dir) and --data "
            "(e.g. gs://BUCKET/data/ucf101) to compile the pipeline" + ("" if args.command_kubeflow == "compile" else ", or --spec FILE")
        )
    config = _pipeline_config(args, dataset_root=args.data)
    kubeflow = KubeflowConfig(
        image=args.image,
        output=output or args.output,
        gpus=args.gpus,
        gpu_type=args.gpu_type,
        trainer_cpus=args.trainer_cpus,
        trainer_memory_gb=args.trainer_memory,
        ingest_beam_args=tuple(args.ingest_beam_arg or ()),
    )
    return config, kubeflow


def _kubeflow_connection(args: argparse.Namespace):
    from harflow.kubeflow.submit import Connection

    token = args.token or ""
    if args.token_file:
        token = Path(args.token_file).read_text().strip()
    host = args.host or os.environ.get("KF_PIPELINES_ENDPOINT", "")
    if not host:
        raise UsageError("give --host URL of Kubeflow Pipelines (or set KF_PIPELINES_ENDPOINT), e.g. --host http://localhost:8080")
    return Connection(
        host=host,
        namespace=args.namespace or "",
        token=token,
        cookies=args.cookies or "",
        client_id=args.client_id or "",
        sa_token_path=args.sa_token or "",
        ssl_ca_cert=args.ssl_ca_cert or "",
    )


def _add_kubeflow_compile_options(parser: argparse.ArgumentParser, required: bool) -> None:
    from harflow.config import KubeflowConfig

    defaults, kubeflow = PipelineConfig(), KubeflowConfig()
    group = parser.add_argument_group("the pipeline on the cluster (paths: object storage, gs:// s3:// ..., or absolute paths the pods mount)")
    group.add_argument("--work-dir", required=required, metavar="URI", help="pipeline root (URI/pipelines/NAME) and default serving dir (URI/serving/NAME)")
    group.add_argument("--data", required=required, metavar="URI", help="dataset root; the default of the runtime parameter data_root")
    group.add_argument("--dataset", choices=["auto", "ucf101", "hmdb51", "folder"], default="auto", help="dataset layout; the default of the runtime parameter dataset (default: %(default)s)")
    group.add_argument("--split", type=int, choices=[1, 2, 3], default=1, help="the default of the runtime parameter split (default: %(default)s)")
    group.add_argument("--serving-dir", metavar="URI", help="TF Serving base path; the default of the runtime parameter serving_base (default: WORK_DIR/serving/NAME)")
    group.add_argument("--name", default=defaults.name, help="pipeline name, also its name in Kubeflow (default: %(default)s)")
    group.add_argument("--image", default=kubeflow.image, help="the pipeline image every step runs in, as pushed to your registry (kubeflow/Dockerfile) (default: %(default)s)")
    group.add_argument("--gpus", type=int, default=kubeflow.gpus, help="GPUs requested for the Trainer step (default: %(default)s)")
    group.add_argument("--gpu-type", default=kubeflow.gpu_type, help="the GPU resource: nvidia.com/gpu on Kubeflow; on Vertex AI e.g. NVIDIA_TESLA_T4 (default: %(default)s)")
    group.add_argument("--trainer-cpus", type=float, default=kubeflow.trainer_cpus, help="CPU limit of the Trainer step; 0: the cluster's default (default: %(default)s)")
    group.add_argument("--trainer-memory", type=float, default=kubeflow.trainer_memory_gb, metavar="GB", help="memory limit of the Trainer step in GB; 0: the cluster's default (default: %(default)s)")
    group.add_argument("--workers", type=int, default=2, help="Beam DirectRunner processes inside a step's pod (default: %(default)s)")
    group.add_argument("--beam-arg", action="append", metavar="ARG", help="a Beam option for every Beam step (ingestion, Evaluator), repeatable")
    group.add_argument("--ingest-beam-arg", action="append", metavar="ARG", help="a Beam option for VideoExampleGen only, e.g. --ingest-beam-arg=--runner=DataflowRunner (repeatable)")
    group.add_argument("--no-cache", action="store_true", help="compile with Kubeflow's step cache off")
    group.add_argument("--seed", type=int, default=0, help="training seed (default: %(default)s)")
    parser.set_defaults(runner="beam")
    _add_ingest_options(parser)
    _add_folder_options(parser)
    _add_train_options(parser)
    _add_gate_options(parser)


def _add_kubeflow_command(commands) -> None:
    from harflow.config import KubeflowConfig

    kubeflow = commands.add_parser(
        "kubeflow",
        help="compile the pipeline for Kubeflow Pipelines / Vertex AI; submit it and start a run",
        description="`compile` builds the same pipeline as `harflow run` with TFX's KubeflowV2DagRunner into a "
        "PipelineSpec file, with runtime parameters data_root, dataset, split and serving_base. `submit --host URL` "
        "uploads it to Kubeflow Pipelines (a new version when the pipeline exists) and starts a run. Step by step, "
        "with the container image: docs/kubeflow.md.",
    )
    verbs = kubeflow.add_subparsers(dest="command_kubeflow", metavar="VERB", required=True)
    compile_ = verbs.add_parser(
        "compile",
        help="write the pipeline spec",
        description="Compile the pipeline (pipeline.pipeline.create_pipeline, as local runs build it) into a "
        "Kubeflow PipelineSpec (YAML; JSON when --output ends in .json): one Trainer step per variant, "
        "then ModelComparison, the Evaluator and the Pusher (docs/kubeflow.md).",
    )
    compile_.add_argument("--output", default=KubeflowConfig().output, metavar="FILE", help="the spec file (default: %(default)s)")
    _add_kubeflow_compile_options(compile_, required=True)
    compile_.set_defaults(func=cmd_kubeflow_compile)

    submit = verbs.add_parser(
        "submit",
        help="upload a spec to Kubeflow Pipelines and start a run",
        description="Upload the pipeline spec (--spec FILE, or compiled now from the same options as `compile`) "
        "with kfp.Client, as a new pipeline or a new version of the pipeline of that name, and start a run in "
        "the experiment; prints the run's link.",
    )
    connection = submit.add_argument_group("Kubeflow Pipelines (kfp.Client)")
    connection.add_argument("--host", help="the Kubeflow Pipelines endpoint, e.g. http://localhost:8080 after `kubectl port-forward -n kubeflow svc/ml-pipeline-ui 8080:80`, or https://HOST/pipeline (default: $KF_PIPELINES_ENDPOINT)")
    connection.add_argument("--spec", metavar="FILE", help="a spec from `harflow kubeflow compile` (otherwise compiled now from the options below)")
    connection.add_argument("--experiment", default="harflow", help="the experiment the run goes into, made when missing (default: %(default)s)")
    connection.add_argument("--run-name", help="(default: NAME and the UTC time)")
    connection.add_argument("--param", action="append", metavar="NAME=VALUE", help="a runtime parameter for this run: data_root, dataset, split, serving_base (repeatable)")
    connection.add_argument("--pipeline-root", metavar="URI", help="where this run's artifacts go (default: the spec's, WORK_DIR/pipelines/NAME)")
    connection.add_argument("--service-account", help="the Kubernetes service account the run's pods use")
    auth = submit.add_argument_group("signing in (as kfp.Client supports; none for an open endpoint)")
    auth.add_argument("--namespace", help="multi-user Kubeflow: your profile's namespace")
    auth.add_argument("--token", help="a bearer token (kfp's existing_token), e.g. `gcloud auth print-access-token`")
    auth.add_argument("--token-file", metavar="FILE", help="read the bearer token from FILE (keeps it out of shell history)")
    auth.add_argument("--cookies", help="a Cookie header, e.g. authservice_session=... from a browser session (Kubeflow with Dex)")
    auth.add_argument("--client-id", help="OAuth client id of the Identity-Aware Proxy in front of Kubeflow (GCP)")
    auth.add_argument("--sa-token", metavar="PATH", help="a Kubernetes service account token file (inside the cluster: /var/run/secrets/kubeflow/pipelines/token)")
    auth.add_argument("--ssl-ca-cert", metavar="FILE", help="CA bundle of a self-signed HTTPS endpoint")
    submit.set_defaults(output=KubeflowConfig().output)
    _add_kubeflow_compile_options(submit, required=False)
    submit.set_defaults(func=cmd_kubeflow_submit)


# --------------------------------------------------------------------------- main


def _runs_on_host(args: argparse.Namespace) -> bool:
    """Commands that need no TFX run on the host's Python; `data download` too, unless only the
    environment's root file system has a RAR extractor (bsdtar, installed there by harflow.env)."""
    if args.command == "env":
        return True
    if args.command == "data":
        from harflow.datasets.download import rar_extractor

        return args.verb == "stats" or rar_extractor() is not None or not env.needs_rootfs()
    return False


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    if args.verbose:
        os.environ["HARFLOW_DEBUG"] = "1"  # read by harflow.env_quiet, here and in the environment
    if not _runs_on_host(args) and os.environ.get(env.IN_ENV_FLAG) != "1":
        try:
            return env.run(["python", "-m", "harflow", *argv])
        except env.EnvironmentError_ as error:
            print(f"harflow: error: {error}", file=sys.stderr)
            return 2
    from harflow.env_quiet import quiet_python_logging

    quiet_python_logging()  # TFX's and TensorFlow's Python warnings (unless -v / HARFLOW_DEBUG=1)
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

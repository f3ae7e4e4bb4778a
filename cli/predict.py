"""`harflow predict`: top classes of clips or folders of clips, in process or from TF Serving;
--annotate draws the running prediction on a clip, --webcam and --stream predict live (docs/web.md)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from harflow.cli.options import UsageError, add_command, add_model_options, add_window_options, config_from
from harflow.cli.progress import progress
from harflow.config import ServingConfig, WebConfig


def add_commands(commands) -> None:
    predict = add_command(commands, "predict", cmd_predict, "top-5 classes of clips, folders of clips, a webcam or a stream")
    predict.add_argument("videos", nargs="*", metavar="VIDEO", help="video file(s) or folder(s) of them (searched recursively)")
    add_model_options(predict)
    output = predict.add_argument_group("output, long clips and live video")
    formats = output.add_mutually_exclusive_group()
    formats.add_argument("--json", action="store_true", help="a JSON list, one object per clip (the web API's answer, with a timeline for long clips)")
    formats.add_argument("--csv", action="store_true", help="CSV: file, class_1, probability_1, ..., seconds, duration_s, error, duration_complete (false: the clip goes on past --max-clip-seconds, duration_s is a lower bound)")
    output.add_argument("--annotate", metavar="OUT.mp4", help="write the clip with the running prediction drawn on every frame (.mp4 or .avi)")
    output.add_argument("--webcam", nargs="?", type=int, const=0, metavar="N", help="predict live on webcam N (default 0)")
    output.add_argument("--stream", metavar="URL", help="predict live on a stream (rtsp://, http://, or a video file)")
    output.add_argument("--no-window", action="store_true", help="with --webcam/--stream: print lines even when a display is available")
    add_window_options(output)


def cmd_predict(args: argparse.Namespace) -> int:
    """Read each clip with OpenCV, sample frames as training did, and print the top classes: one clip as a
    ranked list, several clips or folders as a table (or --json / --csv) with a progress bar on stderr.
    --annotate OUT.mp4 writes the clip with the running prediction drawn on it; --webcam [N] and
    --stream URL predict on a rolling window of the last seconds (docs/web.md)."""
    if args.webcam is not None or args.stream:
        return predict_live(args)
    videos = video_files(args.videos)
    if args.annotate:
        return predict_annotate(args, videos)
    if len(videos) > 1 or args.json or args.csv or any(Path(v).is_dir() for v in args.videos):
        return predict_many(args, videos)
    if args.server or args.rest:
        return predict_remote(args)
    print_predictions(args.model, videos, top=args.top_k)
    return 0


def print_predictions(model_path: str, videos: list[str], top: int) -> None:
    """Each clip's top classes from the model loaded here, ranked, with the time each took."""
    from harflow.serving.predictor import open_predictor

    predictor = open_predictor(model=model_path)
    try:
        print(f"model: {predictor.description}")
        print_top_classes(predictor, videos, top)
    finally:
        predictor.close()


def print_top_classes(predictor, videos: list[str], top: int) -> None:
    """One ranked list per clip, from any Predictor."""
    from harflow.serving.predictor import predict_file

    for video in videos:
        started = time.monotonic()
        predictions = predict_file(predictor, video, top=top)
        print(f"{video}  ({(time.monotonic() - started) * 1000:.0f} ms)")
        for rank, (name, probability) in enumerate(predictions, 1):
            print(f"  {rank}. {name:<24} {probability:.4f}")


def web_config(args: argparse.Namespace) -> WebConfig:
    return config_from(WebConfig, args)


def open_predictor(args: argparse.Namespace):
    """The model of --model in process, or the server of --server / --rest (connected once)."""
    from harflow.serving.clients import ServerError, ServerUnavailable
    from harflow.serving.predictor import open_predictor as open_any

    try:
        return open_any(model=args.model, server=args.server, rest=args.rest, serving=config_from(ServingConfig, args))
    except (ServerUnavailable, ServerError, ValueError) as error:
        raise UsageError(str(error)) from None


def predict_remote(args: argparse.Namespace) -> int:
    """Top classes from a model server: gRPC (--server HOST:PORT) or REST (--rest URL)."""
    from harflow.serving.clients import ServerError, ServerUnavailable

    predictor = open_predictor(args)
    try:
        print(f"server: {args.server or args.rest}  model: {predictor.description}  signature: {args.signature}")
        print_top_classes(predictor, args.videos, args.top_k)
    except (ServerUnavailable, ServerError) as error:
        raise UsageError(str(error)) from None
    finally:
        predictor.close()
    return 0


def video_files(paths: list[str]) -> list[Path]:
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


def predict_many(args: argparse.Namespace, videos: list[Path]) -> int:
    """Every clip's top classes as a table, or --json / --csv; a progress bar on stderr.
    Exit status (EXIT_STATUS): 1 when some of several clips failed, 2 when the only clip was refused."""
    import json

    from harflow.serving.analysis import analyse_clip
    from harflow.serving.clients import ServerError, ServerUnavailable

    config = web_config(args)
    predictor = open_predictor(args)
    bar = progress("predict") if len(videos) > 1 else None
    rows: list[dict] = []
    try:
        for done, video in enumerate(videos, 1):
            try:
                rows.append(analyse_clip(video, predictor, config, with_timeline=args.json).to_json(str(video)))
            except ValueError as error:  # harflow.video.ClipError: this clip only
                rows.append({"file": str(video), "error": str(error)})
            if bar:
                bar(done, len(videos), video.name)
    except (ServerUnavailable, ServerError) as error:
        raise UsageError(str(error)) from None
    finally:
        predictor.close()
    if args.json:
        print(json.dumps(rows, indent=1, ensure_ascii=False))
    elif args.csv:
        print_csv(rows, args.top_k)
    else:
        print(f"model: {predictor.description}")
        print_table(rows)
    failed = [row for row in rows if "error" in row]
    for row in failed:
        print(f"harflow: {row['error']}", file=sys.stderr)
    if not failed:
        return 0
    return 2 if len(videos) == 1 else 1  # one refused video is an input error; several: some inputs failed


def print_csv(rows: list[dict], top: int) -> None:
    import csv

    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(["file", *[f"{kind}_{rank}" for rank in range(1, top + 1) for kind in ("class", "probability")], "seconds", "duration_s", "error", "duration_complete"])
    for row in rows:
        ranked = [value for entry in row.get("top", []) for value in (entry["class"], f"{entry['probability']:.6f}")]
        ranked += [""] * (2 * top - len(ranked))
        writer.writerow([row["file"], *ranked, row.get("seconds", ""), row.get("duration_s", ""), row.get("error", ""), _csv_flag(row.get("duration_complete"))])


def _csv_flag(value: bool | None) -> str:
    return "" if value is None else str(value).lower()  # true / false, as in --json; empty for a clip that failed


def print_table(rows: list[dict]) -> None:
    width = max(len(row["file"]) for row in rows)
    print(f"{'clip':<{width}}  {'top class':<22} {'p':>6}  {'second':<22} {'p':>6}  {'ms':>6}")
    for row in rows:
        if "error" in row:
            print(f"{row['file']:<{width}}  error: {row['error']}")
            continue
        ranked = [(entry["class"], entry["probability"]) for entry in row["top"]] + [("", 0.0)]
        (first, p1), (second, p2) = ranked[0], ranked[1]
        print(f"{row['file']:<{width}}  {first:<22} {p1:6.3f}  {second:<22} {p2:6.3f}  {row['seconds'] * 1000:6.0f}")


def predict_annotate(args: argparse.Namespace, videos: list[Path]) -> int:
    """--annotate OUT: the clip with the running prediction drawn on every frame."""
    from harflow.serving.live import annotate

    if len(videos) != 1:
        raise UsageError(f"--annotate writes one video: give one clip, not {len(videos)}")
    predictor = open_predictor(args)
    try:
        written = annotate(videos[0], args.annotate, predictor, web_config(args), progress=progress("annotate"))
    finally:
        predictor.close()
    print(f"wrote {args.annotate}: {written} frames of {videos[0]} with the prediction of the last "
          f"{args.window_seconds:g} s, renewed every {args.step_seconds:g} s")
    return 0


def predict_live(args: argparse.Namespace) -> int:
    """--webcam [N] / --stream URL: predict on a rolling window; a live window, or lines without a display."""
    from harflow.serving.live import display_available, watch

    if args.webcam is not None and args.stream:
        raise UsageError("give --webcam [N] or --stream URL, not both")
    source = args.webcam if args.webcam is not None else args.stream
    predictor = open_predictor(args)
    show = False if args.no_window else display_available()
    print(f"{'webcam ' + str(source) if args.webcam is not None else source}: the last {args.window_seconds:g} s, "
          f"predicted every {args.step_seconds:g} s with {predictor.description}"
          f"{' (q in the window stops)' if show else ' (Ctrl-C stops)'}", flush=True)
    try:
        watch(source, predictor, web_config(args), show=show, emit=lambda line: print(line, flush=True))
    finally:
        predictor.close()
    return 0


"""Ingestion speed: VideoExampleGen's Beam job vs a bare OpenCV loop, 2 workers vs 1, sampled vs whole decoding.

    bin/harflow env run -- python benchmarks/ingest.py            # 200 clips of 7 s, 320x240 (a few minutes)
    bin/harflow env run -- python benchmarks/ingest.py --quick    # 24 clips of 2 s: checks the script

Clips: generated MJPG AVIs (OpenCV's FourCC MJPG, 25 fps, 320x240), a
textured background that drifts plus a moving box, in a folder-per-class
layout (`Class/v_Class_gNN_cNN.avi`), cached in ~/.cache/harflow/bench/ so
re-runs skip the generation. Every variant turns each clip into 8 frames of
64x64 JPEG (quality 90), the pipeline's defaults:

- bare OpenCV loop: one process; per clip VideoCapture, grab() up to the last
  sampled frame, retrieve() + resize + BGR->RGB + imencode the sampled ones.
  No Beam, no tf.train.Example, no TFRecord: the floor the component is held to.
- component, 1 worker: `write_examples` (VideoExampleGen's Beam job: reader
  index, Reshuffle, decode/sample/encode, Example, gzip TFRecords, rejects,
  statistics facts) on the DirectRunner in_memory (what `--workers 1` runs).
- component, 2 workers: the same job, DirectRunner multi_processing with 2
  worker processes (`--workers 2`, the default); worker start-up included.

Times are wall-clock for the whole set, variants alternating within each
round; the tables give medians over rounds. A last table compares, per clip,
`read_clip` (decoding only up to the last sampled frame, converting only the
sampled ones) with reading and converting every frame and then sampling.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.report import markdown_table, write_section  # noqa: E402

NAME = "ingest"
FPS = 25
CLASSES = 10


def cache_root() -> Path:
    base = os.environ.get("HARFLOW_CACHE") or os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "harflow")
    return Path(base) / "bench"


def generate(clips: int, seconds: float, width: int, height: int) -> Path:
    """`clips` MJPG AVIs in a folder-per-class layout; made once per size and kept in the cache."""
    import cv2
    import numpy as np

    from harflow.video import write_video

    root = cache_root() / f"ingest-{clips}x{seconds:g}s-{width}x{height}"
    marker = root / "harflow-bench.json"
    if marker.is_file():
        return root
    shutil.rmtree(root, ignore_errors=True)
    frames_per_clip = int(round(seconds * FPS))
    rng = np.random.default_rng(0)
    started = time.monotonic()
    for number in range(clips):
        cls = f"Class{number % CLASSES:02d}"
        group, take = divmod(number // CLASSES, 2)
        small = rng.integers(0, 256, (height // 8, width // 8 + frames_per_clip // 8 + 1, 3), dtype=np.uint8)
        texture = cv2.resize(small, (small.shape[1] * 8, height), interpolation=cv2.INTER_CUBIC)  # [H, W + travel, 3]
        video = np.empty((frames_per_clip, height, width, 3), np.uint8)
        for t in range(frames_per_clip):
            frame = texture[:, t : t + width].copy()
            x = int((width - 40) * t / max(frames_per_clip - 1, 1))
            cv2.rectangle(frame, (x, height // 3), (x + 40, height // 3 + 60), (255, 255, 255), -1)
            video[t] = frame
        write_video(root / cls / f"v_{cls}_g{group + 1:02d}_c{take + 1:02d}.avi", video, fps=FPS)
        if (number + 1) % 20 == 0:
            print(f"generated {number + 1}/{clips} clips ({time.monotonic() - started:.0f} s)", file=sys.stderr, flush=True)
    marker.write_text(json.dumps({"clips": clips, "seconds": seconds, "size": [width, height], "fps": FPS, "codec": "MJPG"}))
    return root


def bare_loop(paths: list[str], num_frames: int, size: int, quality: int) -> None:
    """The floor: decode, resize and encode the same sampled frames with OpenCV alone.

    The one cv2.VideoCapture outside harflow/video.py, on purpose: the baseline harflow's reader is
    measured against (tests/test_one_reader.py names this exception)."""
    import cv2

    from harflow.video import sample_indices

    for path in paths:
        capture = cv2.VideoCapture(path)
        wanted = sample_indices(int(capture.get(cv2.CAP_PROP_FRAME_COUNT)), num_frames)
        for index in range(wanted[-1] + 1):
            capture.grab()
            if index in wanted:
                _, frame = capture.retrieve()
                frame = cv2.cvtColor(cv2.resize(frame, (size, size), interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2RGB)
                cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, quality])
        capture.release()


def direct_options(workers: int) -> list[str]:
    mode = "multi_processing" if workers > 1 else "in_memory"
    return [f"--direct_running_mode={mode}", f"--direct_num_workers={workers}"]


def component(clips, config, workers: int, options: list[str] | None = None) -> dict:
    """VideoExampleGen's Beam job (on the DirectRunner with `workers`, unless `options` say otherwise); its counts."""
    import apache_beam as beam
    from apache_beam.options.pipeline_options import PipelineOptions

    from harflow.components.video_example_gen.beam_job import write_examples

    out = tempfile.mkdtemp(prefix="harflow-bench-ingest-")
    try:
        pipeline = beam.Pipeline(options=PipelineOptions(options or direct_options(workers)))
        return write_examples(pipeline, clips, config, out)
    finally:
        shutil.rmtree(out, ignore_errors=True)


def whole_clip(path: str, num_frames: int, size: int):
    """Read and convert every frame, then sample: what a reader that ignores the sampling does."""
    import numpy as np

    from harflow.video import VideoSource, resized, sample_indices

    with VideoSource(path) as source:
        frames = [resized(frame, size, size) for frame in source]  # every frame decoded and converted to RGB
    return np.stack([frames[i] for i in sample_indices(len(frames), num_frames)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=7.0, help="clip length (default: %(default)s)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="24 clips of 2 s, 1 round: checks the script")
    args = parser.parse_args()
    if args.quick:
        args.clips, args.seconds, args.rounds = 24, 2.0, 1

    import tensorflow as tf  # noqa: F401  (imported once up front: not part of any timing)

    from harflow.datasets.folder import read_folder
    from harflow.config import IngestConfig
    from harflow.video import read_clip

    root = generate(args.clips, args.seconds, 320, 240)
    clips = list(read_folder(root).clips)
    paths = [clip.path for clip in clips]
    config = IngestConfig(dataset_root=str(root), dataset="folder")
    n, size, quality = config.num_frames, config.image_size, config.jpeg_quality

    # Every clip twice (as another clip id): twice the work for the same start-up.
    doubled = clips + [dataclasses.replace(clip, clip_id=f"{clip.clip_id}#2") for clip in clips]
    variants = {
        "bare OpenCV loop (1 process)": lambda: bare_loop(paths, n, size, quality),
        "component, 1 worker (in_memory)": lambda: component(clips, config, 1),
        "component, 2 workers (multi_processing)": lambda: component(clips, config, 2),
        f"component, 1 worker, {len(doubled)} clips (each twice)": lambda: component(doubled, config, 1),
        f"component, 2 workers, {len(doubled)} clips (each twice)": lambda: component(doubled, config, 2),
    }
    load_before = os.getloadavg()[0]
    seconds = {name: [] for name in variants}
    for round_number in range(args.rounds):
        for name, run in variants.items():
            started = time.perf_counter()
            result = run()
            seconds[name].append(time.perf_counter() - started)
            if isinstance(result, dict):
                assert sum(v for k, v in result.items() if k.startswith("written_")) in (len(clips), len(doubled)), result
            print(f"round {round_number + 1}/{args.rounds}: {name}: {seconds[name][-1]:.1f} s", file=sys.stderr, flush=True)

    median = {name: statistics.median(values) for name, values in seconds.items()}
    bare, one, two, one_doubled, two_doubled = (median[name] for name in variants)
    counts = [len(clips)] * 3 + [len(doubled)] * 2
    rows = [[name, f"{median[name]:.1f}", f"{count / median[name]:.1f}"] for name, count in zip(variants, counts)]
    ratios = [
        ["component (1 worker) / bare loop, clips/s", f"{bare / one:.2f}", ">= 0.8"],
        [f"2 workers / 1 worker, clips/s ({len(clips)} clips, start-up included)", f"{one / two:.2f}", ">= 1.6"],
        [f"2 workers / 1 worker, clips/s ({len(doubled)} clips, start-up included)", f"{one_doubled / two_doubled:.2f}", ">= 1.6"],
    ]

    sample = paths[: min(len(paths), 40)]
    per_clip = {"read_clip: decode up to the last sampled frame, convert 8": [], "read and convert every frame, then sample": []}
    for path in sample:
        for name, read in zip(per_clip, (lambda p: read_clip(p, n, size), lambda p: whole_clip(p, n, size))):
            started = time.perf_counter()
            read(path)
            per_clip[name].append(1000 * (time.perf_counter() - started))
    decode_rows = [[name, f"{statistics.median(values):.1f}"] for name, values in per_clip.items()]
    a, b = (statistics.median(values) for values in per_clip.values())

    import cv2

    load_after = os.getloadavg()[0]
    load_note = (
        f"Load average (1 min) {load_before:.1f} before and {load_after:.1f} after the timed rounds (ours included) on "
        f"{os.cpu_count()} cores; OpenCV uses {cv2.getNumThreads()} threads per process. "
        + (
            "The machine was busy with other work: the ratios, the worker ratio above all, are not reliable."
            if load_before > 0.5 * (os.cpu_count() or 1)  # before: our own work (bar clip generation) not yet in it
            else "The machine was otherwise idle."
        )
    )
    body = (
        f"{len(clips)} generated clips of {args.seconds:g} s ({int(round(args.seconds * FPS))} frames at {FPS} fps), "
        f"320x240 MJPG AVI, {CLASSES} classes; each becomes {n} frames of {size}x{size} JPEG (quality {quality}). "
        f"Wall-clock for the whole set, median of {args.rounds} round(s), variants alternating "
        "(the component's times include Beam's start-up and, with 2 workers, starting the worker processes). "
        f"The runs on {len(doubled)} clips list every clip twice: with more work, the fixed start-up (worker processes, "
        "Beam's stages) weighs less, and the 2-worker ratio moves towards what a long job gets.\n\n"
        + markdown_table(["variant", "median s", "clips/s"], rows)
        + "\n\n"
        + markdown_table(["ratio", "measured", "goal"], ratios)
        + f"\n\n{load_note}"
        + f"\n\nDecoding one clip, median over {len(sample)} clips (ms):\n\n"
        + markdown_table(["reader", "median ms/clip"], decode_rows)
        + f"\n\nSampled / whole: {a / b:.2f} of the time. OpenCV's FFmpeg `grab()` still decodes each frame up to "
        "the last sampled one; what sampling saves is converting and resizing the frames that are not kept, "
        "and the tail after the last sampled frame."
    )
    command = "bin/harflow env run -- python benchmarks/ingest.py" + (" --quick" if args.quick else "")
    write_section(NAME, "Ingestion: VideoExampleGen vs a bare OpenCV loop, 2 workers vs 1", command, body)


if __name__ == "__main__":
    main()

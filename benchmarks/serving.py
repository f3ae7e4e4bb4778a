"""End-to-end prediction time for one 10-s 320x240 clip: in process vs over gRPC.

    bin/harflow env run -- python benchmarks/serving.py            # full: 30 clips, 8 concurrent clients
    bin/harflow env run -- python benchmarks/serving.py --quick    # a smoke run: 4 short clips

"End to end" is what a user waits for: decode and sample the clip
(serving.inputs.clip_input, as training did), predict, answer the top-5
classes. Both through serving.predictor's predict_file: in process,
open_predictor(model=...); over gRPC, open_predictor(server=...) against tests/tf_serving_standin.py (GrpcStandIn), an in-process
STAND-IN for TF Serving's PredictionService (TF Serving's binary is not
available here), so server and client share this machine's cores, as they
would on a 2-core serving box running both.

Models, both exported by trainer/export.py (the real serving signatures):
- goal: the model zoo's `mobilenet_v2+gru` (trainer.model.build_model: MobileNetV2
  alpha 1.0 with random weights, which do not change the time, per frame ->
  GRU(64)), 16 frames of 224x224;
- default: harflow's default model (trainer.model.build_model, 8 frames of 64x64).

Latencies: each clip once per mode, after one warm-up call; median and p95 over
the clips (and the decoding alone, to show the model's share); then 8 client threads each sending every clip (8 x clips requests),
p95 of those latencies and the throughput. The goal: the MobileNetV2 model
under 0.5 s median and 1 s p95 on 2 cores.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.report import markdown_table, write_section  # noqa: E402
from harflow.serving.predictor import open_predictor, predict_file  # noqa: E402

NAME = "serving"
CLASS_NAMES = [f"class{i:02d}" for i in range(101)]  # UCF101's class count


def goal_model(num_frames: int, image_size: int, num_classes: int):
    """The model zoo's mobilenet_v2+gru (random weights: weights do not change the time); uint8 frames in."""
    from harflow.config import IngestConfig, TrainConfig
    from harflow.trainer.model import build_model

    ingest = IngestConfig(num_frames=num_frames, image_size=image_size)
    return build_model(num_classes, ingest, TrainConfig(backbone="mobilenet_v2", head="gru", weights="none"))


def default_model(num_classes: int):
    from harflow.config import IngestConfig, TrainConfig
    from harflow.trainer.model import build_model

    return build_model(num_classes, IngestConfig(), TrainConfig()), IngestConfig()


def export(model, base: Path, ingest) -> Path:
    from harflow.trainer.export import export_saved_model

    export_saved_model(model, str(base / "1"), CLASS_NAMES[: model.output_shape[-1]], ingest)
    return base


def write_clips(folder: Path, count: int, seconds: float, fps: float = 25.0) -> list[Path]:
    """`count` clips of `seconds` at 320x240: a moving square over noise (decoding cost is what matters)."""
    import numpy as np

    from harflow.video import write_video

    rng = np.random.default_rng(0)
    frames = int(seconds * fps)
    clips = []
    for i in range(count):
        video = np.broadcast_to(rng.integers(0, 255, (1, 240, 320, 3), dtype=np.uint8), (frames, 240, 320, 3)).copy()
        for t in range(frames):
            x = (i * 7 + t * 2) % 280
            video[t, 100:140, x : x + 40] = 255
        path = folder / f"clip{i:02d}.avi"
        write_video(path, video, fps=fps)
        clips.append(path)
    return clips


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def time_calls(call, clips: list[Path]) -> list[float]:
    call(clips[0])  # warm-up: traces the graph, opens the channel
    seconds = []
    for clip in clips:
        started = time.perf_counter()
        call(clip)
        seconds.append(time.perf_counter() - started)
    return seconds


def concurrent(make_client, clips: list[Path], clients: int) -> tuple[list[float], float]:
    """`clients` threads, each with its own predictor (warmed up as it opens), each predicting every clip; (latencies, wall seconds)."""
    latencies, lock = [], threading.Lock()
    barrier = threading.Barrier(clients + 1)

    def work() -> None:
        client = make_client()
        barrier.wait()
        mine = []
        for clip in clips:
            started = time.perf_counter()
            predict_file(client, clip, top=5)
            mine.append(time.perf_counter() - started)
        client.close()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=work) for _ in range(clients)]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    return latencies, time.perf_counter() - started


def measure(label: str, base: Path, clips: list[Path], clients: int) -> list[list[object]]:
    from tests.tf_serving_standin import GrpcStandIn

    from harflow.config import ServingConfig
    from harflow.serving.inputs import clip_input

    model = open_predictor(model=base)
    decode = time_calls(lambda clip: clip_input(clip, model.num_frames, model.image_size), clips)
    local = time_calls(lambda clip: predict_file(model, clip, top=5), clips)
    with GrpcStandIn("harflow", base, workers=clients) as server:
        patient = ServingConfig(timeout_s=300.0)  # the first call builds the graph: slow on a busy machine
        client = open_predictor(server=server.target, serving=patient)
        remote = time_calls(lambda clip: predict_file(client, clip, top=5), clips)
        client.close()
        loaded, wall = concurrent(lambda: open_predictor(server=server.target, serving=patient), clips, clients)
    spec = f"{model.num_frames} frames of {model.image_size}x{model.image_size}"
    rows = [[label, spec, "decode + sample only", 1, f"{statistics.median(decode):.3f}", f"{percentile(decode, 95):.3f}", "-"]]
    for mode, seconds in (("in process", local), ("gRPC (stand-in)", remote)):
        rows.append([label, spec, mode, 1, f"{statistics.median(seconds):.3f}", f"{percentile(seconds, 95):.3f}", "-"])
    rows.append([label, spec, "gRPC (stand-in)", clients, f"{statistics.median(loaded):.3f}", f"{percentile(loaded, 95):.3f}", f"{len(loaded) / wall:.1f}"])
    for row in rows:
        print(" | ".join(str(c) for c in row), flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=30, help="clips (each timed once per mode) (default: %(default)s)")
    parser.add_argument("--seconds", type=float, default=10.0, help="clip length (default: %(default)s)")
    parser.add_argument("--clients", type=int, default=8, help="concurrent gRPC clients (default: %(default)s)")
    parser.add_argument("--frames", type=int, default=16, help="goal model: frames per clip (default: %(default)s)")
    parser.add_argument("--size", type=int, default=224, help="goal model: frame size (default: %(default)s)")
    parser.add_argument("--quick", action="store_true", help="4 clips of 2 s, 2 clients, 112x112 frames; no report written")
    args = parser.parse_args()
    if args.quick:
        args.clips, args.seconds, args.clients, args.size = 4, 2.0, 2, 112

    import os

    from harflow.config import IngestConfig

    with tempfile.TemporaryDirectory(prefix="harflow-bench-serving-") as tmp:
        tmp = Path(tmp)
        clips = write_clips(tmp / "clips", args.clips, args.seconds)
        goal = export(goal_model(args.frames, args.size, 101), tmp / "goal", IngestConfig(num_frames=args.frames, image_size=args.size))
        model, ingest = default_model(101)
        default = export(model, tmp / "default", ingest)
        rows = measure("MobileNetV2 + GRU (goal)", goal, clips, args.clients)
        rows += measure("harflow default (small CNN + GRU)", default, clips, args.clients)

    header = ["model", "input", "mode", "clients", "median s", "p95 s", "clips/s"]
    print(markdown_table(header, rows))
    if args.quick:
        return
    body = (
        f"One {args.seconds:g}-s 320x240 clip (25 fps MJPG) end to end: decode and sample it (serving.inputs.clip_input), "
        f"predict, answer the top 5. {args.clips} different clips, each timed once per mode after a warm-up; "
        f"with {args.clients} clients, each client thread sends every clip ({args.clients * args.clips} requests). "
        "gRPC goes to tests/tf_serving_standin.py (GrpcStandIn), an in-process stand-in for TF Serving's PredictionService "
        "(no TF Serving binary here): server and clients share the machine's cores. "
        "The goal model is the model zoo's mobilenet_v2+gru (trainer.model.build_model: MobileNetV2 with random weights "
        "-> GRU(64), 101 classes), the default model is small+gru; both exported with trainer/export.py. "
        "\"decode + sample only\" times serving.inputs.clip_input alone (OpenCV reads up to the last sampled "
        f"frame of the clip): the part of each end-to-end time that is not the model. The machine has {os.cpu_count()} cores; "
        "TensorFlow and OpenCV use all of them.\n\n"
        + markdown_table(header, rows)
        + "\n\nGoal: MobileNetV2 + GRU, 16 frames: median < 0.5 s and p95 < 1 s on 2 cores (one client)."
    )
    write_section(NAME, "Serving: one clip end to end, in process vs gRPC", "bin/harflow env run -- python benchmarks/serving.py", body)


if __name__ == "__main__":
    main()

"""GPU vs CPU training throughput of MobileNetV2+GRU on the synthetic set (mixed precision on GPUs).

    bin/harflow env run -- python benchmarks/gpu_train.py            # writes the table into docs/benchmarks.md
    python benchmarks/gpu_train.py --no-write                         # a plain venv with harflow installed

For a machine with one or more NVIDIA GPUs: it renders the synthetic clips in memory
(harflow.datasets.synth, 8 classes), builds the Trainer's model (trainer.model.build_parts, MobileNetV2
fine-tuned as the Trainer does, GRU head) and fits it on each device kind, alternating rounds:
the CPU with float32, and the GPUs with the policy the Trainer uses there (mixed_float16) under
MirroredStrategy when there is more than one GPU (trainer.task.distribution_strategy). Each round
is a few timed training steps after a warm-up; the table gives the median clips/s over rounds and
the ratio to the CPU. On a machine without a GPU it says so and measures the CPU only.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.report import markdown_table, write_section  # noqa: E402


def synthetic_clips(clips_per_class: int, num_frames: int, image_size: int, seed: int = 0):
    """(clips [N, T, H, W, 3] uint8, labels [N]) rendered by harflow.datasets.synth, T frames spread over each clip."""
    import numpy as np

    from harflow.datasets.synth import CLASSES, SynthConfig, render_clip

    cfg = SynthConfig(size=image_size, seed=seed)
    rng = np.random.default_rng(seed)
    clips, labels = [], []
    for label, name in enumerate(CLASSES):
        for _ in range(clips_per_class):
            frames = render_clip(name, rng, cfg)  # [33, size, size, 3]
            picks = np.linspace(0, len(frames) - 1, num_frames).round().astype(int)
            clips.append(frames[picks])
            labels.append(label)
    return np.stack(clips), np.asarray(labels)


def build(device_kind: str, gpus: int, num_classes: int, ingest, train):
    """The Trainer's model for `device_kind` (cpu or gpu), compiled under the Trainer's strategy and policy."""
    import keras
    import tensorflow as tf

    from harflow.trainer.model import assemble, build_parts, compile_model
    from harflow.trainer.task import distribution_strategy, precision_policy

    keras.mixed_precision.set_global_policy(precision_policy("auto", gpus if device_kind == "gpu" else 0))
    device = "/CPU:0" if device_kind == "cpu" else None
    strategy = distribution_strategy(gpus) if device_kind == "gpu" and gpus > 1 else tf.distribute.OneDeviceStrategy(device or "/GPU:0")
    with strategy.scope():
        encoder, head = build_parts(num_classes, ingest, train)
        model = compile_model(assemble(encoder, head, "mobilenet_v2_gru"), train)
    keras.mixed_precision.set_global_policy("float32")
    return model, strategy


def clips_per_second(model, clips, labels, batch: int, steps: int) -> float:
    import tensorflow as tf

    # a model built under MirroredStrategy's scope splits each batch among the GPUs by itself
    data = tf.data.Dataset.from_tensor_slices((clips, labels)).repeat().batch(batch, drop_remainder=True)
    model.fit(data, steps_per_epoch=2, epochs=1, verbose=0)  # trace and warm up
    started = time.perf_counter()
    model.fit(data, steps_per_epoch=steps, epochs=1, verbose=0)
    return steps * batch / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=10, help="timed training steps per round")
    parser.add_argument("--batch", type=int, default=32, help="clips per step (split among GPUs)")
    parser.add_argument("--clips-per-class", type=int, default=16)
    parser.add_argument("--weights", default="none", help="imagenet (needs the weights file) or none (same speed)")
    parser.add_argument("--no-write", action="store_true", help="print the table instead of writing docs/benchmarks.md")
    args = parser.parse_args()

    import tensorflow as tf

    from harflow.config import IngestConfig, TrainConfig

    gpus = len(tf.config.list_physical_devices("GPU"))
    ingest = IngestConfig(num_frames=8, image_size=96)
    train = TrainConfig(backbone="mobilenet_v2", head="gru", weights=args.weights, cache_trunk="off")
    clips, labels = synthetic_clips(args.clips_per_class, ingest.num_frames, ingest.image_size)
    kinds = ["cpu", "gpu"] if gpus else ["cpu"]
    models = {kind: build(kind, gpus, int(labels.max()) + 1, ingest, train) for kind in kinds}
    rates = {kind: [] for kind in kinds}
    for round_number in range(args.rounds):
        for kind, (model, _) in models.items():
            rates[kind].append(clips_per_second(model, clips, labels, args.batch, args.steps))
            print(f"round {round_number + 1}: {kind} {rates[kind][-1]:.1f} clips/s", flush=True)
    cpu = statistics.median(rates["cpu"])
    names = {"cpu": "CPU, float32", "gpu": f"{gpus} GPU(s), mixed_float16" + (", MirroredStrategy" if gpus > 1 else "")}
    rows = [[names[k], f"{statistics.median(v):.1f}", f"{statistics.median(v) / cpu:.2f}x"] for k, v in rates.items()]
    body = markdown_table(["device", "clips/s (median)", "vs CPU"], rows)
    if not gpus:
        body += "\n\nNo GPU visible to TensorFlow on this machine: only the CPU row was measured."
    if args.no_write:
        print(body)
        return
    write_section(
        "gpu-train",
        "Training on GPU vs CPU: MobileNetV2+GRU, synthetic clips",
        "bin/harflow env run -- python benchmarks/gpu_train.py",
        body,
    )


if __name__ == "__main__":
    main()

"""Training-step time of the default model, stride-2 first convolution vs stride 1.

    bin/harflow env run -- python benchmarks/train_step.py

Both models are built by trainer.model.build_model with the default config (8
frames of 64x64, GRU 64); they differ only in small_cnn's `first_stride`.
Rounds alternate between the variants so both see the same machine load;
the table gives the median over rounds of the mean step time over the steps
of one round, and the ratio of the medians.
"""

from __future__ import annotations

import argparse
import functools
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.report import markdown_table, write_section  # noqa: E402


def build(first_stride: int, num_classes: int = 8):
    from harflow.config import IngestConfig, TrainConfig
    from harflow.trainer import backbones, model as models

    default = backbones.FROM_SCRATCH["small"]
    backbones.FROM_SCRATCH["small"] = functools.partial(backbones.small_cnn, first_stride=first_stride)
    try:
        return models.build_model(num_classes, IngestConfig(), TrainConfig(backbone="small"))
    finally:
        backbones.FROM_SCRATCH["small"] = default


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=10, help="training steps per round")
    parser.add_argument("--batch", type=int, default=16, help="clips per step")
    args = parser.parse_args()

    import numpy as np

    from harflow.config import IngestConfig

    ingest = IngestConfig()
    rng = np.random.default_rng(0)
    clips = rng.integers(0, 256, (args.batch, ingest.num_frames, ingest.image_size, ingest.image_size, 3), dtype=np.uint8)
    labels = rng.integers(0, 8, args.batch)
    variants = {"first conv stride 1 (before)": build(1), "first conv stride 2 (default)": build(2)}
    for model in variants.values():  # trace and warm up
        for _ in range(2):
            model.train_on_batch(clips, labels)
    seconds = {name: [] for name in variants}
    for round_number in range(args.rounds):
        for name, model in variants.items():
            started = time.perf_counter()
            for _ in range(args.steps):
                model.train_on_batch(clips, labels)
            seconds[name].append((time.perf_counter() - started) / args.steps)
        print(f"round {round_number + 1}/{args.rounds} done", file=sys.stderr, flush=True)

    baseline = statistics.median(seconds["first conv stride 1 (before)"])
    rows = []
    for name, model in variants.items():
        median = statistics.median(seconds[name])
        rows.append([name, f"{model.count_params():,}", f"{median:.3f}", f"{min(seconds[name]):.3f}", f"{median / baseline:.2f}"])
    body = (
        f"One training step on {args.batch} clips of {ingest.num_frames} frames of "
        f"{ingest.image_size}x{ingest.image_size} (the demo's batch), median of {args.rounds} rounds of "
        f"{args.steps} steps, variants alternating.\n\n"
        + markdown_table(["frame CNN", "parameters", "median s/step", "best s/step", "ratio to stride 1"], rows)
    )
    write_section(
        "train-step",
        "Training step: the frame CNN's first convolution, stride 2 vs 1",
        "bin/harflow env run -- python benchmarks/train_step.py",
        body,
    )


if __name__ == "__main__":
    main()

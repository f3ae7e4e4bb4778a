"""Inference time of the model zoo's mobilenet_v2+gru per clip: frames folded in one CNN call vs a few at a time.

    bin/harflow env run -- python benchmarks/inference.py            # 16 frames of 224x224, 15 rounds
    bin/harflow env run -- python benchmarks/inference.py --quick    # 8 frames of 112x112, 3 rounds; no report

Why: the serving benchmark's goal model (trainer.model.build_model,
MobileNetV2 -> GRU(64), 16 frames of 224x224) took 0.27 s per clip in
predict where a plain Keras TimeDistributed(MobileNetV2) + GRU took 0.17 s.
The difference is how the frames meet the CNN: Keras 3's TimeDistributed
calls it once per frame (a static Python loop), harflow's
FoldedTimeDistributed folded all 16 frames into one batch, and on a CPU one
MobileNetV2 call on 16 frames of 224x224 is slower than 16 calls on one frame
(the activations of 16 frames, ~77 MB per layer at full resolution, do not
stay in the CPU's caches). FoldedTimeDistributed now folds at most two
224x224 frames per call (trainer.model.PIXELS_PER_CALL); small frames (8 x
64x64 in training) are still folded all at once.

Measured side by side, in rounds (each model once per round, in turn), on
one random clip (uint8 [1, T, H, W, 3]); the medians over rounds:
- each model's SavedModel `serving_default` (trainer/export.py: what TF Serving runs),
- the bare MobileNetV2 on the T frames: one call on all T vs T calls on one frame vs T/2 calls on two.
The weights are random (they do not change the time). TensorFlow uses --threads threads (default 2).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.report import markdown_table, write_section  # noqa: E402
from harflow.artifacts import SERVING_SIGNATURE  # noqa: E402

NAME = "inference"


def without_chunking(config):
    """A model config with every FoldedTimeDistributed folding all frames in one call (the old behaviour)."""
    if isinstance(config, dict):
        if config.get("class_name") == "FoldedTimeDistributed":
            config["config"]["pixels_per_call"] = 0
        for value in config.values():
            without_chunking(value)
    elif isinstance(config, list):
        for value in config:
            without_chunking(value)
    return config


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=16, help="frames per clip (default: %(default)s)")
    parser.add_argument("--size", type=int, default=224, help="frame size (default: %(default)s)")
    parser.add_argument("--rounds", type=int, default=15, help="timing rounds (default: %(default)s)")
    parser.add_argument("--threads", type=int, default=2, help="TensorFlow CPU threads (default: %(default)s)")
    parser.add_argument("--quick", action="store_true", help="8 frames of 112x112, 3 rounds: checks the script; writes no report")
    args = parser.parse_args()
    if args.quick:
        args.frames, args.size, args.rounds = 8, 112, 3

    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    import keras
    import numpy as np
    from keras import layers

    from harflow.config import IngestConfig, TrainConfig
    from harflow.trainer.export import export_saved_model
    from harflow.trainer.model import build_model

    t, size = args.frames, args.size
    ingest = IngestConfig(num_frames=t, image_size=size)
    names = [f"class{i:02d}" for i in range(101)]
    after = build_model(101, ingest, TrainConfig(backbone="mobilenet_v2", head="gru", weights="none"))
    before = keras.Model.from_config(without_chunking(after.get_config()))
    before.set_weights(after.get_weights())

    frames_in = keras.Input((t, size, size, 3), dtype="uint8")  # plain Keras, as keras-io writes it
    cnn = keras.applications.MobileNetV2(input_shape=(size, size, 3), include_top=False, weights=None, pooling="avg")
    x = layers.TimeDistributed(cnn)(layers.Rescaling(1 / 127.5, offset=-1)(keras.ops.cast(frames_in, "float32")))
    plain = keras.Model(frames_in, layers.Dense(101, activation="softmax")(layers.GRU(64)(x)))

    clip = tf.constant(np.random.default_rng(0).integers(0, 256, (1, t, size, size, 3), dtype=np.uint8))
    scaled = tf.cast(clip[0], tf.float32) / 127.5 - 1.0  # [T, H, W, 3]
    bare = keras.applications.MobileNetV2(input_shape=(size, size, 3), include_top=False, weights=None, pooling="avg")
    with tempfile.TemporaryDirectory(prefix="harflow-bench-inference-") as folder:
        served = {}
        for label, model in (
            ("zoo mobilenet_v2+gru, all frames in one CNN call (before)", before),
            ("zoo mobilenet_v2+gru, at most 2 frames of 224x224 per call (after)", after),
            ("plain Keras TimeDistributed(MobileNetV2) + GRU (reference)", plain),
        ):
            export_saved_model(model, f"{folder}/{len(served)}", names, ingest)
            signature = tf.saved_model.load(f"{folder}/{len(served)}").signatures[SERVING_SIGNATURE]
            served[label] = (lambda s=signature: s(frames=clip)["probabilities"])
        outputs = {label: call().numpy() for label, call in served.items()}
        labels = list(served)
        same = float(np.abs(outputs[labels[0]] - outputs[labels[1]]).max())
        cases = dict(served)
        one = tf.function(lambda x: bare(x, training=False))
        per_frame = tf.function(lambda x: tf.concat([bare(x[i : i + 1], training=False) for i in range(t)], 0))
        pairs = tf.function(lambda x: tf.concat([bare(x[i : i + 2], training=False) for i in range(0, t, 2)], 0))
        cases[f"bare MobileNetV2: one call on {t} frames"] = lambda: one(scaled)
        cases[f"bare MobileNetV2: {t} calls on 1 frame"] = lambda: per_frame(scaled)
        cases[f"bare MobileNetV2: {t // 2} calls on 2 frames"] = lambda: pairs(scaled)
        seconds = {label: [] for label in cases}
        for call in cases.values():  # warm-up: traces
            call()
            call()
        for round_number in range(args.rounds):
            for label, call in cases.items():
                started = time.perf_counter()
                np.asarray(call())
                seconds[label].append(time.perf_counter() - started)
            print(f"round {round_number + 1}/{args.rounds}", file=sys.stderr, flush=True)

    base = statistics.median(seconds[labels[0]])
    rows = [
        [label, f"{statistics.median(values):.3f}", f"{min(values):.3f}", f"{statistics.median(values) / base:.2f}" if label in served else "-"]
        for label, values in seconds.items()
    ]
    body = (
        f"One clip of {t} frames of {size}x{size} (uint8), batch 1; median and fastest of {args.rounds} rounds, "
        f"each case once per round in turn; TensorFlow held to {args.threads} threads; random weights. "
        f"The first three rows are exported SavedModels (trainer/export.py's {SERVING_SIGNATURE}, what TF Serving runs); "
        f"before and after hold the same weights and agree to {same:.1e}.\n\n"
        + markdown_table(["model", "median s", "fastest s", "x before"], rows)
        + "\n\nThe cause: FoldedTimeDistributed folded all frames into one CNN call, and MobileNetV2 on 16 frames of "
        "224x224 in one call is slower than in calls of one or two frames on a CPU (the bare rows). "
        "It now folds at most 2 x 224 x 224 pixels per clip per call (trainer.model.PIXELS_PER_CALL); "
        "the 8 frames of 64x64 that training uses still go in one call."
    )
    print(body)
    if args.quick:
        return
    command = "bin/harflow env run -- python " + " ".join(["benchmarks/inference.py", *sys.argv[1:]])
    write_section(NAME, "Inference: the zoo's MobileNetV2 + GRU per clip, folded frames vs a few per call", command, body)


if __name__ == "__main__":
    main()

"""Frozen-trunk cache vs end-to-end training of the same MobileNetV2+GRU model; input pipeline vs model rate.

    bin/harflow env run -- python benchmarks/trunk_cache.py            # full size (a few minutes)
    bin/harflow env run -- python benchmarks/trunk_cache.py --quick    # a smoke run, seconds; no report

Data: synthetic clips (harflow.datasets.synth, the 8 order-only classes) written as the
pipeline writes them (gzipped TFRecords of 8 JPEG frames of 64x64), read
back with trainer.data.clip_dataset, so the input pipeline is the Trainer's.

1. Epoch time: the same model (trainer.model.build_parts, MobileNetV2 wholly
   frozen, then with its last 9 layers fine-tuned, GRU 64) trained end to end
   on frames, and trained as the Trainer does with the trunk cache (trainer.trunk_cache: the encoder runs
   once, then the head fits on cached features). Median epoch time over the
   epochs of each, their ratio, the one-off encoding time, and each one's val
   accuracy after the same number of epochs.
   The comparison is fair: both fits start from the same weights (the same
   seed before building), see the train clips in the same order every epoch
   (the cache shuffles as trainer.data.clip_dataset does; tests/test_training.py),
   and neither augments. With the trunk wholly frozen they compute the same
   function, so their val accuracy curves should nearly coincide: the table
   gives the last epoch's, the best, and the largest gap over all epochs.
2. Input vs model: clips/s that the training input pipeline delivers
   (TFRecord -> parse -> JPEG decode -> batch, and with clip-consistent
   augmentation) against clips/s of end-to-end training steps on one batch
   already in memory; medians of --rounds rounds, alternating.

The weights are random unless --weights-dir holds the backbone's ImageNet file
(offline here only MobileNet v1 alpha 0.75's: --backbone mobilenet --alpha 0.75
--weights-dir ../shared/weights/keras-home; random weights cost the same time but
make the accuracy meaningless). TensorFlow is held to --threads CPU threads
(default 2: the 2-core target).
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.report import markdown_table, write_section  # noqa: E402


def write_split(path: Path, clips_per_class: int, seed: int, frames: int = 8, size: int = 64) -> int:
    """Synthetic clips -> one gzipped TFRecord file in the pipeline's format; returns the clip count."""
    import cv2
    import numpy as np
    import tensorflow as tf

    from harflow.features import encode_jpeg
    from harflow import features
    from harflow.datasets.synth import CLASSES, SynthConfig, render_clip
    from harflow.video import sample_indices

    config = SynthConfig(frames=32, size=96)
    rng = np.random.default_rng(seed)
    count = 0
    with tf.io.TFRecordWriter(str(path), options="GZIP") as writer:
        for index in range(clips_per_class):
            for label, name in enumerate(CLASSES):
                clip = render_clip(name, rng, config)  # [32, 96, 96, 3] RGB
                chosen = [cv2.resize(clip[i], (size, size), interpolation=cv2.INTER_AREA) for i in sample_indices(len(clip), frames)]
                feature = {
                    features.FRAMES: tf.train.Feature(bytes_list=tf.train.BytesList(value=[encode_jpeg(f, 90) for f in chosen])),
                    features.LABEL: tf.train.Feature(int64_list=tf.train.Int64List(value=[label])),
                }
                writer.write(tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString())
                count += 1
    return count


class EpochTimes:
    """A Keras callback that keeps each epoch's wall time."""

    def __new__(cls):
        import keras

        class _Times(keras.callbacks.Callback):
            def __init__(self):
                super().__init__()
                self.seconds = []

            def on_epoch_begin(self, epoch, logs=None):
                self._started = time.perf_counter()

            def on_epoch_end(self, epoch, logs=None):
                self.seconds.append(time.perf_counter() - self._started)

        return _Times()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes: checks the script, not the numbers (writes no report)")
    parser.add_argument("--train-clips", type=int, default=32, help="train clips per class (default: %(default)s)")
    parser.add_argument("--val-clips", type=int, default=32, help="val clips per class (default: %(default)s; 1 point = 2.5 clips)")
    parser.add_argument("--epochs", type=int, default=15, help="epochs of each training (default: %(default)s)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds of the input/model rate measurement (default: %(default)s)")
    parser.add_argument("--threads", type=int, default=2, help="TensorFlow CPU threads (default: %(default)s)")
    parser.add_argument("--trainable-layers", type=lambda text: [int(n) for n in text.split(",")], default=[0, 9], help="fine-tuned layer counts to measure (default: 0,9)")
    parser.add_argument("--weights-dir", default="", help="a Keras cache holding the backbone's ImageNet weights")
    parser.add_argument("--backbone", default="mobilenet_v2", help="an ImageNet backbone (default: %(default)s; another writes its own section)")
    parser.add_argument("--alpha", type=float, default=1.0, help="MobileNet width (default: %(default)s)")
    args = parser.parse_args()
    if args.quick:
        args.train_clips, args.val_clips, args.epochs, args.rounds = 2, 1, 2, 2

    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    import keras
    import numpy as np

    from harflow.config import IngestConfig, TrainConfig
    from harflow.trainer.augment import augmented
    from harflow.trainer.backbones import imagenet_weights
    from harflow.trainer.data import clip_dataset
    from harflow.trainer.model import assemble, build_parts, compile_model
    from harflow.trainer.trunk_cache import cache_datasets

    ingest = IngestConfig()  # 8 frames of 64x64, the pipeline's default
    weights = "imagenet" if args.weights_dir else "none"
    train = TrainConfig(backbone=args.backbone, alpha=args.alpha, head="gru", weights=weights, weights_dir=args.weights_dir, trainable_layers=0, epochs=args.epochs)
    weights_note = "real ImageNet weights" if weights == "imagenet" and imagenet_weights(train, 64) != "imagenet" else "random weights"
    if weights_note == "random weights":
        train = dataclasses.replace(train, weights="none")

    with tempfile.TemporaryDirectory() as folder:
        print("writing synthetic TFRecords ...", file=sys.stderr, flush=True)
        train_file, val_file = Path(folder) / "train.gz", Path(folder) / "val.gz"
        train_count = write_split(train_file, args.train_clips, seed=1)
        val_count = write_split(val_file, args.val_clips, seed=2)

        def dataset(path: Path, shuffle: bool) -> tf.data.Dataset:
            return clip_dataset([str(path)], ingest.num_frames, ingest.image_size, train.batch_size, shuffle, train.seed)

        # 1. end to end vs cached trunk, same model, same epochs; for each number of fine-tuned layers
        results = {}
        for tuned in args.trainable_layers:
            variant = dataclasses.replace(train, trainable_layers=tuned)
            keras.utils.set_random_seed(0)
            encoder, head = build_parts(8, ingest, variant)
            end_to_end = compile_model(assemble(encoder, head, "end_to_end"), variant)
            times_e2e = EpochTimes()
            print(f"end-to-end training, {tuned} fine-tuned layers ...", file=sys.stderr, flush=True)
            history_e2e = end_to_end.fit(dataset(train_file, True), validation_data=dataset(val_file, False), epochs=args.epochs, verbose=0, callbacks=[times_e2e])

            keras.utils.set_random_seed(0)
            encoder, head = build_parts(8, ingest, variant)
            print(f"cached-trunk training, {tuned} fine-tuned layers ...", file=sys.stderr, flush=True)
            started = time.perf_counter()
            cached_train, cached_val = cache_datasets(encoder, dataset(train_file, False), dataset(val_file, False), variant)
            encode_seconds = time.perf_counter() - started
            times_cached = EpochTimes()
            history_cached = compile_model(head, variant).fit(cached_train, validation_data=cached_val, epochs=args.epochs, verbose=0, callbacks=[times_cached])
            results[tuned] = (times_e2e.seconds, history_e2e.history, encode_seconds, times_cached.seconds, history_cached.history)
            if tuned == args.trainable_layers[0]:
                rate_model = end_to_end  # the input pipeline is compared with this model's training rate

        # 2. input pipeline clips/s vs model clips/s (end-to-end training steps on a batch in memory)
        frames, labels = next(iter(dataset(train_file, False)))
        pipelines = {  # built once and iterated once per round, as Keras iterates one dataset once per epoch
            "input pipeline (TFRecord, JPEG decode)": dataset(train_file, True),
            "input pipeline + augmentation (crop, rotate, zoom)": augmented(dataset(train_file, True), ("crop", "rotate", "zoom"), 0),
        }
        for pipeline in pipelines.values():  # trace once
            for _ in pipeline:
                pass
        rates = {name: [] for name in [*pipelines, "model: end-to-end training steps"]}
        end_to_end = rate_model
        end_to_end.train_on_batch(frames, labels)  # warm
        for round_number in range(args.rounds):
            for name, pipeline in pipelines.items():
                started, clips = time.perf_counter(), 0
                for batch_frames, _ in pipeline:
                    clips += int(batch_frames.shape[0])
                rates[name].append(clips / (time.perf_counter() - started))
            started = time.perf_counter()
            steps = 3
            for _ in range(steps):
                end_to_end.train_on_batch(frames, labels)
            rates["model: end-to-end training steps"].append(steps * int(frames.shape[0]) / (time.perf_counter() - started))
            print(f"rate round {round_number + 1}/{args.rounds} done", file=sys.stderr, flush=True)

    rows, curves = [], []
    for tuned, (e2e_times, e2e_history, encode_seconds, cached_times, cached_history) in results.items():
        e2e_epoch, cached_epoch = statistics.median(e2e_times), statistics.median(cached_times)
        e2e_curve, cached_curve = e2e_history["val_accuracy"], cached_history["val_accuracy"]
        largest_gap = max(abs(a - b) for a, b in zip(e2e_curve, cached_curve)) * 100
        rows.append([tuned, "end to end", f"{e2e_epoch:.2f}", "-", f"{sum(e2e_times):.1f}", f"{e2e_curve[-1]:.3f}", f"{max(e2e_curve):.3f}", ""])
        rows.append([
            tuned, "frozen-trunk cache", f"{cached_epoch:.3f}", f"{encode_seconds:.1f}",
            f"{encode_seconds + sum(cached_times):.1f}", f"{cached_curve[-1]:.3f}", f"{max(cached_curve):.3f}",
            f"**{e2e_epoch / cached_epoch:.0f}x**; last val accuracy {abs(e2e_curve[-1] - cached_curve[-1]) * 100:.1f} points apart, "
            f"at most {largest_gap:.1f} over the {len(e2e_curve)} epochs",
        ])
        for name, history in (("end to end", e2e_history), ("frozen-trunk cache", cached_history)):
            curves.append([tuned, name, " ".join(f"{v:.3f}" for v in history["val_accuracy"])])
    model_rate = statistics.median(rates["model: end-to-end training steps"])
    rate_rows = [[name, f"{statistics.median(values):.1f}", f"{statistics.median(values) / model_rate:.1f}x"] for name, values in rates.items()]
    body = (
        f"{args.backbone} (alpha {args.alpha}, {weights_note}; fine-tuned last layers: {', '.join(map(str, args.trainable_layers))}) + GRU 64, 8 frames of 64x64, "
        f"batches of {train.batch_size}; {train_count} train and {val_count} val synthetic clips; {args.epochs} epochs each; "
        f"TensorFlow held to {args.threads} threads. Both fits of a row pair start from the same weights, see the train clips "
        "in the same order every epoch, and do not augment.\n\n"
        + markdown_table(
            ["fine-tuned layers", "training", "median epoch s", "encoding once s", f"total s ({args.epochs} epochs)", "last val accuracy", "best val accuracy", "cache vs end to end"],
            rows,
        )
        + "\n\nGoals: the cached epoch >= 10x faster than end to end, val accuracy within 1 point. "
        "With random weights the frozen features carry little, and both fits may stay near chance (0.125): "
        "then only the times are informative. Val accuracy after each epoch:\n\n"
        + markdown_table(["fine-tuned layers", "training", "val accuracy, epoch 1, 2, ..."], curves)
        + "\n\n"
        f"Clips per second, median of {args.rounds} rounds (the input pipeline reads the whole train split each round):\n\n"
        + markdown_table(["stage", "clips/s", "x model rate"], rate_rows)
        + "\n\nGoal: the input pipeline delivers >= 5x the clips the model trains on (end to end, the slowest case)."
    )
    if args.quick:
        print(body)
        return  # a smoke run writes no report
    command = "bin/harflow env run -- python " + " ".join(["benchmarks/trunk_cache.py", *sys.argv[1:]])
    name, title = "trunk-cache", "Frozen-trunk cache vs end-to-end training; input pipeline vs model"
    if args.backbone != "mobilenet_v2":
        name, title = f"trunk-cache-{args.backbone}", f"Frozen-trunk cache vs end to end: {args.backbone} alpha {args.alpha}"
    write_section(name, title, command, body)


if __name__ == "__main__":
    main()

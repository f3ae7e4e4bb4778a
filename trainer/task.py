"""The TFX Trainer's entry point: `run_fn(fn_args)`.

The pipeline passes this Trainer's own settings as `custom_config["harflow"]`
(harflow.config.TrainerConfig as JSON: its one variant's TrainConfig, the
ingest settings of its examples, the resume folder), nothing of the gate, the
push or Beam, so TFX's cache reuses a Trainer when only those change; the class
names come from the Examples artifact (class_names.txt beside its Split-* folders).

What a run leaves:
  <model>/Format-Serving/          the SavedModel (trainer/export.py)
  <model>/Format-TFLite/           model.tflite and harflow.json, with --tflite (trainer/tflite.py)
  <model>/harflow_training.json    variant, config, history, best epoch, time, parameters
                                   (what the model comparison reads)
  <model_run>/best.keras, logs/    the best checkpoint and TensorBoard logs
  <work_dir>/resume/...            Keras BackupAndRestore state while a fit is under way: a run
                                   interrupted and started again with the same config and data
                                   continues from its last finished epoch
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import time
import warnings

import keras
import tensorflow as tf

from harflow import artifacts, features
from harflow.config import TrainConfig, TrainerConfig
from harflow.trainer.augment import augmented
from harflow.trainer.data import clip_dataset, label_counts
from harflow.trainer.export import export_saved_model
from harflow.trainer.model import assemble, build_parts, compile_model
from harflow.trainer.tflite import export_tflite
from harflow.trainer.trunk_cache import cache_datasets, use_trunk_cache

class EpochLog(keras.callbacks.Callback):
    """One readable line per epoch: progress for long runs without Keras's progress bars."""

    def __init__(self, label: str = ""):
        super().__init__()
        self.label = label
        self.epochs_seen: list[int] = []

    def on_epoch_begin(self, epoch, logs=None):
        self._started = time.monotonic()

    def on_epoch_end(self, epoch, logs=None):
        self.epochs_seen.append(epoch)
        metrics = " ".join(f"{k}={v:.4f}" for k, v in sorted((logs or {}).items()) if k != "learning_rate")
        print(f"{self.label}epoch {epoch + 1}/{self.params['epochs']} ({time.monotonic() - self._started:.1f} s): {metrics}", flush=True)


# --------------------------------------------------------------------------- devices


def precision_policy(setting: str, gpu_count: int) -> str:
    """The Keras dtype policy: mixed_float16 on GPUs (setting auto or on), float32 otherwise (auto or off)."""
    if setting == "on" or (setting == "auto" and gpu_count > 0):
        return "mixed_float16"
    return "float32"


def distribution_strategy(gpu_count: int) -> tf.distribute.Strategy:
    """MirroredStrategy over every visible GPU (batches split among them); the default strategy on CPU."""
    if gpu_count > 0:
        return tf.distribute.MirroredStrategy()
    return tf.distribute.get_strategy()


def balanced_class_weights(counts: list[int]) -> dict[int, float]:
    """Inverse class frequency, scaled so a balanced dataset gets 1.0 everywhere (sklearn's "balanced")."""
    total, present = sum(counts), sum(1 for count in counts if count)
    return {label: (total / (present * count) if count else 0.0) for label, count in enumerate(counts)}


def resume_dir(config: TrainerConfig, train_files: list[str]) -> str:
    """Where BackupAndRestore keeps state: one folder per (config, training data); gone after a finished fit."""
    digest = hashlib.sha256((config.to_json() + "\n".join(sorted(train_files))).encode()).hexdigest()[:12]
    variant = config.train.variant.replace("+", "_")
    return os.path.join(config.resume_root, f"{variant}-{digest}")


# --------------------------------------------------------------------------- run_fn


def run_fn(fn_args) -> None:
    config = TrainerConfig.from_json(fn_args.custom_config["harflow"])
    ingest, train = config.ingest, config.train
    keras.utils.set_random_seed(train.seed)
    class_names = artifacts.read_class_names(artifacts.examples_uri_of(fn_args.train_files))
    gpus = len(tf.config.list_physical_devices("GPU"))
    keras.mixed_precision.set_global_policy(precision_policy(train.mixed_precision, gpus))
    print(f"variant {train.variant}: {gpus} GPU(s), dtype policy {keras.mixed_precision.global_policy().name}", flush=True)

    def dataset(files: list[str], shuffle: bool, balance_counts: list[int] | None = None) -> tf.data.Dataset:
        return clip_dataset(files, ingest.num_frames, ingest.image_size, train.batch_size, shuffle, train.seed, balance_counts)

    with distribution_strategy(gpus).scope():
        encoder, head = build_parts(len(class_names), ingest, train)
        model = compile_model(assemble(encoder, head, f"{train.backbone}_{train.head}"), train)
    model.summary(print_fn=lambda line, **_: print(line))
    class_weight, sample_counts = None, None
    if train.balance != "none":
        counts = label_counts(fn_args.train_files, len(class_names))
        print(f"train clips per class: {counts}; balancing by {train.balance}", flush=True)
        if train.balance == "weights":
            class_weight = balanced_class_weights(counts)
        else:
            sample_counts = counts  # every class drawn equally often (trainer.data.balanced)
    cached = use_trunk_cache(train) and bool(encoder.non_trainable_weights)  # a frozen part to cache
    started = time.monotonic()
    with warnings.catch_warnings():
        # A TFRecord dataset's length is unknown until the first epoch ends; Keras says so once.
        warnings.filterwarnings("ignore", message="Your input ran out of data")
        if cached:
            train_data, val_data = cache_datasets(
                encoder, dataset(fn_args.train_files, False), dataset(fn_args.eval_files, False), train, sample_counts
            )
            fitted = compile_model(head, train)
        else:
            train_data = augmented(dataset(fn_args.train_files, True, sample_counts), train.augment, train.seed)
            val_data = dataset(fn_args.eval_files, shuffle=False)
            fitted = model
        history = fit(fitted, train_data, val_data, train, fn_args.model_run_dir, resume_dir(config, fn_args.train_files), class_weight)
    train_seconds = time.monotonic() - started
    if cached:
        model.save(os.path.join(fn_args.model_run_dir, "best.keras"))  # the whole model, with the best head
    keras.mixed_precision.set_global_policy("float32")  # the next Trainer in this process starts clean
    summary = training_summary(train, history, train_seconds, model, cached, ingest.train_segments)
    for folder in (fn_args.model_run_dir, os.path.dirname(fn_args.serving_model_dir.rstrip("/"))):
        artifacts.write_training_summary(folder, summary)
    with tf.io.gfile.GFile(os.path.join(fn_args.model_run_dir, "history.json"), "w") as handle:
        handle.write(json.dumps(history.history))
    export_saved_model(model, fn_args.serving_model_dir, class_names, ingest)
    if train.tflite:  # beside the SavedModel's folder
        export_tflite(model, os.path.dirname(fn_args.serving_model_dir.rstrip("/")), class_names, ingest, train)


def training_summary(
    train: TrainConfig, history, seconds: float, model: keras.Model, cached: bool, train_segments: int = 1
) -> artifacts.TrainingSummary:
    """What the model comparison reports about one variant's training (train_segments: clips per train video)."""
    logs = history.history
    val_loss = logs.get("val_loss", [])
    best = min(range(len(val_loss)), key=val_loss.__getitem__) if val_loss else None
    return artifacts.TrainingSummary(
        variant=train.variant,
        train=dataclasses.asdict(train),
        history=logs,
        epochs=[epoch + 1 for epoch in history.epoch],
        best_epoch=history.epoch[best] + 1 if best is not None else None,
        train_seconds=seconds,
        parameters=int(model.count_params()),
        trainable_parameters=int(sum(keras.ops.size(w) for w in model.trainable_weights)),
        trunk_cache=cached,
        train_segments=train_segments,
    )


def fit(
    model: keras.Model,
    train_data,
    val_data,
    train: TrainConfig,
    run_dir: str,
    backup_dir: str | None = None,
    class_weight: dict[int, float] | None = None,
    extra_callbacks: list | None = None,
) -> keras.callbacks.History:
    """Fit with early stopping on val_loss; the best epoch's weights are kept (and saved as run_dir/best.keras).

    With `backup_dir`, Keras's BackupAndRestore saves the state after every epoch
    and a fit started again after an interruption continues from there.
    """
    callbacks = [EpochLog(f"{train.variant} ")]
    if backup_dir:
        callbacks.append(keras.callbacks.BackupAndRestore(backup_dir))
    callbacks += [
        keras.callbacks.ModelCheckpoint(os.path.join(run_dir, "best.keras"), monitor="val_loss", save_best_only=True),
        keras.callbacks.EarlyStopping(monitor="val_loss", patience=train.early_stopping_patience, restore_best_weights=True),
        keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=3),
        keras.callbacks.TensorBoard(log_dir=os.path.join(run_dir, "logs")),
        *(extra_callbacks or []),
    ]
    return model.fit(
        train_data,
        validation_data=val_data,
        epochs=train.epochs,
        shuffle=False,  # the dataset shuffles itself (trainer.data.clip_dataset)
        verbose=0,
        class_weight=class_weight,
        callbacks=callbacks,
    )

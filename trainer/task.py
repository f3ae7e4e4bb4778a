"""The TFX Trainer's entry point: `run_fn(fn_args)`.

The pipeline passes the whole harflow config as `custom_config["harflow"]`
(JSON); the class names come from the Examples artifact (class_names.txt
beside its Split-* folders).
"""

from __future__ import annotations

import json
import os
import time
import warnings

import keras
import tensorflow as tf

from harflow import features
from harflow.config import PipelineConfig, TrainConfig
from trainer.data import clip_dataset
from trainer.export import export_saved_model
from trainer.model import build_model


def class_names_for(train_files: list[str]) -> list[str]:
    """<examples uri>/Split-train/* -> the names in <examples uri>/class_names.txt."""
    examples_uri = os.path.dirname(os.path.dirname(train_files[0]))
    with tf.io.gfile.GFile(os.path.join(examples_uri, features.CLASS_NAMES_FILE)) as handle:
        return [line.strip() for line in handle if line.strip()]


class EpochLog(keras.callbacks.Callback):
    """One readable line per epoch: progress for long runs without Keras's progress bars."""

    def on_epoch_begin(self, epoch, logs=None):
        self._started = time.monotonic()

    def on_epoch_end(self, epoch, logs=None):
        metrics = " ".join(f"{k}={v:.4f}" for k, v in sorted((logs or {}).items()) if k != "learning_rate")
        print(f"epoch {epoch + 1}/{self.params['epochs']} ({time.monotonic() - self._started:.1f} s): {metrics}", flush=True)


def run_fn(fn_args) -> None:
    config = PipelineConfig.from_json(fn_args.custom_config["harflow"])
    ingest, train = config.ingest, config.train
    keras.utils.set_random_seed(train.seed)
    class_names = class_names_for(fn_args.train_files)

    def dataset(files: list[str], shuffle: bool) -> tf.data.Dataset:
        return clip_dataset(files, ingest.num_frames, ingest.image_size, train.batch_size, shuffle, train.seed)

    model = build_model(len(class_names), ingest, train)
    model.summary(print_fn=lambda line, **_: print(line))
    with warnings.catch_warnings():
        # A TFRecord dataset's length is unknown until the first epoch ends; Keras says so once.
        warnings.filterwarnings("ignore", message="Your input ran out of data")
        train_data = dataset(fn_args.train_files, shuffle=True)
        val_data = dataset(fn_args.eval_files, shuffle=False)
        history = fit(model, train_data, val_data, train, fn_args.model_run_dir)
    with tf.io.gfile.GFile(os.path.join(fn_args.model_run_dir, "history.json"), "w") as handle:
        handle.write(json.dumps(history.history))
    export_saved_model(model, fn_args.serving_model_dir, class_names, ingest)


def fit(model, train_data, val_data, train: TrainConfig, run_dir: str) -> keras.callbacks.History:
    """Fit with early stopping on val_loss; the best epoch's weights are kept (and saved as run_dir/best.keras)."""
    return model.fit(
        train_data,
        validation_data=val_data,
        epochs=train.epochs,
        shuffle=False,  # the dataset shuffles itself (trainer.data.clip_dataset)
        verbose=0,
        callbacks=[
            EpochLog(),
            keras.callbacks.ModelCheckpoint(os.path.join(run_dir, "best.keras"), monitor="val_loss", save_best_only=True),
            keras.callbacks.EarlyStopping(
                monitor="val_loss", patience=train.early_stopping_patience, restore_best_weights=True
            ),
            keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=3),
            keras.callbacks.TensorBoard(log_dir=os.path.join(run_dir, "logs")),
        ],
    )

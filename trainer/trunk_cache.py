"""The frozen-trunk cache: run a frozen backbone once per clip, then fit only the head on its outputs.

An ImageNet backbone fine-tunes only its last layers (`trainable_layers`, 9
or 24 by default, 0 for none); every epoch of end-to-end training recomputes
the frozen layers' outputs for the same clips: most of the step's work, for
nothing. Here the clip encoder (frames -> the frozen part's outputs, [T, F]
pooled features when the whole backbone is frozen, else [T, h, w, c] maps
where the fine-tuned layers start) runs once over the train and val splits,
the outputs stay in memory (N x T x ... float32: 640 clips x 8 x 768 is 16 MB;
UCF101's 9,537 train clips with MobileNetV2's 1280 features, 390 MB; with 2x2x960
maps, 1.2 GB), and the clip head, which holds the fine-tuned layers, trains on them. The head is the same Keras model the full classifier
calls, so the exported model is the same frames -> probabilities model as
with end-to-end training (trainer/model.py).

Augmentation cannot be cached (each epoch would need new features), so a
config with augmentation trains end to end unless `cache_trunk` says "on"
(which is then an error).
"""

from __future__ import annotations

import time

import keras
import numpy as np
import tensorflow as tf

from harflow.config import TrainConfig
from harflow.trainer.backbones import is_imagenet
from harflow.trainer.data import SHUFFLE_BUFFER, balanced


def use_trunk_cache(train: TrainConfig) -> bool:
    """Whether to fit on cached trunk features: auto means "an ImageNet backbone, no augmentation"."""
    if train.cache_trunk == "off":
        return False
    if train.cache_trunk == "on":
        if not is_imagenet(train.backbone):
            raise ValueError(f"cache_trunk=on needs an ImageNet backbone (its frozen layers are cached), not {train.backbone}")
        if train.augment:
            raise ValueError("cache_trunk=on cannot augment (features are computed once); drop --augment")
        return True
    return is_imagenet(train.backbone) and not train.augment


def encode_clips(encoder: keras.Model, dataset: tf.data.Dataset) -> tuple[np.ndarray, np.ndarray]:
    """(frames, label) batches -> (features [N, T, F] float32, labels [N]), the encoder run once per clip."""
    features, labels = [], []
    started, clips = time.monotonic(), 0
    for frames, label in dataset:
        features.append(np.asarray(encoder(frames, training=False), dtype=np.float32))
        labels.append(label.numpy())
        clips += len(label)
    print(f"trunk cache: encoded {clips} clips in {time.monotonic() - started:.1f} s", flush=True)
    return np.concatenate(features), np.concatenate(labels)


def cached_dataset(
    features: np.ndarray, labels: np.ndarray, batch_size: int, shuffle: bool, seed: int, balance_counts: list[int] | None = None
) -> tf.data.Dataset:
    """Batches of (features, label) in the order trainer.data.clip_dataset gives the same clips.

    The features were encoded from the split in file order, and are shuffled
    with the same buffer and seed as the frames would be, so cached and
    end-to-end training see the clips in the same order (tested).
    """
    dataset = tf.data.Dataset.from_tensor_slices((features, labels))
    if balance_counts is not None:
        dataset = balanced(dataset, balance_counts, seed)
    elif shuffle:
        dataset = dataset.shuffle(SHUFFLE_BUFFER, seed=seed, reshuffle_each_iteration=True)
    return dataset.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def cache_datasets(
    encoder: keras.Model,
    train_data: tf.data.Dataset,
    val_data: tf.data.Dataset,
    train: TrainConfig,
    balance_counts: list[int] | None = None,
) -> tuple[tf.data.Dataset, tf.data.Dataset]:
    """The train and val splits (unshuffled, in file order) as datasets of (cached features, label).

    The train features are shuffled as clip_dataset shuffles frames (or drawn
    class-evenly with `balance_counts`); val stays in order.
    """
    train_features, train_labels = encode_clips(encoder, train_data)
    val_features, val_labels = encode_clips(encoder, val_data)
    return (
        cached_dataset(train_features, train_labels, train.batch_size, shuffle=True, seed=train.seed, balance_counts=balance_counts),
        cached_dataset(val_features, val_labels, train.batch_size, shuffle=False, seed=train.seed),
    )

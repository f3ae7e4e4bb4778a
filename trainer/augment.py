"""Clip-consistent augmentation: one random flip, crop, rotation and zoom per clip, the same on every frame.

Drawing the transform per frame would make a still object jitter, which is
motion the model would learn from; one transform per clip keeps the motion
as it was. All four are one affine map per clip, applied to every frame with
`ImageProjectiveTransformV3` (reflected borders).

Mind the labels: a horizontal flip turns "moving left" into "moving right"
(and clockwise into anticlockwise), so `flip` is for datasets whose classes
are mirror-symmetric, like UCF101's, never for the synthetic one.
"""

from __future__ import annotations

import math

import tensorflow as tf

MAX_ROTATION_DEGREES = 10.0
MAX_ZOOM = 0.15  # scale in [1 - MAX_ZOOM, 1 + MAX_ZOOM]
MAX_SHIFT = 0.1  # crop: shift by up to this fraction of the frame, either way


def clip_transforms(batch: tf.Tensor, height: int, width: int, augmentations: tuple[str, ...], seed: tf.Tensor) -> tf.Tensor:
    """[B, 8] projective transforms (output pixel -> input pixel), one per clip."""
    seeds = tf.random.experimental.stateless_split(seed, 4)

    def uniform(index: int, limit: float, enabled: bool) -> tf.Tensor:
        if not enabled:
            return tf.zeros([batch])
        return tf.random.stateless_uniform([batch], seeds[index], -limit, limit)

    angle = uniform(0, math.radians(MAX_ROTATION_DEGREES), "rotate" in augmentations)
    scale = 1.0 + uniform(1, MAX_ZOOM, "zoom" in augmentations)
    shift_x = uniform(2, MAX_SHIFT * width, "crop" in augmentations)
    shift_y = uniform(3, MAX_SHIFT * height, "crop" in augmentations)
    if "flip" in augmentations:
        flip = tf.where(tf.random.stateless_uniform([batch], seeds[0][::-1]) < 0.5, -1.0, 1.0)
    else:
        flip = tf.ones([batch])
    cos, sin = tf.cos(angle) / scale, tf.sin(angle) / scale
    a0, a1, b0, b1 = flip * cos, -sin, flip * sin, cos
    cx, cy = (width - 1) / 2.0, (height - 1) / 2.0
    a2 = cx - a0 * cx - a1 * cy + shift_x  # rotate, zoom and flip about the centre, then shift
    b2 = cy - b0 * cx - b1 * cy + shift_y
    zeros = tf.zeros([batch])
    return tf.stack([a0, a1, a2, b0, b1, b2, zeros, zeros], axis=1)


def augment_clips(frames: tf.Tensor, augmentations: tuple[str, ...], seed: tf.Tensor) -> tf.Tensor:
    """frames [B, T, H, W, 3] uint8 -> the same, each clip transformed by one random affine map."""
    if not augmentations:
        return frames
    shape = tf.shape(frames)
    batch, steps = shape[0], shape[1]
    height, width = frames.shape[2], frames.shape[3]
    transforms = clip_transforms(batch, height, width, augmentations, seed)  # [B, 8]
    per_frame = tf.repeat(transforms, steps, axis=0)  # [B*T, 8]: the clip's transform on each of its frames
    images = tf.reshape(tf.cast(frames, tf.float32), [-1, height, width, 3])
    moved = tf.raw_ops.ImageProjectiveTransformV3(
        images=images,
        transforms=per_frame,
        output_shape=[height, width],
        fill_value=0.0,
        interpolation="BILINEAR",
        fill_mode="REFLECT",
    )
    moved = tf.cast(tf.clip_by_value(tf.round(moved), 0, 255), tf.uint8)
    return tf.reshape(moved, shape)


def augmented(dataset: tf.data.Dataset, augmentations: tuple[str, ...], seed: int) -> tf.data.Dataset:
    """A (frames, label) dataset with every batch augmented; a different draw per batch and epoch."""
    if not augmentations:
        return dataset
    # endless pairs of int64, a new pair per batch, and new pairs each epoch
    seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(2)
    paired = tf.data.Dataset.zip((dataset, seeds))
    return paired.map(
        lambda batch, pair: (augment_clips(batch[0], augmentations, pair), batch[1]),
        num_parallel_calls=tf.data.AUTOTUNE,
    )

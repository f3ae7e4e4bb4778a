"""tf.data input: gzipped TFRecords of clips -> batches of (frames, label).

The feature names and encodings are harflow.features (docs/data-format.md).
"""

from __future__ import annotations

import tensorflow as tf

from harflow import features


def parse_clips(serialized: tf.Tensor, num_frames: int, image_size: int) -> dict[str, tf.Tensor]:
    """A batch of serialized Examples [B] -> {'frames': [B, T, H, W, 3] uint8, 'label': [B] int64}."""
    spec = {
        features.FRAMES: tf.io.FixedLenFeature([num_frames], tf.string),
        features.LABEL: tf.io.FixedLenFeature([], tf.int64, default_value=-1),
    }
    parsed = tf.io.parse_example(serialized, spec)
    jpegs = tf.reshape(parsed[features.FRAMES], [-1])  # [B*T]
    frames = tf.map_fn(
        lambda jpeg: tf.io.decode_jpeg(jpeg, channels=3),
        jpegs,
        fn_output_signature=tf.TensorSpec([None, None, 3], tf.uint8),
    )
    frames = tf.reshape(frames, [-1, num_frames, image_size, image_size, 3])
    return {"frames": frames, "label": parsed[features.LABEL]}


def parse_clip(serialized: tf.Tensor, num_frames: int, image_size: int) -> tuple[tf.Tensor, tf.Tensor]:
    """One serialized Example -> (frames [T, H, W, 3] uint8, label int64); the T decodes are independent ops."""
    spec = {
        features.FRAMES: tf.io.FixedLenFeature([num_frames], tf.string),
        features.LABEL: tf.io.FixedLenFeature([], tf.int64, default_value=-1),
    }
    parsed = tf.io.parse_single_example(serialized, spec)
    frames = tf.stack([tf.io.decode_jpeg(parsed[features.FRAMES][t], channels=3) for t in range(num_frames)])
    return tf.ensure_shape(frames, [num_frames, image_size, image_size, 3]), parsed[features.LABEL]


SHUFFLE_BUFFER = 2048  # clips; the trunk cache shuffles its features with the same buffer and seed (same order)


def parse_label(serialized: tf.Tensor) -> tf.Tensor:
    """One serialized Example -> its label (int64), without touching the frames."""
    spec = {features.LABEL: tf.io.FixedLenFeature([], tf.int64, default_value=-1)}
    return tf.io.parse_single_example(serialized, spec)[features.LABEL]


def balanced(elements: tf.data.Dataset, counts: list[int], seed: int = 0) -> tf.data.Dataset:
    """An epoch of as many elements as `elements` holds, every class present drawn equally often.

    `elements` are unbatched tuples whose last item is the label; `counts` are
    the clips per class (trainer.data.label_counts). The split is shuffled,
    repeated, and thinned by tf.data's rejection resampling (a clip of a class
    with many clips is kept less often), so each batch holds the classes
    evenly, and a rare class's clips come back several times per epoch.
    """
    total = sum(counts)
    present = [label for label, count in enumerate(counts) if count]  # classes without clips are left out
    if total == 0:
        raise ValueError("balanced sampling: the train split holds no labelled clips")
    position = tf.constant([present.index(label) if count else 0 for label, count in enumerate(counts)], tf.int32)
    target = [1.0 / len(present)] * len(present)
    initial = [counts[label] / total for label in present]
    resampled = (
        elements.shuffle(SHUFFLE_BUFFER, seed=seed, reshuffle_each_iteration=True)
        .repeat()
        .rejection_resample(lambda *element: tf.gather(position, element[-1]), target, initial, seed=seed)
    )
    return resampled.map(lambda label, element: element).take(total)


def clip_dataset(
    file_patterns: list[str],
    num_frames: int,
    image_size: int,
    batch_size: int,
    shuffle: bool = False,
    seed: int = 0,
    balance_counts: list[int] | None = None,
) -> tf.data.Dataset:
    """Batches of (frames [B, T, H, W, 3] uint8, label [B] int64).

    Clips are parsed and decoded one by one in parallel (num_parallel_calls),
    then batched: on a busy 2-core machine that fed 184 clips/s where a
    batched parse with tf.map_fn's decode loop fed 100 (benchmarks/trunk_cache.py).
    With `balance_counts` (clips per class), every class is drawn equally
    often (`balanced`; shuffled whatever `shuffle` says), before any frame is decoded.
    """
    files = sorted(path for pattern in file_patterns for path in tf.io.gfile.glob(pattern))
    if not files:
        raise FileNotFoundError(f"no TFRecord files match {file_patterns}")
    dataset = tf.data.TFRecordDataset(files, compression_type="GZIP")
    if balance_counts is not None:
        labelled = dataset.map(lambda s: (s, parse_label(s)))
        dataset = balanced(labelled, balance_counts, seed).map(lambda s, label: s)
    elif shuffle:
        dataset = dataset.shuffle(SHUFFLE_BUFFER, seed=seed, reshuffle_each_iteration=True)
    dataset = dataset.map(lambda s: parse_clip(s, num_frames, image_size), num_parallel_calls=tf.data.AUTOTUNE)
    dataset = dataset.batch(batch_size)
    return dataset.prefetch(tf.data.AUTOTUNE)


def label_counts(file_patterns: list[str], num_classes: int) -> list[int]:
    """How many clips of each class the TFRecords hold (reads only the labels, decodes no frames)."""
    files = sorted(path for pattern in file_patterns for path in tf.io.gfile.glob(pattern))
    spec = {features.LABEL: tf.io.FixedLenFeature([], tf.int64, default_value=-1)}
    labels = tf.data.TFRecordDataset(files, compression_type="GZIP").batch(1024)
    counts = [0] * num_classes
    for batch in labels.map(lambda s: tf.io.parse_example(s, spec)[features.LABEL]):
        for label, count in zip(*[t.numpy() for t in tf.unique_with_counts(batch)[::2]]):
            if 0 <= label < num_classes:
                counts[label] += int(count)
    return counts

"""Tiny TFRecord files of random clips with chosen labels, as VideoExampleGen writes them (GZIP, JPEG frames)."""

import numpy as np
import tensorflow as tf


def write_records(path, labels, size=8):
    """One Example per label: 2 random size x size JPEG frames and the label."""
    from harflow.features import encode_jpeg
    from harflow import features

    rng = np.random.default_rng(0)
    with tf.io.TFRecordWriter(str(path), options="GZIP") as writer:
        for label in labels:
            jpegs = [encode_jpeg(rng.integers(0, 256, (size, size, 3), dtype=np.uint8), 90) for _ in range(2)]
            feature = {
                features.FRAMES: tf.train.Feature(bytes_list=tf.train.BytesList(value=jpegs)),
                features.LABEL: tf.train.Feature(int64_list=tf.train.Int64List(value=[label])),
            }
            writer.write(tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString())

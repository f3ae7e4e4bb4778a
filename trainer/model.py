"""The classifier: TimeDistributed(frame CNN) -> GRU or LSTM -> dense softmax.

    frames  [B, T, H, W, 3] uint8
      -> scale to [0, 1]                      [B, T, H, W, 3] float
      -> FoldedTimeDistributed(frame CNN)     [B, T, F]   the same CNN on every frame
      -> GRU / LSTM                           [B, U]      the order of frames matters here
      -> dropout -> dense softmax             [B, C]

`FoldedTimeDistributed` does what `keras.layers.TimeDistributed` does, but
folds time into the batch (one CNN call on B*T frames) instead of looping
over time steps in Python, which Keras 3's TimeDistributed does: measured
here, that cut the first fit from about a minute to a few seconds.
"""

from __future__ import annotations

import keras
from keras import layers, ops

from harflow.config import IngestConfig, TrainConfig


@keras.saving.register_keras_serializable(package="harflow")
class FoldedTimeDistributed(layers.Wrapper):
    """Apply `layer` to every time step by folding time into the batch."""

    def build(self, input_shape):
        self.layer.build((None, *input_shape[2:]))
        self.built = True

    def compute_output_shape(self, input_shape):
        inner = self.layer.compute_output_shape((None, *input_shape[2:]))
        return (input_shape[0], input_shape[1], *inner[1:])

    def call(self, inputs, training=None):
        batch, steps = ops.shape(inputs)[0], ops.shape(inputs)[1]
        frames = ops.reshape(inputs, (-1, *inputs.shape[2:]))  # [B*T, H, W, C]
        encoded = self.layer(frames, training=training)  # [B*T, F]
        return ops.reshape(encoded, (batch, steps, *encoded.shape[1:]))  # [B, T, F]


@keras.saving.register_keras_serializable(package="harflow")
class FrameDifferences(layers.Layer):
    """Each frame with its difference from the previous one: [B, T, H, W, C] -> [B, T, H, W, 2C].

    TSN's "RGB difference" input: what moved lights up and a still background
    cancels out, so a small model learns motion from few clips. The first
    frame's difference is zero.
    """

    def call(self, frames):
        previous = ops.concatenate([frames[:, :1], frames[:, :-1]], axis=1)
        return ops.concatenate([frames, frames - previous], axis=-1)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], 2 * input_shape[-1])


@keras.saving.register_keras_serializable(package="harflow")
class SpatialSoftArgmax(layers.Layer):
    """Where each feature map is brightest: [B, H, W, K] -> [B, 3K] (expected x, expected y, peak).

    A softmax over the positions of each map, then the expected coordinate
    (Levine et al., "Deep Spatial Autoencoders"): a few parameter-free numbers
    per map that say where things are, which is what motion is made of.
    """

    def call(self, maps):
        height, width, channels = maps.shape[1], maps.shape[2], maps.shape[3]
        flat = ops.reshape(ops.transpose(maps, (0, 3, 1, 2)), (-1, channels, height * width))  # [B, K, HW]
        weights = ops.softmax(flat, axis=-1)
        ys, xs = ops.meshgrid(ops.linspace(-1.0, 1.0, height), ops.linspace(-1.0, 1.0, width), indexing="ij")
        expected_x = ops.sum(weights * ops.reshape(xs, (1, 1, -1)), axis=-1)  # [B, K]
        expected_y = ops.sum(weights * ops.reshape(ys, (1, 1, -1)), axis=-1)  # [B, K]
        peak = ops.max(flat, axis=-1)  # [B, K]: how strongly the map fires (size, presence)
        return ops.concatenate([expected_x, expected_y, peak], axis=-1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], 3 * input_shape[3])


def small_cnn(image_size: int, channels: int = 3, name: str = "small_cnn", first_stride: int = 2) -> keras.Model:
    """A frame encoder trained from scratch that keeps *where* things are.

    Global pooling would throw position away, and then "moving left" and
    "moving right" look the same; flattening keeps it but invites memorising
    backgrounds. So the feature maps end in a spatial soft-argmax: for each of
    32 maps, where it fires and how strongly.

    The first convolution strides by 2 (`first_stride`): at full resolution it
    and its batch norm were half of a CPU training step (docs/benchmarks.md).
    """
    inputs = keras.Input((image_size, image_size, channels))
    x = inputs
    # (filters, stride, max-pool after): H and W halve twice, 64 -> 32 -> 16, by stride or pooling
    for filters, strides, pool in ((16, first_stride, first_stride == 1), (32, 1, True), (64, 1, False)):
        x = layers.Conv2D(filters, 3, strides=strides, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization(momentum=0.9)(x)  # small datasets take few steps: 0.99 would lag
        x = layers.ReLU()(x)
        if pool:
            x = layers.MaxPooling2D()(x)
    x = layers.Conv2D(32, 1)(x)  # [H/4, W/4, 32] maps to locate
    x = SpatialSoftArgmax()(x)  # [96]
    x = layers.Dense(64, activation="relu")(x)  # [64] per frame
    return keras.Model(inputs, x, name=name)


BACKBONES = {"small": small_cnn}
HEADS = {"gru": layers.GRU, "lstm": layers.LSTM}


def build_model(num_classes: int, ingest: IngestConfig, train: TrainConfig) -> keras.Model:
    if train.backbone not in BACKBONES:
        raise ValueError(f"unknown backbone {train.backbone!r}; choose one of {', '.join(BACKBONES)}")
    if train.head not in HEADS:
        raise ValueError(f"unknown head {train.head!r}; choose one of {', '.join(HEADS)}")
    size = ingest.image_size
    frames = keras.Input((ingest.num_frames, size, size, 3), dtype="uint8", name="frames")
    x = layers.Rescaling(1.0 / 255)(ops.cast(frames, "float32"))
    channels = 3
    if train.frame_differences:
        x = FrameDifferences(name="frame_differences")(x)  # [B, T, H, W, 6]
        channels = 6
    x = FoldedTimeDistributed(BACKBONES[train.backbone](size, channels), name="frame_cnn")(x)  # [B, T, F]
    x = HEADS[train.head](train.rnn_units, name=train.head)(x)  # [B, U]
    x = layers.Dropout(train.dropout)(x)
    probabilities = layers.Dense(num_classes, activation="softmax", name="probabilities")(x)
    model = keras.Model(frames, probabilities, name=f"{train.backbone}_{train.head}")
    model.compile(
        optimizer=keras.optimizers.Adam(train.learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model

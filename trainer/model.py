"""The classifier: TimeDistributed(frame CNN) -> GRU, LSTM or frame averaging -> dense softmax.

    frames  [B, T, H, W, 3] uint8
      -> clip encoder                         [B, T, F]   the same frame CNN on every frame
           small/scratch: / 255, FrameDifferences, FoldedTimeDistributed(CNN)
           ImageNet:      float [0, 255], FoldedTimeDistributed(resize, preprocess, frozen CNN layers)
      -> clip head                            [B, C]
           ImageNet: FoldedTimeDistributed(the CNN's fine-tuned last layers) first
           GRU / LSTM (optionally bidirectional), or the mean over frames (no recurrence)
           -> dropout -> (the seed's dense stack 1024-512-128-64, optional) -> dense softmax

The model is the clip head applied to the clip encoder, two nested Keras
models, so the frozen-trunk cache (trainer/trunk_cache.py) can fit the head
alone on cached encoder outputs and still export this same model.

`FoldedTimeDistributed` does what `keras.layers.TimeDistributed` does, but
folds time into the batch (one CNN call on B*T frames) instead of looping
over time steps in Python, which Keras 3's TimeDistributed does: measured
here, that cut the first fit from about a minute to a few seconds.
"""

from __future__ import annotations

import keras
from keras import layers, ops

from harflow.config import IngestConfig, TrainConfig
from harflow.trainer.backbones import frame_encoders, is_imagenet

SEED_DENSE_STACK = (1024, 512, 128, 64)  # the seed project's classifier, each followed by dropout 0.5


PIXELS_PER_CALL = 2 * 224 * 224  # FoldedTimeDistributed: at most this many pixels per clip in one CNN call


@keras.saving.register_keras_serializable(package="harflow")
class FoldedTimeDistributed(layers.Wrapper):
    """Apply `layer` to every time step by folding time into the batch.

    Large frames are folded a few time steps at a time: each CNN call gets at
    most `pixels_per_call` pixels per clip (two 224x224 frames; all 8 or 16
    frames of 64x64). One call on all 16 frames of 224x224 made MobileNetV2
    about twice as slow per clip on a 2-core CPU as calls of one or two frames
    (its activations no longer stay in the CPU's caches; benchmarks/inference.py).
    0: fold all time steps at once.
    """

    def __init__(self, layer, pixels_per_call: int = PIXELS_PER_CALL, **kwargs):
        super().__init__(layer, **kwargs)
        self.pixels_per_call = pixels_per_call

    def get_config(self):
        return {**super().get_config(), "pixels_per_call": self.pixels_per_call}

    def build(self, input_shape):
        self.layer.build((None, *input_shape[2:]))
        self.built = True

    def compute_output_shape(self, input_shape):
        inner = self.layer.compute_output_shape((None, *input_shape[2:]))
        return (input_shape[0], input_shape[1], *inner[1:])

    def steps_per_call(self, shape) -> int:
        """How many time steps one CNN call folds: all, unless frames [H, W, C] are large."""
        steps = shape[1]
        if not self.pixels_per_call or steps is None or len(shape) != 5 or None in shape[2:4]:
            return steps
        return min(steps, max(1, self.pixels_per_call // (shape[2] * shape[3])))

    def call(self, inputs, training=None):
        steps, per_call = inputs.shape[1], self.steps_per_call(inputs.shape)
        if per_call is None or per_call >= steps:
            return self.fold(inputs, training)
        chunks = [self.fold(inputs[:, t : t + per_call], training) for t in range(0, steps, per_call)]
        return ops.concatenate(chunks, axis=1)  # [B, T, F]

    def fold(self, inputs, training=None):
        """[B, t, H, W, C] -> one call on [B*t, H, W, C] -> [B, t, F]."""
        batch, steps = ops.shape(inputs)[0], ops.shape(inputs)[1]
        frames = ops.reshape(inputs, (-1, *inputs.shape[2:]))  # [B*t, H, W, C]
        encoded = self.layer(frames, training=training)  # [B*t, F]
        return ops.reshape(encoded, (batch, steps, *encoded.shape[1:]))  # [B, t, F]


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
class Luminance(layers.Layer):
    """RGB frames -> their luminance (ITU-R 601, as harflow.video.to_gray) in all three channels.

    A model trained on gray clips (`--color gray`) holds this first, so every
    client (TF Serving, the web app, TFLite) sends RGB frames as for any other
    model; on frames that are gray already it changes nothing.
    """

    WEIGHTS = (0.299, 0.587, 0.114)

    def call(self, frames):
        luminance = ops.sum(frames * ops.convert_to_tensor(self.WEIGHTS, frames.dtype), axis=-1, keepdims=True)
        return ops.repeat(luminance, 3, axis=-1)


def uses_frame_differences(train: TrainConfig) -> bool:
    """Frame differences feed the from-scratch CNNs, never the order-blind `average` head (they carry order)."""
    return train.frame_differences and not is_imagenet(train.backbone) and train.head != "average"


def build_clip_encoder(ingest: IngestConfig, train: TrainConfig) -> tuple[keras.Model, keras.Model | None]:
    """(frames [B, T, H, W, 3] uint8 -> per-frame features [B, T, ...], the backbone's trainable tail or None)."""
    size = ingest.image_size
    frames = keras.Input((ingest.num_frames, size, size, 3), dtype="uint8", name="frames")
    x = ops.cast(frames, "float32")
    if ingest.color == "gray":
        x = Luminance(name="luminance")(x)  # clients send RGB; training clips are gray already
    channels = 3
    if not is_imagenet(train.backbone):
        x = layers.Rescaling(1.0 / 255)(x)  # [0, 1]
        if uses_frame_differences(train):
            x = FrameDifferences(name="frame_differences")(x)  # [B, T, H, W, 6]
            channels = 6
    encoder, tail = frame_encoders(train, size, channels)
    x = FoldedTimeDistributed(encoder, name="frame_cnn")(x)  # [B, T, F] (or [B, T, h, w, c] before a tail)
    return keras.Model(frames, x, name="clip_encoder"), tail


def build_clip_head(
    feature_shape: tuple, num_classes: int, train: TrainConfig, backbone_tail: keras.Model | None = None, unroll: bool = False
) -> keras.Model:
    """per-frame features [B, T, ...] -> class probabilities [B, C]; first the backbone's fine-tuned tail, if any.

    unroll: the GRU/LSTM as T copies of its cell instead of a loop (the same
    weights and outputs; what the TFLite export converts to builtin ops).
    """
    features = keras.Input(feature_shape, name="frame_features")
    x = features
    if backbone_tail is not None:
        x = FoldedTimeDistributed(backbone_tail, name="backbone_tail")(x)  # [B, T, F]
    if train.head == "average":
        x = layers.GlobalAveragePooling1D(name="average")(x)  # [B, F]: order-blind
        x = layers.Dense(train.rnn_units, activation="relu", name="average_dense")(x)  # as wide as the RNN
    else:
        recurrent = {"gru": layers.GRU, "lstm": layers.LSTM}[train.head](train.rnn_units, unroll=unroll, name=train.head)
        if train.bidirectional:
            recurrent = layers.Bidirectional(recurrent, name=f"bidirectional_{train.head}")
        x = recurrent(x)  # [B, U] (2U bidirectional)
    x = layers.Dropout(train.dropout)(x)
    if train.dense_stack == "seed":
        for units in SEED_DENSE_STACK:
            x = layers.Dense(units, activation="relu")(x)
            x = layers.Dropout(0.5)(x)
    # float32 softmax even under mixed precision (keras-io's mixed precision guide)
    probabilities = layers.Dense(num_classes, activation="softmax", dtype="float32", name="probabilities")(x)
    return keras.Model(features, probabilities, name="clip_head")


def compile_model(model: keras.Model, train: TrainConfig) -> keras.Model:
    model.compile(
        optimizer=keras.optimizers.Adam(train.learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy", keras.metrics.SparseTopKCategoricalAccuracy(k=5, name="top5")],
    )
    return model


def assemble(encoder: keras.Model, head: keras.Model, name: str) -> keras.Model:
    """The whole classifier, frames -> probabilities, sharing the encoder's and head's weights."""
    frames = keras.Input(encoder.input_shape[1:], dtype="uint8", name="frames")
    return keras.Model(frames, head(encoder(frames)), name=name)


def build_parts(num_classes: int, ingest: IngestConfig, train: TrainConfig, unroll: bool = False) -> tuple[keras.Model, keras.Model]:
    """(clip encoder, clip head) of the classifier for `train`."""
    encoder, tail = build_clip_encoder(ingest, train)
    head = build_clip_head(encoder.output_shape[1:], num_classes, train, tail, unroll)
    return encoder, head


def build_model(num_classes: int, ingest: IngestConfig, train: TrainConfig, unroll: bool = False) -> keras.Model:
    """The compiled classifier: frames [B, T, H, W, 3] uint8 -> probabilities [B, C]."""
    encoder, head = build_parts(num_classes, ingest, train, unroll)
    name = f"{train.backbone}_{train.head}"
    return compile_model(assemble(encoder, head, name), train)

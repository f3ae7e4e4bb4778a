"""Frame encoders: one registry of the CNNs a user names (`--backbone`, `--variants`).

Every backbone turns one frame into a feature vector, [H, W, C] -> [F]:

    small               from scratch, keeps position (spatial soft-argmax); the lean default
    scratch             from scratch: 4 blocks of two 3x3 convs (64/128/256/512 filters),
                        batch norm, max pooling; global max pooling
    mobilenet           keras.applications, ImageNet weights, global average pooling
    mobilenet_v2          "
    mobilenet_v3_small    "
    resnet50              "
    resnet152v2           "
    efficientnet_b0       "

ImageNet backbones get frames as float RGB in [0, 255] and bring their own
preprocessing (`ImagenetPreprocessing`, or none where the Keras model has it
built in). Their ImageNet weights come from a Keras cache folder
(`TrainConfig.weights_dir`, KERAS_HOME layout: models/<file>.h5) or Keras's
own cache; with neither and no network the error names the file to download.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Callable

import keras
from keras import layers, ops

from harflow.config import BACKBONE_NAMES, TrainConfig

MIN_IMAGENET_SIZE = 32  # keras.applications refuse smaller inputs


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
        expected_x = ops.sum(weights * ops.reshape(ops.cast(xs, weights.dtype), (1, 1, -1)), axis=-1)  # [B, K]
        expected_y = ops.sum(weights * ops.reshape(ops.cast(ys, weights.dtype), (1, 1, -1)), axis=-1)  # [B, K]
        peak = ops.max(flat, axis=-1)  # [B, K]: how strongly the map fires (size, presence)
        return ops.concatenate([expected_x, expected_y, peak], axis=-1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], 3 * input_shape[3])


@keras.saving.register_keras_serializable(package="harflow")
class ImagenetPreprocessing(layers.Layer):
    """RGB in [0, 255] -> what an ImageNet backbone was trained on (keras.applications' modes).

    tf: scale to [-1, 1] (MobileNet v1/v2, ResNetV2); caffe: RGB -> BGR minus the
    ImageNet mean (ResNet50).
    """

    def __init__(self, mode: str, **kwargs):
        super().__init__(**kwargs)
        if mode not in ("tf", "caffe"):
            raise ValueError(f"unknown preprocessing mode {mode!r}")
        self.mode = mode

    def call(self, images):
        if self.mode == "tf":
            return images / 127.5 - 1.0
        mean = ops.convert_to_tensor([103.939, 116.779, 123.68], dtype=images.dtype)
        return images[..., ::-1] - mean

    def get_config(self):
        return {**super().get_config(), "mode": self.mode}


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


def scratch_cnn(image_size: int, channels: int = 3, name: str = "scratch_cnn") -> keras.Model:
    """The seed project's CNN from scratch: 4 blocks of two 3x3 convs, 64/128/256/512 filters.

    Each block: conv, BN, ReLU, conv, BN, ReLU, max pooling; then global max
    pooling -> [512] per frame. Position is pooled away (see small_cnn).
    """
    inputs = keras.Input((image_size, image_size, channels))
    x = inputs
    for filters in (64, 128, 256, 512):
        for _ in range(2):
            x = layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
            x = layers.BatchNormalization(momentum=0.9)(x)
            x = layers.ReLU()(x)
        x = layers.MaxPooling2D()(x)
    x = layers.GlobalMaxPooling2D()(x)  # [512]
    return keras.Model(inputs, x, name=name)


# --------------------------------------------------------------------------- ImageNet backbones

KERAS_WEIGHTS = "https://storage.googleapis.com/tensorflow/keras-applications/"


@dataclass(frozen=True)
class ImagenetBackbone:
    """One keras.applications model: how to build it, feed it, and find its weights."""

    application: str  # the keras.applications function
    preprocessing: str  # tf / caffe (ImagenetPreprocessing), or "builtin" (the model rescales by itself)
    default_trainable_layers: int  # how many of the last layers fine-tune by default
    weights_file: Callable[[float, int], str]  # (alpha, input size) -> the no-top file name Keras caches
    url_folder: str  # where Keras downloads that file from
    has_alpha: bool = False
    extra: tuple[tuple[str, object], ...] = ()  # more keyword arguments for the application


def _mobilenet_file(alpha: float, size: int) -> str:
    rows = size if size in (128, 160, 192, 224) else 224  # Keras's own choice for other sizes
    alpha_text = {1.0: "1_0", 0.75: "7_5", 0.5: "5_0", 0.25: "2_5"}.get(alpha, str(alpha))
    return f"mobilenet_{alpha_text}_{rows}_tf_no_top.h5"


def _mobilenet_v2_file(alpha: float, size: int) -> str:
    rows = size if size in (96, 128, 160, 192, 224) else 224
    return f"mobilenet_v2_weights_tf_dim_ordering_tf_kernels_{float(alpha)}_{rows}_no_top.h5"


IMAGENET: dict[str, ImagenetBackbone] = {
    "mobilenet": ImagenetBackbone("MobileNet", "tf", 9, _mobilenet_file, KERAS_WEIGHTS + "mobilenet/", has_alpha=True),
    "mobilenet_v2": ImagenetBackbone("MobileNetV2", "tf", 9, _mobilenet_v2_file, KERAS_WEIGHTS + "mobilenet_v2/", has_alpha=True),
    "mobilenet_v3_small": ImagenetBackbone(
        "MobileNetV3Small",
        "builtin",
        9,
        lambda alpha, size: f"weights_mobilenet_v3_small_224_{float(alpha)}_float_no_top_v2.h5",
        KERAS_WEIGHTS + "mobilenet_v3/",
        has_alpha=True,
    ),
    "resnet50": ImagenetBackbone(
        "ResNet50", "caffe", 24, lambda alpha, size: "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5", KERAS_WEIGHTS + "resnet/"
    ),
    "resnet152v2": ImagenetBackbone(
        "ResNet152V2", "tf", 24, lambda alpha, size: "resnet152v2_weights_tf_dim_ordering_tf_kernels_notop.h5", KERAS_WEIGHTS + "resnet/"
    ),
    "efficientnet_b0": ImagenetBackbone(
        "EfficientNetB0", "builtin", 9, lambda alpha, size: "efficientnetb0_notop.h5", "https://storage.googleapis.com/keras-applications/"
    ),
}
FROM_SCRATCH = {"small": small_cnn, "scratch": scratch_cnn}
assert set(FROM_SCRATCH) | set(IMAGENET) == set(BACKBONE_NAMES), "harflow.config.BACKBONE_NAMES and the registry disagree"


def is_imagenet(backbone: str) -> bool:
    return backbone in IMAGENET


def backbone_input_size(train: TrainConfig, image_size: int) -> int:
    """The frame size the backbone sees: `backbone_size`, else the ingested size (at least 32 for ImageNet)."""
    if not is_imagenet(train.backbone):
        return image_size
    return max(train.backbone_size or image_size, MIN_IMAGENET_SIZE)


def trainable_layers(train: TrainConfig) -> int:
    """How many of the backbone's last layers fine-tune (-1 in the config: the backbone's default)."""
    if train.trainable_layers >= 0 or not is_imagenet(train.backbone):
        return train.trainable_layers
    return IMAGENET[train.backbone].default_trainable_layers


def weights_search_dirs(train: TrainConfig) -> list[str]:
    """Where ImageNet weight files are looked for: weights_dir(/models), then Keras's cache."""
    dirs = []
    if train.weights_dir:
        dirs += [os.path.join(train.weights_dir, "models"), train.weights_dir]
    keras_home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    dirs.append(os.path.join(keras_home, "models"))
    return dirs


def imagenet_weights(train: TrainConfig, size: int) -> str | None:
    """The weights argument for keras.applications: a local file when found, else "imagenet" (download).

    Returns None for `weights="none"`.
    """
    if train.weights == "none":
        return None
    spec = IMAGENET[train.backbone]
    name = spec.weights_file(train.alpha, size)
    for folder in weights_search_dirs(train):
        if os.path.isfile(os.path.join(folder, name)):
            return os.path.join(folder, name)
    return "imagenet"


def imagenet_cnn(train: TrainConfig, size: int) -> keras.Model:
    """A keras.applications model without its top, global average pooling: [size, size, 3] in [0, 255] -> [F]."""
    spec = IMAGENET[train.backbone]
    application = getattr(keras.applications, spec.application)
    kwargs = dict(spec.extra)
    if spec.has_alpha:
        kwargs["alpha"] = train.alpha
    weights = imagenet_weights(train, size)
    try:
        model = application(input_shape=(size, size, 3), include_top=False, weights=weights, pooling="avg", **kwargs)
    except Exception as error:  # noqa: BLE001 - a failed download surfaces as a plain Exception in Keras
        if weights != "imagenet":
            raise
        name = spec.weights_file(train.alpha, size)
        raise FileNotFoundError(
            f"ImageNet weights for {train.backbone}: {name} is in none of {', '.join(weights_search_dirs(train))} "
            f"and could not be downloaded ({str(error).splitlines()[0][:120]}); download {spec.url_folder}{name} "
            f"into WEIGHTS_DIR/models/ and pass --weights-dir WEIGHTS_DIR (or --weights none)"
        ) from None
    set_trainable_layers(model, trainable_layers(train))
    return model


def set_trainable_layers(model: keras.Model, count: int) -> None:
    """Fine-tune only the last `count` layers (all when count < 0); batch norm stays frozen.

    Frozen batch norm keeps ImageNet's statistics (Keras runs a non-trainable
    BatchNormalization in inference mode), as keras-io's transfer-learning guide advises.
    """
    if count == 0:
        model.trainable = False
        return
    model.trainable = True
    tail = model.layers[-count:] if count > 0 else model.layers
    tail_ids = {id(layer) for layer in tail}
    for layer in model.layers:
        layer.trainable = id(layer) in tail_ids and not isinstance(layer, layers.BatchNormalization)


def split_at_trainable(cnn: keras.Model, count: int) -> tuple[keras.Model, keras.Model | None]:
    """(frozen front, trainable tail) of a backbone whose last `count` layers fine-tune.

    The cut goes just before the last `count` layers, or earlier where a
    residual connection crosses it (the tail must be a graph of its own); the
    tail's extra layers stay frozen. count 0: no tail.
    """
    if count == 0:
        return cnn, None
    for cut in range(len(cnn.layers) - count - 1, 0, -1):
        try:
            tail = keras.Model(cnn.layers[cut].output, cnn.output, name=f"{cnn.name}_tail")
        except ValueError:  # a later layer reads a tensor from before the cut
            continue
        return keras.Model(cnn.input, cnn.layers[cut].output, name=f"{cnn.name}_front"), tail
    return keras.Model(cnn.input, cnn.input, name=f"{cnn.name}_front"), cnn


def frame_encoders(train: TrainConfig, image_size: int, channels: int) -> tuple[keras.Model, keras.Model | None]:
    """(frame encoder, trainable backbone tail or None) for one frame.

    From-scratch backbones: the whole CNN, [H, W, channels] in [0, 1] -> [F], no tail.
    ImageNet backbones: RGB in [0, 255] -> resize, preprocessing and the frozen part of
    the backbone; the fine-tuned last layers are the tail, which the clip head runs,
    so the frozen-trunk cache can hold the frozen part's outputs (trainer/trunk_cache.py).
    """
    if train.backbone in FROM_SCRATCH:
        return FROM_SCRATCH[train.backbone](image_size, channels), None
    size = backbone_input_size(train, image_size)
    spec = IMAGENET[train.backbone]
    frames = keras.Input((image_size, image_size, channels), name="frame")
    x = frames
    if size != image_size:
        x = layers.Resizing(size, size, name="resize")(x)
    if spec.preprocessing != "builtin":
        x = ImagenetPreprocessing(spec.preprocessing, name="preprocess")(x)
    front, tail = split_at_trainable(imagenet_cnn(train, size), trainable_layers(train))
    return keras.Model(frames, front(x), name=f"{train.backbone}_encoder"), tail

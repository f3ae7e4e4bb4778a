"""Every backbone x head: builds, trains one step on tiny clips; ImageNet weights load from a Keras cache folder."""

import os
from pathlib import Path

import numpy as np
import pytest

from harflow.config import BACKBONE_NAMES, HEAD_NAMES, IngestConfig, TrainConfig
from harflow.trainer.backbones import IMAGENET, imagenet_cnn, set_trainable_layers, split_at_trainable, trainable_layers
from harflow.trainer.model import build_model

TINY = IngestConfig(num_frames=2, image_size=32)
SHARED_KERAS_HOME = Path(__file__).resolve().parents[1].parent / "shared" / "weights" / "keras-home"
MOBILENET_075 = SHARED_KERAS_HOME / "models" / "mobilenet_7_5_224_tf_no_top.h5"


def tiny_train(backbone: str, head: str, **overrides) -> TrainConfig:
    return TrainConfig(backbone=backbone, head=head, weights="none", rnn_units=8, **overrides)


def clips(batch: int = 2) -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (batch, 2, 32, 32, 3), dtype=np.uint8)


@pytest.mark.parametrize("backbone", BACKBONE_NAMES)
@pytest.mark.parametrize("head", HEAD_NAMES)
def test_every_backbone_and_head_build_a_clip_classifier(backbone, head):
    model = build_model(3, TINY, tiny_train(backbone, head))
    assert model.input_shape == (None, 2, 32, 32, 3)
    assert model.output_shape == (None, 3)


# One training step per backbone (heads rotate, so every head also trains on an ImageNet backbone);
# a step of every pair would take minutes on 2 cores, and the head does not depend on the backbone.
STEPS = [(backbone, HEAD_NAMES[index % len(HEAD_NAMES)]) for index, backbone in enumerate(BACKBONE_NAMES)]


@pytest.mark.parametrize(("backbone", "head"), STEPS)
def test_one_training_step_changes_the_trainable_weights(backbone, head):
    model = build_model(3, TINY, tiny_train(backbone, head))
    before = [np.array(w) for w in model.trainable_weights]
    loss = model.train_on_batch(clips(), np.array([0, 2]), return_dict=True)["loss"]
    assert np.isfinite(loss)
    assert any(not np.array_equal(a, np.array(b)) for a, b in zip(before, model.trainable_weights))


def test_bidirectional_head_and_seed_dense_stack_train():
    model = build_model(3, TINY, tiny_train("small", "lstm", bidirectional=True, dense_stack="seed"))
    names = [layer.name for layer in model.get_layer("clip_head").layers]
    assert "bidirectional_lstm" in names and sum(name.startswith("dense") for name in names) == 4
    assert np.isfinite(model.train_on_batch(clips(), np.array([0, 1]), return_dict=True)["loss"])


def test_trainable_layers_fine_tune_only_the_last_layers_and_never_batch_norm():
    import keras

    cnn = imagenet_cnn(tiny_train("mobilenet_v2", "gru"), 32)
    set_trainable_layers(cnn, 9)
    trainable = [layer for layer in cnn.layers if layer.trainable_weights]
    assert trainable and all(layer in cnn.layers[-9:] for layer in trainable)
    assert not any(isinstance(layer, keras.layers.BatchNormalization) for layer in trainable)
    set_trainable_layers(cnn, 0)
    assert not cnn.trainable_weights


@pytest.mark.parametrize(("backbone", "count"), [("mobilenet_v2", 9), ("resnet50", 24)])
def test_a_backbone_split_at_its_fine_tuned_layers_computes_the_same(backbone, count):
    cnn = imagenet_cnn(tiny_train(backbone, "gru", trainable_layers=count), 32)
    front, tail = split_at_trainable(cnn, count)
    assert len(tail.layers) > count  # an input layer, and any layers before a residual connection that crosses the cut
    assert {id(w) for w in cnn.trainable_weights} <= {id(w) for w in tail.trainable_weights}
    assert not front.trainable_weights
    images = np.random.default_rng(0).uniform(0, 255, (2, 32, 32, 3)).astype("float32")
    np.testing.assert_allclose(np.asarray(tail(front(images))), np.asarray(cnn(images)), rtol=1e-4, atol=1e-5)


def test_default_trainable_layers_follow_the_mission():
    assert trainable_layers(TrainConfig(backbone="mobilenet")) == 9
    assert trainable_layers(TrainConfig(backbone="resnet152v2")) == 24
    assert trainable_layers(TrainConfig(backbone="resnet152v2", trainable_layers=3)) == 3


def test_missing_imagenet_weights_name_the_file_to_download(tmp_path, monkeypatch):
    """No file in the weights dir or Keras's cache, and no network here: the error says what to fetch where."""
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    train = TrainConfig(backbone="resnet50", weights_dir=str(tmp_path / "weights"))
    expected = "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5"
    if any((Path(d) / expected).exists() for d in (os.path.expanduser("~/.keras/models"),)):
        pytest.skip("the weights are in this machine's Keras cache")
    try:
        imagenet_cnn(train, 32)
    except FileNotFoundError as error:
        message = str(error)
    else:
        pytest.skip("this machine downloaded the weights (it has a network)")
    assert expected in message and str(tmp_path / "weights") in message and "--weights-dir" in message
    assert message.count("\n") == 0


@pytest.mark.skipif(not MOBILENET_075.exists(), reason="../shared/weights (real MobileNet 0.75 weights) not present")
def test_real_mobilenet_weights_load_from_a_weights_dir():
    import h5py

    cnn = imagenet_cnn(TrainConfig(backbone="mobilenet", alpha=0.75, weights_dir=str(SHARED_KERAS_HOME)), 96)
    assert cnn.output_shape == (None, 768)
    with h5py.File(MOBILENET_075) as weights:  # the first convolution's kernel, as stored in the file
        stored = [np.asarray(weights[k]) for k in _datasets(weights) if "conv1" in k and "kernel" in k][0]
    assert np.allclose(cnn.get_layer("conv1").kernel.numpy(), stored)


def _datasets(group, prefix=""):
    for key, item in group.items():
        if hasattr(item, "keys"):
            yield from _datasets(item, f"{prefix}{key}/")
        else:
            yield f"{prefix}{key}"


def test_the_registry_matches_the_names_the_config_accepts():
    assert set(IMAGENET) | {"small", "scratch"} == set(BACKBONE_NAMES)

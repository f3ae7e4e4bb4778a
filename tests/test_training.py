"""Training: resume after an interruption, clip-consistent augmentation, class weights, devices, trunk cache, save/load."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from harflow.config import IngestConfig, TrainConfig
from harflow.trainer.augment import augment_clips
from harflow.trainer.model import build_model, build_parts
from harflow.trainer.task import EpochLog, balanced_class_weights, fit, precision_policy
from harflow.trainer.trunk_cache import cache_datasets, use_trunk_cache
from record_fixtures import write_records

TINY = IngestConfig(num_frames=2, image_size=32)


def tiny_data(clips: int = 8, seed: int = 0) -> tf.data.Dataset:
    rng = np.random.default_rng(seed)
    frames = rng.integers(0, 256, (clips, 2, 32, 32, 3), dtype=np.uint8)
    return tf.data.Dataset.from_tensor_slices((frames, rng.integers(0, 3, clips))).batch(4)


class StopAfter(keras.callbacks.Callback):
    """Interrupts a fit after `epochs` epochs, as a killed process would (after the epoch's backup)."""

    def __init__(self, epochs: int):
        super().__init__()
        self.epochs = epochs

    def on_epoch_end(self, epoch, logs=None):
        if epoch + 1 == self.epochs:
            raise KeyboardInterrupt


def test_an_interrupted_fit_resumes_after_its_last_finished_epoch(tmp_path):
    train = TrainConfig(epochs=4, rnn_units=8, early_stopping_patience=10)
    backup = str(tmp_path / "backup")
    with pytest.raises(KeyboardInterrupt):
        fit(build_model(3, TINY, train), tiny_data(), tiny_data(seed=1), train, str(tmp_path), backup, extra_callbacks=[StopAfter(2)])
    resumed = build_model(3, TINY, train)  # a fresh process builds a fresh model
    log = EpochLog()
    history = fit(resumed, tiny_data(), tiny_data(seed=1), train, str(tmp_path), backup, extra_callbacks=[log])
    assert log.epochs_seen == [2, 3]  # epochs 3 and 4; 1 and 2 were done before the interruption
    assert history.epoch == [2, 3]


def test_augmentation_moves_every_frame_of_a_clip_the_same_way():
    rng = np.random.default_rng(0)
    frame = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
    clip = np.stack([frame] * 4)[np.newaxis]  # [1, 4, 32, 32, 3]: four identical frames
    clips = np.concatenate([clip, clip])  # two clips
    out = augment_clips(tf.constant(clips), ("flip", "crop", "rotate", "zoom"), tf.constant([3, 4], tf.int64)).numpy()
    for moved in out:
        assert all(np.array_equal(moved[0], moved[t]) for t in range(4))  # one transform per clip
    assert not np.array_equal(out[0, 0], frame)  # and it did transform
    assert not np.array_equal(out[0], out[1])  # a different draw for each clip


def test_no_augmentation_leaves_clips_alone():
    clips = tf.constant(np.random.default_rng(0).integers(0, 256, (2, 2, 8, 8, 3), dtype=np.uint8))
    assert augment_clips(clips, (), tf.constant([1, 2], tf.int64)) is clips


def test_balanced_class_weights_make_every_class_weigh_the_same():
    weights = balanced_class_weights([30, 10, 0, 20])
    assert weights[1] == pytest.approx(3 * weights[0]) and weights[2] == 0.0
    assert 30 * weights[0] == pytest.approx(10 * weights[1]) == pytest.approx(20 * weights[3])
    assert balanced_class_weights([5, 5]) == {0: 1.0, 1: 1.0}


@pytest.mark.parametrize(
    ("setting", "gpus", "policy"),
    [("auto", 0, "float32"), ("auto", 2, "mixed_float16"), ("off", 1, "float32"), ("on", 0, "mixed_float16")],
)
def test_mixed_precision_is_used_on_gpus_unless_switched_off(setting, gpus, policy):
    assert precision_policy(setting, gpus) == policy


def test_a_mixed_precision_model_still_outputs_float32_probabilities():
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        model = build_model(3, TINY, TrainConfig(rnn_units=8))
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert model.output.dtype == "float32"


def test_the_trunk_is_cached_for_imagenet_backbones_without_augmentation():
    assert use_trunk_cache(TrainConfig(backbone="mobilenet_v2", trainable_layers=0))
    assert use_trunk_cache(TrainConfig(backbone="mobilenet_v2"))  # the frozen layers before the last 9
    assert not use_trunk_cache(TrainConfig(backbone="small"))
    assert not use_trunk_cache(TrainConfig(backbone="mobilenet_v2", augment=("crop",)))
    assert not use_trunk_cache(TrainConfig(backbone="mobilenet_v2", cache_trunk="off"))
    with pytest.raises(ValueError, match="ImageNet backbone"):
        use_trunk_cache(TrainConfig(backbone="small", cache_trunk="on"))
    with pytest.raises(ValueError, match="--augment"):
        use_trunk_cache(TrainConfig(backbone="resnet50", cache_trunk="on", augment=("zoom",)))


@pytest.mark.parametrize(("backbone", "trainable", "cached_shape"), [("mobilenet_v2", 0, (2, 1280)), ("mobilenet_v2", 9, (2, 1, 1, 960))])
def test_a_head_fitted_on_cached_features_is_the_exported_models_head(backbone, trainable, cached_shape):
    train = TrainConfig(backbone=backbone, head="gru", weights="none", trainable_layers=trainable, rnn_units=8, epochs=2)
    encoder, head = build_parts(3, TINY, train)
    frames = keras.Input((2, 32, 32, 3), dtype="uint8")
    model = keras.Model(frames, head(encoder(frames)))
    cached_train, cached_val = cache_datasets(encoder, tiny_data(), tiny_data(seed=1), train)
    features, _ = next(iter(cached_train))
    assert features.shape[1:] == cached_shape  # pooled features, or the maps where the fine-tuned layers start
    clips = next(iter(tiny_data()))[0]
    before = model.predict_on_batch(clips)
    head.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    head.fit(cached_train, validation_data=cached_val, epochs=2, verbose=0)
    after = model.predict_on_batch(clips)
    assert not np.allclose(before, after)  # the whole model changed with its head
    np.testing.assert_allclose(after, head.predict_on_batch(encoder.predict_on_batch(clips)), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("backbone", ["small", "mobilenet"])
def test_a_saved_and_loaded_model_gives_the_same_outputs(tmp_path, backbone):
    model = build_model(3, TINY, TrainConfig(backbone=backbone, weights="none", rnn_units=8))
    model.train_on_batch(*next(iter(tiny_data())))  # move the batch norm statistics off their start
    model.save(tmp_path / "model.keras")
    loaded = keras.saving.load_model(tmp_path / "model.keras")
    clips = next(iter(tiny_data(seed=2)))[0]
    np.testing.assert_allclose(loaded.predict_on_batch(clips), model.predict_on_batch(clips), rtol=1e-5, atol=1e-6)


def test_training_input_decodes_clips_as_the_serving_signature_does(tmp_path):
    from harflow.trainer.data import clip_dataset, parse_clips

    write_records(tmp_path / "clips.gz", [2, 0, 1])
    frames, labels = next(iter(clip_dataset([str(tmp_path / "*.gz")], 2, 8, batch_size=3)))
    serialized = next(iter(tf.data.TFRecordDataset([str(tmp_path / "clips.gz")], "GZIP").batch(3)))
    np.testing.assert_array_equal(frames.numpy(), parse_clips(serialized, 2, 8)["frames"].numpy())
    assert labels.numpy().tolist() == [2, 0, 1]


def test_label_counts_count_the_clips_of_each_class(tmp_path):
    from harflow.trainer.data import label_counts

    write_records(tmp_path / "clips.gz", [2, 0, 2, 2])
    assert label_counts([str(tmp_path / "*.gz")], 4) == [1, 0, 3, 0]


def test_cached_features_are_shuffled_into_the_same_order_as_the_frames(tmp_path):
    """The trunk cache and end-to-end training see the train clips in the same order, epoch after epoch."""
    from harflow.trainer.data import clip_dataset
    from harflow.trainer.trunk_cache import cached_dataset

    labels = list(range(20))  # each clip's label names it
    write_records(tmp_path / "clips.gz", labels)
    frames = clip_dataset([str(tmp_path / "*.gz")], 2, 8, batch_size=4, shuffle=True, seed=5)
    features = np.array(labels, dtype=np.float32)[:, np.newaxis]  # encoded in file order, as cache_datasets does
    cached = cached_dataset(features, np.array(labels), 4, shuffle=True, seed=5)
    for _ in range(3):  # epochs: reshuffled each time, the same way in both
        order_frames = [int(label) for _, batch in frames for label in batch.numpy()]
        order_cached = [int(label) for _, batch in cached for label in batch.numpy()]
        assert order_frames == order_cached and order_frames != labels

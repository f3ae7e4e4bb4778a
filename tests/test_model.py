"""The classifier and its export: shapes, time folding, order sensitivity, signatures."""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from harflow.config import IngestConfig, TrainConfig
from harflow.trainer.export import export_saved_model
from harflow.trainer.backbones import small_cnn
from harflow.trainer.model import FoldedTimeDistributed, build_model

INGEST = IngestConfig(num_frames=4, image_size=32)


def random_clips(batch: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (batch, 4, 32, 32, 3), dtype=np.uint8)


@pytest.mark.parametrize("head", ["gru", "lstm"])
def test_model_maps_clips_to_class_probabilities(head):
    model = build_model(5, INGEST, TrainConfig(head=head))
    probabilities = model.predict_on_batch(random_clips(3))
    assert probabilities.shape == (3, 5)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)


def test_folded_time_distributed_equals_keras_time_distributed():
    cnn = small_cnn(32)
    frames = keras.ops.cast(random_clips(2), "float32") / 255.0
    folded = FoldedTimeDistributed(cnn)(frames)
    looped = keras.layers.TimeDistributed(cnn)(frames)
    np.testing.assert_allclose(np.asarray(folded), np.asarray(looped), rtol=1e-5, atol=1e-5)


def test_the_recurrent_head_sees_frame_order():
    model = build_model(5, INGEST, TrainConfig())
    clips = random_clips(2)
    forward = model.predict_on_batch(clips)
    backward = model.predict_on_batch(clips[:, ::-1])
    assert not np.allclose(forward, backward, atol=1e-6)


def test_one_training_step_changes_the_weights():
    model = build_model(3, INGEST, TrainConfig())
    before = [w.copy() for w in model.get_weights()]
    model.train_on_batch(random_clips(4), np.array([0, 1, 2, 0]))
    assert any(not np.array_equal(a, b) for a, b in zip(before, model.get_weights()))


def test_exported_model_serves_frames_and_examples_like_keras(tmp_path):
    from harflow.features import encode_jpeg

    model = build_model(3, INGEST, TrainConfig())
    names = ["Grow", "Shrink", "Spin"]
    export_saved_model(model, str(tmp_path), names, INGEST)
    loaded = tf.saved_model.load(str(tmp_path))
    clips = random_clips(2)

    served = loaded.signatures["serving_default"](frames=tf.constant(clips))
    np.testing.assert_allclose(served["probabilities"].numpy(), model.predict_on_batch(clips), rtol=1e-5, atol=1e-6)
    assert [n.decode() for n in served["class_names"].numpy()[1]] == names

    jpegs = [encode_jpeg(frame, 95) for frame in clips[0]]
    decoded = np.stack([tf.io.decode_jpeg(jpeg).numpy() for jpeg in jpegs])[np.newaxis]  # [1, T, H, W, 3]
    example = tf.train.Example(
        features=tf.train.Features(feature={"frames": tf.train.Feature(bytes_list=tf.train.BytesList(value=jpegs))})
    )
    from_examples = loaded.signatures["serving_examples"](examples=tf.constant([example.SerializeToString()]))
    np.testing.assert_allclose(from_examples["probabilities"].numpy(), model.predict_on_batch(decoded), atol=1e-5)

    info = json.loads((tmp_path / "assets.extra" / "harflow.json").read_text())
    assert info["class_names"] == names and info["num_frames"] == 4 and info["image_size"] == 32


def test_a_model_trained_on_gray_clips_turns_rgb_input_gray_itself():
    from harflow.video import to_gray

    model = build_model(3, IngestConfig(num_frames=4, image_size=32, color="gray"), TrainConfig())
    clips = random_clips(2)
    gray = np.stack([to_gray(clip) for clip in clips])  # what ingestion stored for training
    assert np.abs(clips.astype(int) - gray).max() > 100  # random colours are far from their grey
    np.testing.assert_allclose(model.predict_on_batch(clips), model.predict_on_batch(gray), atol=1e-3)


def test_large_frames_are_folded_a_few_time_steps_per_call_with_the_same_result():
    cnn = small_cnn(32)
    frames = keras.ops.cast(random_clips(2), "float32") / 255.0  # [2, 4, 32, 32, 3]
    chunked = FoldedTimeDistributed(cnn, pixels_per_call=2 * 32 * 32)  # two frames per call
    assert chunked.steps_per_call(frames.shape) == 2
    assert FoldedTimeDistributed(cnn).steps_per_call(frames.shape) == 4  # small frames: all in one call
    at_once = FoldedTimeDistributed(cnn, pixels_per_call=0)(frames)
    np.testing.assert_allclose(np.asarray(chunked(frames)), np.asarray(at_once), rtol=1e-5, atol=1e-5)
    assert FoldedTimeDistributed.from_config(chunked.get_config()).pixels_per_call == 2 * 32 * 32

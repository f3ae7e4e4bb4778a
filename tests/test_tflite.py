"""The TFLite export (--tflite): builtin ops only, and the same probabilities as the SavedModel."""

import json

import numpy as np
import pytest
import tensorflow as tf

from harflow.config import IngestConfig, TrainConfig
from harflow.trainer.export import export_saved_model
from harflow.trainer.model import build_model
from harflow.artifacts import ModelInfo, read_tflite_info
from harflow.trainer.tflite import export_tflite

INGEST = IngestConfig(num_frames=4, image_size=32)
NAMES = ["Grow", "Shrink", "Spin"]


@pytest.mark.parametrize(
    "train",
    [
        TrainConfig(head="gru", rnn_units=8),
        TrainConfig(head="lstm", rnn_units=8, bidirectional=True),
    ],
    ids=["small+gru", "small+bidirectional-lstm"],
)
def test_the_tflite_model_gives_the_saved_models_probabilities(tmp_path, train):
    model = build_model(3, INGEST, train)
    model.train_on_batch(np.random.default_rng(1).integers(0, 256, (4, 4, 32, 32, 3), dtype=np.uint8), np.array([0, 1, 2, 0]))
    export_saved_model(model, str(tmp_path / "Format-Serving"), NAMES, INGEST)
    path = export_tflite(model, str(tmp_path), NAMES, INGEST, train)

    clip = np.random.default_rng(0).integers(0, 256, (1, 4, 32, 32, 3), dtype=np.uint8)
    served = tf.saved_model.load(str(tmp_path / "Format-Serving")).signatures["serving_default"](frames=tf.constant(clip))
    interpreter = tf.lite.Interpreter(model_path=path)
    lite = interpreter.get_signature_runner()(frames=clip)["probabilities"]
    np.testing.assert_allclose(lite, served["probabilities"].numpy(), rtol=1e-4, atol=1e-5)

    info = json.loads((tmp_path / "Format-TFLite" / "harflow.json").read_text())
    assert info["class_names"] == NAMES and info["num_frames"] == 4 and info["image_size"] == 32
    assert info["ops"] == "builtin"  # the unrolled GRU/LSTM needs no Flex delegate
    assert read_tflite_info(str(tmp_path)) == ModelInfo(NAMES, 4, 32, INGEST.color, ops="builtin", batch=1)

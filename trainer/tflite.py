"""Export a trained model to TensorFlow Lite: model.tflite and its class names, for phones and small devices.

    <model>/Format-TFLite/model.tflite   frames [1, T, H, W, 3] uint8 -> probabilities [1, C] float32
    <model>/Format-TFLite/harflow.json   class names, frame count and size (as the SavedModel's assets.extra)

The converter cannot lower Keras 3's GRU/LSTM loop (a `While` over time) to
TFLite builtins, so the model is rebuilt with the recurrent layer unrolled
(`unroll=True`: T copies of the cell, the same weights, the same outputs; T
is fixed by the ingested clips) and converted with builtin ops only. Should a
model still hold an op without a builtin, the conversion falls back to
`SELECT_TF_OPS`, and the model then needs TFLite's Flex delegate (the
`tensorflow-lite-select-tf-ops` runtime on Android); `harflow.json` says which
(`ops`).
"""

from __future__ import annotations

import dataclasses
import tempfile

import keras
import tensorflow as tf

from harflow import artifacts
from harflow.config import IngestConfig, TrainConfig
from harflow.trainer.export import model_info
from harflow.trainer.model import build_model



def unrolled_copy(model: keras.Model, ingest: IngestConfig, train: TrainConfig) -> keras.Model:
    """The same classifier with its GRU/LSTM unrolled over the T frames, holding `model`'s weights."""
    copy = build_model(model.output_shape[-1], ingest, dataclasses.replace(train, weights="none"), unroll=True)
    copy.set_weights(model.get_weights())
    return copy


def convert(model: keras.Model, ingest: IngestConfig, select_tf_ops: bool) -> bytes:
    """frames [1, T, H, W, 3] uint8 -> probabilities, as a TFLite flatbuffer.

    Through a SavedModel written by Keras's ExportArchive: converting a
    tf.function of a Keras 3 model directly (from_concrete_functions) froze
    its variables as garbage here (outputs of 1e35 or NaN).
    """
    t, size = ingest.num_frames, ingest.image_size
    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint(
        artifacts.SERVING_SIGNATURE,
        lambda frames: {artifacts.PROBABILITIES_OUTPUT: model(frames, training=False)},
        input_signature=[tf.TensorSpec([1, t, size, size, 3], tf.uint8, name=artifacts.FRAMES_INPUT)],
    )
    with tempfile.TemporaryDirectory(prefix="harflow-tflite-") as folder:
        archive.write_out(folder, verbose=False)
        converter = tf.lite.TFLiteConverter.from_saved_model(folder)
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
        if select_tf_ops:
            converter.target_spec.supported_ops.append(tf.lite.OpsSet.SELECT_TF_OPS)
        return converter.convert()


def export_tflite(model: keras.Model, model_dir: str, class_names: list[str], ingest: IngestConfig, train: TrainConfig) -> str:
    """Write <model_dir>/Format-TFLite/model.tflite and harflow.json; returns the .tflite path."""
    unrolled = unrolled_copy(model, ingest, train)
    ops = "builtin"
    try:
        flatbuffer = convert(unrolled, ingest, select_tf_ops=False)
    except Exception as error:  # noqa: BLE001 - the converter raises ConverterError and friends
        print(f"TFLite: builtin ops were not enough ({str(error).splitlines()[0][:200]}); converting with SELECT_TF_OPS", flush=True)
        flatbuffer, ops = convert(unrolled, ingest, select_tf_ops=True), "builtin+select_tf_ops (needs the Flex delegate)"
    info = dataclasses.replace(model_info(class_names, ingest), ops=ops, batch=1)
    path = artifacts.write_tflite(model_dir, flatbuffer, info)
    print(f"TFLite: {path} ({len(flatbuffer) / 1e6:.1f} MB, {ops} ops)", flush=True)
    return path

"""Export a trained model as a SavedModel for TF Serving and TFMA.

Signatures:
  serving_default   frames [B, T, H, W, 3] uint8  -> probabilities [B, C] float32,
                                                     class_names  [B, C] string
  serving_examples  examples [B] serialized tf.train.Example -> probabilities [B, C]
                    (what the TFX Evaluator feeds; the label is ignored)

The class names travel inside the graph (the `class_names` output) and beside
it in `assets.extra/harflow.json`, with the frame count and size the model
expects, so a client can sample a clip exactly as training did.
"""

from __future__ import annotations

import json
import os

import keras
import tensorflow as tf

from harflow.config import IngestConfig
from harflow.trainer.data import parse_clips

MODEL_INFO_FILE = "harflow.json"  # in <saved model>/assets.extra/


def export_saved_model(model: keras.Model, export_dir: str, class_names: list[str], ingest: IngestConfig) -> str:
    t, size = ingest.num_frames, ingest.image_size
    names = tf.constant(class_names)

    def predict(frames: tf.Tensor) -> tf.Tensor:
        return model(frames, training=False)  # [B, C]

    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint(
        "serving_default",
        lambda frames: {
            "probabilities": predict(frames),
            "class_names": tf.tile(names[tf.newaxis], [tf.shape(frames)[0], 1]),
        },
        input_signature=[tf.TensorSpec([None, t, size, size, 3], tf.uint8, name="frames")],
    )
    archive.add_endpoint(
        "serving_examples",
        lambda examples: {"probabilities": predict(parse_clips(examples, t, size)["frames"])},
        input_signature=[tf.TensorSpec([None], tf.string, name="examples")],
    )
    archive.write_out(export_dir, verbose=False)
    write_model_info(export_dir, class_names, ingest)
    return export_dir


def model_info(class_names: list[str], ingest: IngestConfig) -> dict:
    """What a client needs to feed the model: class names, frame count and size."""
    return {
        "class_names": list(class_names),
        "num_frames": ingest.num_frames,
        "image_size": ingest.image_size,
        "color": ingest.color,  # gray: trained on gray clips; the model turns RGB input gray itself
        "input": "frames: uint8 RGB [batch, num_frames, image_size, image_size, 3], "
        "frames spread uniformly over the clip (harflow.video.read_clip)",
    }


def write_model_info(export_dir: str, class_names: list[str], ingest: IngestConfig) -> None:
    info = model_info(class_names, ingest)
    extra = os.path.join(export_dir, "assets.extra")
    tf.io.gfile.makedirs(extra)
    with tf.io.gfile.GFile(os.path.join(extra, MODEL_INFO_FILE), "w") as handle:
        handle.write(json.dumps(info, indent=1))

"""Export a trained model as a SavedModel for TF Serving and TFMA.

Signatures:
  the default one  frames [B, T, H, W, 3] uint8  -> probabilities [B, C] float32,
                                                    class names   [B, C] string
  the examples one examples [B] serialized tf.train.Example -> probabilities [B, C]
                   (what the TFX Evaluator feeds; the label is ignored)

Their names, and the model info file, belong to harflow.artifacts. The class
names travel inside the graph (an output) and beside it in the ModelInfo
file, with the frame count and size the model expects, so a client can sample
a clip exactly as training did.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from harflow import artifacts
from harflow.config import IngestConfig
from harflow.trainer.data import parse_clips


def export_saved_model(model: keras.Model, export_dir: str, class_names: list[str], ingest: IngestConfig) -> str:
    t, size = ingest.num_frames, ingest.image_size
    names = tf.constant(class_names)

    def predict(frames: tf.Tensor) -> tf.Tensor:
        return model(frames, training=False)  # [B, C]

    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint(
        artifacts.SERVING_SIGNATURE,
        lambda frames: {
            artifacts.PROBABILITIES_OUTPUT: predict(frames),
            artifacts.CLASS_NAMES_OUTPUT: tf.tile(names[tf.newaxis], [tf.shape(frames)[0], 1]),
        },
        input_signature=[tf.TensorSpec([None, t, size, size, 3], tf.uint8, name=artifacts.FRAMES_INPUT)],
    )
    archive.add_endpoint(
        artifacts.EXAMPLES_SIGNATURE,
        lambda examples: {artifacts.PROBABILITIES_OUTPUT: predict(parse_clips(examples, t, size)["frames"])},
        input_signature=[tf.TensorSpec([None], tf.string, name=artifacts.EXAMPLES_INPUT)],
    )
    archive.write_out(export_dir, verbose=False)
    artifacts.write_model_info(export_dir, model_info(class_names, ingest))
    return export_dir


def model_info(class_names: list[str], ingest: IngestConfig) -> artifacts.ModelInfo:
    """What a client needs to feed the model: class names, frame count, size and colour."""
    return artifacts.ModelInfo(list(class_names), ingest.num_frames, ingest.image_size, ingest.color)

"""ModelComparison's executor: score every variant on the eval split, write the comparison, pass on the best.

For each Model artifact: its SavedModel (Format-Serving/) scores the eval
split through the `serving_default` signature (the one clients use), clip by
clip and per video (the mean of a video's clips, when ingestion wrote several
per test video: `video_id`), and its
harflow_training.json gives the training side (best epoch, val metrics,
time, parameters, curves). The best variant, by val accuracy at its best
epoch (then val loss), not by test accuracy, so the test split stays a test,
is copied into the `model` output: the candidate the Evaluator gates.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import time

import numpy as np
import tensorflow as tf
from tfx.dsl.components.base import base_executor
from tfx.types import artifact_utils
from tfx.utils import path_utils

from harflow.components.model_comparison.metrics import score, video_scores
from harflow.components.model_comparison.report import write_comparison
from harflow import features
from harflow.datasets.detect import categories_for, direction_pairs_for
from harflow.config import PipelineConfig
from harflow.trainer.data import clip_dataset
from harflow.trainer.export import MODEL_INFO_FILE
from harflow.trainer.task import TRAINING_SUMMARY_FILE, class_names_for


def predict_split(saved_model_dir: str, files: list[str], batch_size: int = 32) -> tuple[np.ndarray, np.ndarray, float]:
    """The SavedModel's probabilities for every clip of `files`, the labels, and median ms for one clip."""
    with open(os.path.join(saved_model_dir, "assets.extra", MODEL_INFO_FILE)) as handle:
        info = json.load(handle)
    serve = tf.saved_model.load(saved_model_dir).signatures["serving_default"]
    probabilities, labels = [], []
    for frames, label in clip_dataset(files, info["num_frames"], info["image_size"], batch_size):
        probabilities.append(serve(frames=frames)["probabilities"].numpy())
        labels.append(label.numpy())
    one_clip = frames[:1]
    serve(frames=one_clip)  # warm up
    timings = []
    for _ in range(10):
        started = time.perf_counter()
        serve(frames=one_clip)["probabilities"].numpy()
        timings.append((time.perf_counter() - started) * 1000)
    return np.concatenate(probabilities), np.concatenate(labels), statistics.median(timings)


def clip_videos(files: list[str]) -> list[str]:
    """Each eval clip's video, in the order clip_dataset reads them: its video_id, else its clip_id (one clip per video)."""
    spec = {
        features.VIDEO_ID: tf.io.FixedLenFeature([], tf.string, default_value=""),
        features.CLIP_ID: tf.io.FixedLenFeature([], tf.string, default_value=""),
    }
    paths = sorted(path for pattern in files for path in tf.io.gfile.glob(pattern))  # clip_dataset's order
    videos = []
    for batch in tf.data.TFRecordDataset(paths, compression_type="GZIP").batch(1024).map(lambda s: tf.io.parse_example(s, spec)):
        for video_id, clip_id in zip(batch[features.VIDEO_ID].numpy(), batch[features.CLIP_ID].numpy()):
            videos.append((video_id or clip_id).decode())
    return videos


def variant_row(model_uri: str, eval_files: list[str], class_names: list[str], config: PipelineConfig) -> dict:
    """One variant's line of the comparison: training summary + test scores."""
    with open(os.path.join(model_uri, TRAINING_SUMMARY_FILE)) as handle:
        summary = json.load(handle)
    probabilities, labels, inference_ms = predict_split(path_utils.serving_model_path(model_uri), eval_files)
    scores = score(
        probabilities, labels, class_names, categories_for(class_names, config.compare.category_map),
        config.compare.direction_pairs or direction_pairs_for(class_names),
    )
    scores.update(video_scores(probabilities, labels, clip_videos(eval_files)))
    history = summary["history"]
    best = summary["epochs"].index(summary["best_epoch"]) if summary.get("best_epoch") in summary["epochs"] else None
    at_best = {key: (history[key][best] if best is not None and key in history else None) for key in ("val_accuracy", "val_loss")}
    return {**summary, **scores, **at_best, "inference_ms": inference_ms, "model_uri": model_uri}


def best_variant(rows: list[dict]) -> dict:
    return max(rows, key=lambda row: (row.get("val_accuracy") or 0.0, -(row.get("val_loss") or 0.0)))


class Executor(base_executor.BaseExecutor):
    def Do(self, input_dict: dict, output_dict: dict, exec_properties: dict) -> None:
        config = PipelineConfig.from_json(exec_properties["harflow_config"])
        examples = artifact_utils.get_single_instance(input_dict["examples"])
        eval_files = [os.path.join(artifact_utils.get_split_uri([examples], "eval"), "*")]
        class_names = class_names_for([os.path.join(examples.uri, "Split-train", "x")])
        rows = []
        models = [model for key, models in input_dict.items() if key.startswith("model_") for model in models]
        for model in sorted(models, key=lambda m: m.uri):
            rows.append(variant_row(model.uri, eval_files, class_names, config))
            print(f"ModelComparison: {rows[-1]['variant']}: test accuracy {rows[-1]['accuracy']:.4f}", flush=True)
        order = [train.variant for train in config.train.variant_configs()]
        rows.sort(key=lambda row: order.index(row["variant"]) if row["variant"] in order else len(order))
        best = best_variant(rows)

        comparison = artifact_utils.get_single_instance(output_dict["comparison"])
        write_comparison(comparison.uri, rows, best["variant"], class_names)
        comparison.set_string_custom_property("best_variant", best["variant"])
        comparison.set_string_custom_property("variants", ",".join(row["variant"] for row in rows))

        candidate = artifact_utils.get_single_instance(output_dict["model"])
        shutil.copytree(best["model_uri"], candidate.uri, dirs_exist_ok=True)
        candidate.set_string_custom_property("variant", best["variant"])
        print(f"ModelComparison: best variant {best['variant']} -> {candidate.uri}", flush=True)

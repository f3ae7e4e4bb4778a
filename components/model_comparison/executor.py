"""ModelComparison's executor: score every variant on the eval split, write the comparison, pass on the best.

For each Model artifact: its SavedModel, opened as a serving Predictor (the
signature clients use), scores the eval split clip by clip and per video (the
mean of a video's clips, when ingestion wrote several per test video:
`video_id`), and its training summary (harflow.artifacts) gives the training
side (best epoch, val metrics, time, parameters, curves). The best variant, by val accuracy at its best
epoch (then val loss), not by test accuracy, so the test split stays a test,
is copied into the `model` output: the candidate the Evaluator gates.
When the leader's val accuracy is inside the noise (its 95% Wilson interval
over the val videos overlaps a rival's), val accuracy cannot tell them apart:
the pick then takes the lowest val loss among those, then the fewest
parameters (`pick_best`, docs/comparison.md). Every accuracy carries its 95%
interval; the split source and the leakage audit's figure come from the
Examples artifact.
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

from harflow import artifacts, features
from harflow.components.model_comparison.metrics import intervals_overlap, score, video_scores, wilson_interval
from harflow.components.model_comparison.report import write_comparison
from harflow.datasets.detect import categories_for, direction_pairs_for
from harflow.config import CompareConfig
from harflow.serving.predictor import Predictor, open_predictor
from harflow.trainer.data import clip_dataset


def predict_split(predictor: Predictor, files: list[str], batch_size: int = 32) -> tuple[np.ndarray, np.ndarray]:
    """The predictor's probabilities [N, C] for every clip of `files` (TFRecords), and their labels [N]."""
    probabilities, labels = [], []
    for frames, label in clip_dataset(files, predictor.num_frames, predictor.image_size, batch_size):
        probabilities.append(predictor.predict(frames.numpy()))
        labels.append(label.numpy())
    if not labels:
        raise ValueError(f"{files}: no eval clips to score; check the Examples artifact's Split-eval")
    return np.concatenate(probabilities), np.concatenate(labels)


def one_clip_ms(predictor: Predictor, runs: int) -> float:
    """Median milliseconds of `runs` single-clip calls (after one warm-up call)."""
    if runs < 1:
        raise ValueError(f"timing_runs must be >= 1, not {runs}")
    clip = np.zeros((1, predictor.num_frames, predictor.image_size, predictor.image_size, 3), np.uint8)
    predictor.predict(clip)
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        predictor.predict(clip)
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


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


def variant_row(model_uri: str, eval_files: list[str], class_names: list[str], compare: CompareConfig) -> dict:
    """One variant's line of the comparison: training summary + test scores."""
    summary = artifacts.read_training_summary(model_uri)
    predictor = open_predictor(model=artifacts.serving_dir(model_uri))
    probabilities, labels = predict_split(predictor, eval_files)
    inference_ms = one_clip_ms(predictor, compare.timing_runs)
    scores = score(
        probabilities, labels, class_names, categories_for(class_names, compare.category_map),
        compare.direction_pairs or direction_pairs_for(class_names),
    )
    scores.update(video_scores(probabilities, labels, clip_videos(eval_files)))
    at_best = {key: summary.at_best_epoch(key) for key in ("val_accuracy", "val_loss")}
    return {**summary.to_dict(), **scores, **at_best, "inference_ms": inference_ms, "model_uri": model_uri}


def add_intervals(row: dict, val_videos: int) -> dict:
    """95% Wilson intervals of test accuracy (over test videos), video accuracy and val accuracy (over val videos)."""
    videos = row.get("videos") or row.get("clips", 0)
    row["accuracy_ci"] = wilson_interval(row["accuracy"], videos)
    if row.get("video_accuracy") is not None:
        row["video_accuracy_ci"] = wilson_interval(row["video_accuracy"], videos)
    if row.get("val_accuracy") is not None:
        row["val_accuracy_ci"] = wilson_interval(row["val_accuracy"], val_videos)
    return row


def pick_best(rows: list[dict]) -> tuple[dict, str]:
    """The best variant and why: highest val accuracy when it stands clear of the others' 95% intervals;
    else, among the variants it cannot be told from, the lowest val loss, then the fewest parameters."""
    leader = max(rows, key=lambda row: (row.get("val_accuracy") or 0.0, -(row.get("val_loss") or 0.0)))
    no_interval = (0.0, 1.0)
    tied = [row for row in rows if row is leader or intervals_overlap(row.get("val_accuracy_ci", no_interval), leader.get("val_accuracy_ci", no_interval))]
    if len(tied) == 1:
        return leader, "highest val accuracy, clear of the others' 95% intervals"
    steadiest = min(tied, key=lambda row: (row.get("val_loss") if row.get("val_loss") is not None else float("inf"), row.get("parameters") or 0))
    names = ", ".join(row["variant"] for row in tied)
    return steadiest, (
        f"val accuracy cannot tell {names} apart (their 95% intervals overlap): the lowest val loss, then the fewest parameters"
    )


def best_variant(rows: list[dict]) -> dict:
    return pick_best(rows)[0]


def examples_facts(examples) -> dict:
    """What ingestion recorded on the Examples artifact: val videos, the split source, and the share of eval
    videos with a near-duplicate in train. An artifact written before these were recorded counts its val clips."""
    properties = examples.mlmd_artifact.custom_properties
    facts = {"val_videos": 0, "split_source": "", "eval_fraction_with_train_twin": None}
    if artifacts.VAL_VIDEOS_PROPERTY in properties:
        facts["val_videos"] = int(properties[artifacts.VAL_VIDEOS_PROPERTY].int_value)
    elif "written_val" in properties:
        facts["val_videos"] = int(properties["written_val"].int_value)
    if artifacts.SPLIT_SOURCE_PROPERTY in properties:
        facts["split_source"] = properties[artifacts.SPLIT_SOURCE_PROPERTY].string_value
    if artifacts.LEAK_PROPERTY in properties:
        facts["eval_fraction_with_train_twin"] = properties[artifacts.LEAK_PROPERTY].double_value
    return facts


class Executor(base_executor.BaseExecutor):
    def Do(self, input_dict: dict, output_dict: dict, exec_properties: dict) -> None:
        compare = CompareConfig(**json.loads(exec_properties["compare_config"]))
        examples = artifact_utils.get_single_instance(input_dict["examples"])
        eval_files = [os.path.join(artifact_utils.get_split_uri([examples], "eval"), "*")]
        class_names = artifacts.read_class_names(examples.uri)
        rows = []
        models = [model for key, models in input_dict.items() if key.startswith("model_") for model in models]
        for model in sorted(models, key=lambda m: m.uri):
            rows.append(variant_row(model.uri, eval_files, class_names, compare))
            print(f"ModelComparison: {rows[-1]['variant']}: test accuracy {rows[-1]['accuracy']:.4f}", flush=True)
        order = json.loads(exec_properties.get("variant_order") or "[]")
        rows.sort(key=lambda row: order.index(row["variant"]) if row["variant"] in order else len(order))
        facts = examples_facts(examples)
        rows = [add_intervals(row, facts["val_videos"]) for row in rows]
        best, reason = pick_best(rows)

        comparison = artifact_utils.get_single_instance(output_dict["comparison"])
        write_comparison(comparison.uri, rows, best["variant"], class_names, {**facts, "pick_reason": reason})
        comparison.set_string_custom_property("best_variant", best["variant"])
        comparison.set_string_custom_property("variants", ",".join(row["variant"] for row in rows))

        candidate = artifact_utils.get_single_instance(output_dict["model"])
        shutil.copytree(best["model_uri"], candidate.uri, dirs_exist_ok=True)
        candidate.set_string_custom_property("variant", best["variant"])
        print(f"ModelComparison: best variant {best['variant']} ({reason}) -> {candidate.uri}", flush=True)

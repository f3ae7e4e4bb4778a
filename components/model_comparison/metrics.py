"""Scoring one model on the eval split: top-1, top-5, loss, per class, per category, direction pairs,
and video-level top-1 / top-5 from several clips per video.

Pure NumPy on (probabilities [N, C], labels [N]), so the tests check the
numbers on hand-made inputs. Which classes form a category or a direction pair
is the dataset's to say (harflow.datasets.detect.categories_for / direction_pairs_for).
"""

from __future__ import annotations

import numpy as np


def score(
    probabilities: np.ndarray,
    labels: np.ndarray,
    class_names: list[str],
    categories: dict[str, str] | None = None,
    direction_pairs: tuple[str, ...] = (),
) -> dict:
    """Accuracy (top-1, top-5), cross-entropy loss, confusion matrix, per class, per category, per direction pair."""
    probabilities = np.asarray(probabilities, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.int64)
    predicted = probabilities.argmax(axis=1)
    correct = predicted == labels
    top5 = np.argsort(-probabilities, axis=1)[:, :5]
    num_classes = len(class_names)
    confusion = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(confusion, (labels, predicted), 1)
    per_class = {name: float(correct[labels == index].mean()) for index, name in enumerate(class_names) if (labels == index).any()}
    per_category = {}
    for category in sorted(set((categories or {}).values())):
        members = [index for index, name in enumerate(class_names) if (categories or {}).get(name) == category]
        mask = np.isin(labels, members)
        if mask.any():
            per_category[category] = float(correct[mask].mean())
    pairs = {}
    for pair in direction_pairs:
        first, second = pair.split("/")
        if first in class_names and second in class_names:
            a, b = class_names.index(first), class_names.index(second)
            mask = np.isin(labels, [a, b])
            if mask.any():  # which of the two the model prefers, whatever else it thinks
                chosen = np.where(probabilities[mask, a] >= probabilities[mask, b], a, b)
                pairs[pair] = float((chosen == labels[mask]).mean())
    picked = probabilities[np.arange(len(labels)), labels]
    return {
        "clips": int(len(labels)),
        "accuracy": float(correct.mean()),
        "top5": float((top5 == labels[:, None]).any(axis=1).mean()),
        "loss": float(-np.log(np.clip(picked, 1e-7, 1.0)).mean()),
        "per_class": per_class,
        "per_category": per_category,
        "direction_pairs": pairs,
        "confusion": confusion.tolist(),
    }


def video_scores(probabilities: np.ndarray, labels: np.ndarray, video_ids: list[str]) -> dict:
    """Video-level top-1 and top-5: each video's clip probabilities averaged, then ranked.

    probabilities [N, C] and labels [N] per clip; video_ids [N] names each clip's video
    (a video's clips share its label). Returns {videos, clips_per_video (min, max),
    video_accuracy, video_top5}; with one clip per video these equal the clip scores.
    """
    probabilities = np.asarray(probabilities, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.int64)
    names, video = np.unique(np.asarray(video_ids, dtype=object).astype(str), return_inverse=True)  # video [N]
    count = np.bincount(video, minlength=len(names))  # [V] clips per video
    mean = np.zeros((len(names), probabilities.shape[1]))
    np.add.at(mean, video, probabilities)
    mean /= count[:, None]  # [V, C]
    video_label = np.zeros(len(names), dtype=np.int64)
    video_label[video] = labels
    top5 = np.argsort(-mean, axis=1)[:, :5]
    return {
        "videos": int(len(names)),
        "clips_per_video": [int(count.min()), int(count.max())] if len(names) else [0, 0],
        "video_accuracy": float((mean.argmax(axis=1) == video_label).mean()),
        "video_top5": float((top5 == video_label[:, None]).any(axis=1).mean()),
    }


Z_95 = 1.959964  # the normal quantile of a two-sided 95% interval


def wilson_interval(proportion: float, n: int, z: float = Z_95) -> tuple[float, float]:
    """The Wilson score interval of a proportion observed on n independent trials (95% by default); (0, 1) when n is 0.

    For clip accuracy with several clips per video, pass the number of videos: the clips of one
    video are not independent, so the videos are the trials (a wider, honest interval).
    """
    if n <= 0:
        return 0.0, 1.0
    if not 0.0 <= proportion <= 1.0:
        raise ValueError(f"a proportion must be in [0, 1], not {proportion}")
    centre = (proportion + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * np.sqrt(proportion * (1 - proportion) / n + z * z / (4 * n * n))
    return float(max(0.0, centre - half)), float(min(1.0, centre + half))


def intervals_overlap(a: tuple[float, float], b: tuple[float, float]) -> bool:
    """Whether two intervals share a point: two accuracies whose 95% intervals overlap are not told apart."""
    return a[0] <= b[1] and b[0] <= a[1]

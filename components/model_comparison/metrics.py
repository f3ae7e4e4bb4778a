"""Scoring one model on the eval split: top-1, top-5, loss, per class, per category, direction pairs,
and video-level top-1 / top-5 from several clips per video.

Pure NumPy on (probabilities [N, C], labels [N]), so the tests check the
numbers on hand-made inputs.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

# UCF101's five action types (Soomro et al., "UCF101", 2012): 20, 16, 5, 10 and 50 classes.
UCF101_GROUPS: dict[str, tuple[str, ...]] = {
    "human-object interaction": (
        "ApplyEyeMakeup", "ApplyLipstick", "BlowDryHair", "BrushingTeeth", "CuttingInKitchen", "Hammering",
        "HulaHoop", "JugglingBalls", "JumpRope", "Knitting", "Mixing", "MoppingFloor", "Nunchucks",
        "PizzaTossing", "ShavingBeard", "SkateBoarding", "SoccerJuggling", "Typing", "WritingOnBoard", "YoYo",
    ),
    "body motion": (
        "BabyCrawling", "BlowingCandles", "BodyWeightSquats", "HandstandPushups", "HandstandWalking",
        "JumpingJack", "Lunges", "PullUps", "PushUps", "RockClimbingIndoor", "RopeClimbing", "Swing", "TaiChi",
        "TrampolineJumping", "WalkingWithDog", "WallPushups",
    ),
    "human-human interaction": ("BandMarching", "Haircut", "HeadMassage", "MilitaryParade", "SalsaSpin"),
    "playing instruments": (
        "Drumming", "PlayingCello", "PlayingDaf", "PlayingDhol", "PlayingFlute", "PlayingGuitar", "PlayingPiano",
        "PlayingSitar", "PlayingTabla", "PlayingViolin",
    ),
}
UCF101_OTHER_GROUP = "sports"  # the other 50 classes
SYNTH_GROUPS = {"Move": "translation", "Rotate": "rotation", "Grow": "scale", "Shrink": "scale"}


def categories_for(class_names: list[str], category_map: str = "") -> dict[str, str]:
    """class -> category: the user's JSON map, else UCF101's groups or the synthetic motion kinds, else none."""
    if category_map:
        path = Path(category_map)
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no such category map (a JSON object: class name -> category)")
        mapping = json.loads(path.read_text())
        return {name: mapping[name] for name in class_names if name in mapping}
    grouped = {name: group for group, names in UCF101_GROUPS.items() for name in names}
    if len(class_names) == 101 and sum(name in grouped for name in class_names) == 51:
        return {name: grouped.get(name, UCF101_OTHER_GROUP) for name in class_names}
    synth = {name: kind for name in class_names for prefix, kind in SYNTH_GROUPS.items() if name.startswith(prefix)}
    return synth if len(synth) == len(class_names) else {}


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

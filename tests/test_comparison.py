"""The model comparison's numbers and files, on hand-made predictions."""

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from harflow.components.model_comparison.metrics import score, video_scores
from harflow.datasets.detect import categories_for
from harflow.datasets.ucf101 import CATEGORY_CLASSES as UCF101_GROUPS
from harflow.components.model_comparison.report import mean_over_runs, write_comparison

CLASSES = ["MoveLeft", "MoveRight", "Grow", "Shrink", "RotateClockwise", "RotateAnticlockwise"]
UCF101_INDEX = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "splits" / "ucf101" / "classInd.txt"


def one_hot_ish(predicted: list[int], classes: int = 6) -> np.ndarray:
    probabilities = np.full((len(predicted), classes), 0.02)
    probabilities[np.arange(len(predicted)), predicted] = 1 - 0.02 * (classes - 1)
    return probabilities


def test_score_counts_top1_top5_loss_and_confusion():
    labels = np.array([0, 1, 2, 3])
    scores = score(one_hot_ish([0, 0, 2, 3]), labels, CLASSES)
    assert scores["accuracy"] == 0.75 and scores["top5"] == 1.0
    assert scores["loss"] == pytest.approx(-(3 * np.log(0.9) + np.log(0.02)) / 4)
    assert scores["confusion"][1][0] == 1 and scores["confusion"][0][0] == 1
    assert scores["per_class"] == {"MoveLeft": 1.0, "MoveRight": 0.0, "Grow": 1.0, "Shrink": 1.0}


def test_a_direction_pair_is_scored_between_its_two_classes_only():
    probabilities = np.array([[0.1, 0.3, 0.6, 0, 0, 0], [0.2, 0.1, 0.7, 0, 0, 0]])  # both say Grow overall
    scores = score(probabilities, np.array([1, 1]), CLASSES, direction_pairs=("MoveLeft/MoveRight", "Up/Down"))
    assert scores["accuracy"] == 0.0
    assert scores["direction_pairs"] == {"MoveLeft/MoveRight": 0.5}  # the absent pair is left out


def test_synthetic_classes_fall_into_motion_kinds():
    categories = categories_for(CLASSES)
    assert categories["MoveRight"] == "translation" and categories["Shrink"] == "scale" and categories["RotateClockwise"] == "rotation"
    scores = score(one_hot_ish([0, 1, 3, 3]), np.array([0, 1, 2, 3]), CLASSES, categories)
    assert scores["per_category"] == {"scale": 0.5, "translation": 1.0}


@pytest.mark.skipif(not UCF101_INDEX.exists(), reason="../shared UCF101 split files not present")
def test_ucf101_classes_fall_into_its_five_groups_of_20_16_5_10_50():
    names = [line.split()[1] for line in UCF101_INDEX.read_text().splitlines() if line.strip()]
    categories = categories_for(names)
    counts = {group: list(categories.values()).count(group) for group in set(categories.values())}
    assert counts == {"human-object interaction": 20, "body motion": 16, "human-human interaction": 5, "playing instruments": 10, "sports": 50}
    assert all(name in names for group in UCF101_GROUPS.values() for name in group)


def test_a_user_category_map_is_read_and_a_missing_one_named(tmp_path):
    (tmp_path / "map.json").write_text(json.dumps({"Grow": "size", "Shrink": "size"}))
    assert categories_for(CLASSES, str(tmp_path / "map.json")) == {"Grow": "size", "Shrink": "size"}
    with pytest.raises(FileNotFoundError, match="nope.json"):
        categories_for(CLASSES, str(tmp_path / "nope.json"))


def row(variant: str, predicted: list[int], seconds: float = 3.0) -> dict:
    scores = score(one_hot_ish(predicted), np.array([0, 1, 2, 3]), CLASSES, categories_for(CLASSES), ("MoveLeft/MoveRight",))
    history = {"accuracy": [0.5, 0.7], "val_accuracy": [0.4, 0.6], "loss": [1.0, 0.5], "val_loss": [1.1, 0.7]}
    return {"variant": variant, **scores, "history": history, "epochs": [1, 2], "best_epoch": 2, "val_accuracy": 0.6,
            "val_loss": 0.7, "train_seconds": seconds, "parameters": 1234, "inference_ms": 4.2}


def test_the_comparison_is_written_as_markdown_csv_json_and_pngs(tmp_path):
    rows = [row("small+gru", [0, 1, 2, 3]), row("small+average", [0, 0, 2, 2])]
    markdown = write_comparison(str(tmp_path), rows, "small+gru", CLASSES).read_text()
    assert "| small+gru | 2 | 1.000 |" in markdown and "| small+average | 2 | 0.500 |" in markdown and "**small+gru**" in markdown
    assert "Direction pairs" in markdown and "Accuracy per category" in markdown
    table = list(csv.DictReader((tmp_path / "comparison.csv").open()))
    assert [r["variant"] for r in table] == ["small+gru", "small+average"] and table[1]["accuracy"] == "0.5"
    for png in ("curves.png", "confusion_small_gru.png", "confusion_small_average.png"):
        assert (tmp_path / png).read_bytes()[:4] == b"\x89PNG"


def test_several_runs_are_averaged_per_variant(tmp_path):
    for index, predicted in enumerate(([0, 1, 2, 3], [0, 0, 2, 3])):
        write_comparison(str(tmp_path / f"split{index + 1}"), [row("small+gru", predicted)], "small+gru", CLASSES)
    text = mean_over_runs([str(tmp_path / "split1"), str(tmp_path / "split2")])
    assert "| small+gru | 2 | 0.875 |" in text


def test_more_variants_than_model_comparison_has_inputs_are_refused():
    from tfx.types import channel, standard_artifacts

    from harflow.components.model_comparison.component import MAX_VARIANTS, ModelComparison

    examples = channel.Channel(type=standard_artifacts.Examples)
    models = [channel.Channel(type=standard_artifacts.Model) for _ in range(MAX_VARIANTS + 1)]
    with pytest.raises(ValueError, match=rf"^{MAX_VARIANTS + 1} variants: one run compares 1 to {MAX_VARIANTS} \(--variants\)"):
        ModelComparison(examples=examples, models=models, compare_config_json="{}")


# --------------------------------------------------------------------------- video-level accuracy


def test_averaging_a_videos_clips_can_flip_the_answer():
    """Video A (MoveLeft): two clips narrowly say MoveRight, one firmly MoveLeft; the mean says MoveLeft."""
    probabilities = np.array([
        [0.45, 0.55, 0, 0, 0, 0],  # A, clip 0: wrong
        [0.45, 0.55, 0, 0, 0, 0],  # A, clip 1: wrong
        [0.90, 0.10, 0, 0, 0, 0],  # A, clip 2: right; mean [0.6, 0.4]: right
        [0.10, 0.20, 0.70, 0, 0, 0],  # B (Grow), one clip: right
    ])
    labels = np.array([0, 0, 0, 2])
    videos = ["A", "A", "A", "B"]

    assert score(probabilities, labels, CLASSES)["accuracy"] == 0.5  # single clips: 2 of 4
    assert video_scores(probabilities, labels, videos) == {
        "videos": 2, "clips_per_video": [1, 3], "video_accuracy": 1.0, "video_top5": 1.0,
    }


def test_video_top5_ranks_the_mean_of_the_clips():
    """Six classes: the true class (5) is in one clip's top 5, but last in the mean of the two clips."""
    probabilities = np.array([
        [0.30, 0.30, 0.20, 0.10, 0.10, 0.00],  # class 5 last
        [0.30, 0.30, 0.20, 0.15, 0.00, 0.05],  # class 4 last: class 5 in the top 5
    ])  # mean: class 4 0.05, class 5 0.025
    labels = np.array([5, 5])
    assert score(probabilities, labels, CLASSES)["top5"] == 0.5
    assert video_scores(probabilities, labels, ["v", "v"])["video_top5"] == 0.0


def test_one_clip_per_video_is_said_so_and_video_accuracy_equals_clip_accuracy(tmp_path):
    rows = [row("small+gru", [0, 1, 2, 2])]
    rows[0].update(video_scores(one_hot_ish([0, 1, 2, 2]), np.array([0, 1, 2, 3]), ["a", "b", "c", "d"]))
    markdown = write_comparison(str(tmp_path), rows, "small+gru", CLASSES).read_text()
    assert "one clip per video" in markdown and "Train and val: one clip over each whole video." in markdown
    assert "| video accuracy | video top-5 |" in markdown and "| 0.600 | 0.700 | 1.000 | 0.750 | 1.000 | 3 |" in markdown  # val acc, val loss, top-5, video


def test_several_clips_per_video_are_reported_in_the_table_csv_and_mean_over_runs(tmp_path):
    probabilities = np.array([[0.45, 0.55, 0, 0, 0, 0], [0.45, 0.55, 0, 0, 0, 0], [0.9, 0.1, 0, 0, 0, 0]] * 2)
    labels, videos = np.array([0, 0, 0, 1, 1, 1]), ["A"] * 3 + ["B"] * 3
    for split in ("split1", "split2"):
        variant = {**row("small+gru", [0, 1, 2, 3]), **score(probabilities, labels, CLASSES), **video_scores(probabilities, labels, videos)}
        markdown = write_comparison(str(tmp_path / split), [variant], "small+gru", CLASSES).read_text()
    assert "2 videos, 3 clips per video (6 clips)" in markdown
    assert "Train and val: one clip over each whole video." in markdown  # row() trained on whole videos
    table = next(csv.DictReader((tmp_path / "split1" / "comparison.csv").open()))
    assert float(table["accuracy"]) == 0.5 and float(table["video_accuracy"]) == 0.5  # A right, B wrong
    text = mean_over_runs([str(tmp_path / "split1"), str(tmp_path / "split2")])
    assert "mean video accuracy" in text and "| small+gru | 2 | 0.500 | 1.000 | 0.500 | 1.000 |" in text


def test_training_on_segments_is_said_so(tmp_path):
    rows = [{**row("small+gru", [0, 1, 2, 2]), "train_segments": 3}, {**row("small+lstm", [0, 1, 2, 2]), "train_segments": 3}]
    markdown = write_comparison(str(tmp_path), rows, "small+gru", CLASSES).read_text()
    assert "Train and val: each video cut into 3 equal segments, one clip each." in markdown


class CountingPredictor:
    """A Predictor test double: probabilities from the clips' mean brightness; counts its calls."""

    classes, num_frames, image_size, description = ["dark", "bright"], 2, 8, "counting"

    def __init__(self):
        self.calls = 0

    def predict(self, clips):
        self.calls += 1
        bright = clips.reshape(len(clips), -1).mean(axis=1) / 255.0
        return np.stack([1 - bright, bright], axis=1).astype(np.float32)

    def close(self):
        pass


def test_the_comparison_scores_a_split_with_any_predictor_and_times_config_timing_runs_calls(tmp_path):
    from record_fixtures import write_records

    from harflow.components.model_comparison.executor import one_clip_ms, predict_split
    from harflow.serving.predictor import Predictor

    write_records(tmp_path / "eval.gz", [0, 1, 1, 0, 1])
    predictor = CountingPredictor()
    assert isinstance(predictor, Predictor)
    probabilities, labels = predict_split(predictor, [str(tmp_path / "*.gz")], batch_size=2)
    assert probabilities.shape == (5, 2) and labels.tolist() == [0, 1, 1, 0, 1] and predictor.calls == 3
    predictor.calls = 0
    assert one_clip_ms(predictor, runs=7) >= 0.0 and predictor.calls == 1 + 7  # one warm-up, then the timed runs
    with pytest.raises(ValueError, match="timing_runs must be >= 1"):
        one_clip_ms(predictor, runs=0)


def test_timing_runs_below_one_is_refused_in_the_config():
    from harflow.config import CompareConfig

    with pytest.raises(ValueError, match="timing_runs must be >= 1, not 0"):
        CompareConfig(timing_runs=0)

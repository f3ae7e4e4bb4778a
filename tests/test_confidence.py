"""How sure a comparison is: 95% Wilson intervals, the pick when val accuracy is inside the noise, and what was measured."""

import pytest

from harflow.components.model_comparison.executor import add_intervals, pick_best
from harflow.components.model_comparison.metrics import intervals_overlap, wilson_interval
from harflow.components.model_comparison.report import mean_over_runs, write_comparison
from harflow.pipeline.report import evaluation_markdown
from harflow.pipeline.run import RunSummary


def test_wilson_interval_matches_the_textbook_values():
    assert wilson_interval(0.5, 100) == pytest.approx((0.4038, 0.5962), abs=1e-4)
    assert wilson_interval(0.0, 10) == pytest.approx((0.0, 0.2775), abs=1e-4)  # never below 0, unlike the normal interval
    assert wilson_interval(0.61, 57)[1] - wilson_interval(0.61, 57)[0] > 0.2  # 57 test clips: +-0.12
    assert wilson_interval(0.7, 0) == (0.0, 1.0)
    with pytest.raises(ValueError, match="proportion"):
        wilson_interval(1.5, 10)


def variant(name: str, val_accuracy: float, val_loss: float, parameters: int, accuracy: float = 0.5) -> dict:
    return {"variant": name, "val_accuracy": val_accuracy, "val_loss": val_loss, "parameters": parameters,
            "accuracy": accuracy, "clips": 57, "videos": 57, "video_accuracy": accuracy}


def test_a_leader_inside_the_noise_is_not_picked_by_val_accuracy():
    # the case: 34 val videos, 0.62 vs 0.56 val accuracy: intervals overlap
    rows = [add_intervals(variant("a+gru", 0.62, 1.10, 900_000), 34), add_intervals(variant("b+gru", 0.56, 0.95, 400_000), 34)]
    assert intervals_overlap(rows[0]["val_accuracy_ci"], rows[1]["val_accuracy_ci"])
    best, reason = pick_best(rows)
    assert best["variant"] == "b+gru" and "cannot tell a+gru, b+gru apart" in reason


def test_equal_val_loss_picks_the_simpler_model():
    rows = [add_intervals(variant("big", 0.60, 1.0, 2_000_000), 34), add_intervals(variant("small", 0.58, 1.0, 100_000), 34)]
    assert pick_best(rows)[0]["variant"] == "small"


def test_a_clear_leader_is_picked_by_val_accuracy():
    rows = [add_intervals(variant("a", 0.95, 1.5, 900_000), 300), add_intervals(variant("b", 0.40, 0.9, 400_000), 300)]
    best, reason = pick_best(rows)
    assert best["variant"] == "a" and reason.startswith("highest val accuracy")


def test_the_comparison_says_what_it_measured_and_how_sure_it_is(tmp_path):
    rows = [add_intervals({**variant("small+gru", 0.6, 1.0, 1000, accuracy=0.61), "confusion": [[1, 0], [0, 1]]}, 34)]
    facts = {"split_source": "UCF101 official split 1 (lists: /d)", "eval_fraction_with_train_twin": 0.035,
             "val_videos": 34, "pick_reason": "only variant"}
    page = write_comparison(str(tmp_path), rows, "small+gru", ["a", "b"], facts).read_text()
    low, high = wilson_interval(0.61, 57)
    assert f"0.610 ({low:.2f}-{high:.2f})" in page
    assert "Split source: UCF101 official split 1 (lists: /d)." in page
    assert "3.5% of eval videos have a near-duplicate in train" in page and "(only variant)" in page


def test_runs_show_prints_the_split_source_the_audit_and_the_interval():
    run = RunSummary(run_id="r1", started=0.0, accuracy=0.61, example_count=57, split_source="folder: group hash split, seed 0",
                     eval_twin_fraction=0.0)
    page = evaluation_markdown(run, None, [])
    low, high = wilson_interval(0.61, 57)
    assert f"0.6100 ({low:.2f}-{high:.2f})" in page
    assert "- split source: folder: group hash split, seed 0" in page and "0.0% of eval videos have a near-duplicate" in page


def test_the_mean_over_runs_names_each_runs_split_source(tmp_path):
    for split in (1, 2):
        row = add_intervals({**variant("small+gru", 0.6, 1.0, 1000), "confusion": [[1, 0], [0, 1]]}, 34)
        facts = {"split_source": f"HMDB51 official split {split} (lists: /d)", "eval_fraction_with_train_twin": 0.0}
        write_comparison(str(tmp_path / f"s{split}"), [row], "small+gru", ["a", "b"], facts)
    text = mean_over_runs([str(tmp_path / "s1"), str(tmp_path / "s2")])
    assert f"- {tmp_path / 's2'}: Split source: HMDB51 official split 2 (lists: /d). Leakage audit: 0.0%" in text

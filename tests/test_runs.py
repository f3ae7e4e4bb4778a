"""`harflow runs show`'s arithmetic: per-class recall and precision and per-category accuracy from a confusion matrix."""

import numpy as np

from harflow.pipeline.report import category_accuracy, evaluation_markdown, per_class
from harflow.pipeline.run import RunSummary

NAMES = ["Walk", "Run", "Swim"]
# rows: true class, columns: predicted class
MATRIX = np.array([[3, 1, 0], [0, 2, 2], [0, 0, 0]])


def test_recall_is_per_true_class_and_precision_per_predicted_class():
    recall, precision, support = per_class(MATRIX)
    np.testing.assert_allclose(recall[:2], [0.75, 0.5])
    np.testing.assert_allclose(precision[:2], [1.0, 2 / 3])
    assert np.isnan(recall[2]) and precision[2] == 0.0
    assert support.tolist() == [4, 4, 0]


def test_category_accuracy_pools_the_clips_of_its_classes():
    categories = {"Walk": "land", "Run": "land", "Swim": "water"}
    assert category_accuracy(MATRIX, NAMES, categories) == {"land": (5 / 8, 8)}


def test_the_evaluation_page_shows_categories_only_when_the_run_had_a_mapping():
    run = RunSummary(run_id="r1", started=0.0, accuracy=5 / 8, example_count=8, top_k=5)
    assert "## Per category" not in evaluation_markdown(run, MATRIX, NAMES)
    run.categories = {"Walk": "land", "Run": "land", "Swim": "water"}
    page = evaluation_markdown(run, MATRIX, NAMES)
    assert "| land | 8 | 0.625 |" in page and "top-5 accuracy" in page
    assert "| c0 Walk | 3 | 1 | 0 |" in page

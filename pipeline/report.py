"""A pipeline run's evaluation as Markdown, readable without code (`harflow runs show`).

Everything is derived from what TFMA wrote (pipeline.run.read_metrics and
read_confusion_matrix): per-class recall and precision and per-category
accuracy come from TFMA's multi-class confusion matrix.
"""

from __future__ import annotations

import time

import numpy as np

from harflow.components.model_comparison.metrics import wilson_interval
from harflow.pipeline.run import RunSummary


def per_class(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """confusion counts [actual, predicted] -> (recall, precision, support) per class; NaN where undefined."""
    matrix = matrix.astype(np.float64)
    right = np.diag(matrix)
    support, predicted = matrix.sum(axis=1), matrix.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return right / support, right / predicted, support.astype(np.int64)


def category_accuracy(matrix: np.ndarray, class_names: list[str], categories: dict[str, str]) -> dict[str, tuple[float, int]]:
    """Accuracy over the clips of each category (class -> category mapping): {category: (accuracy, clips)}."""
    result = {}
    for category in sorted(set(categories.values())):
        rows = [i for i, name in enumerate(class_names) if categories.get(name) == category]
        clips = int(matrix[rows].sum())
        if clips:
            result[category] = (float(sum(matrix[i, i] for i in rows)) / clips, clips)
    return result


def _number(value: float | None, digits: int = 3) -> str:
    return "-" if value is None or np.isnan(value) else f"{value:.{digits}f}"


def run_line(run: RunSummary) -> list[str]:
    """One row of `harflow runs`."""
    pushed = f"v{run.pushed_version}" if run.pushed_version is not None else "-"
    blessed = {True: "yes", False: "NO", None: "-"}[run.blessed]
    return [
        run.run_id,
        time.strftime("%Y-%m-%d %H:%M", time.localtime(run.started)),
        ",".join(run.variants) or "-",
        _number(run.accuracy),
        _number(run.top_k_accuracy),
        blessed,
        pushed,
    ]


RUNS_HEADER = ["run", "started", "variants", "accuracy", "top-k", "blessed", "pushed"]


def text_table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    return "\n".join("  ".join(str(cell).ljust(w) for cell, w in zip(row, widths)).rstrip() for row in [header, *rows])


def markdown_table(header: list[str], rows: list[list[object]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(str(c) for c in row) + " |" for row in rows])


def with_interval(value: float | None, n: int | None) -> str:
    """An accuracy with its 95% Wilson interval over n clips: "0.6100 (0.48-0.73)"; "-" when unknown."""
    if value is None or np.isnan(value):
        return "-"
    if not n:
        return f"{value:.4f}"
    low, high = wilson_interval(value, n)
    return f"{value:.4f} ({low:.2f}-{high:.2f})"


def provenance_lines(run: RunSummary) -> list[str]:
    """The split the run used and the leakage audit's figure, as Markdown list items."""
    twins = "not audited" if run.eval_twin_fraction is None else f"{100 * run.eval_twin_fraction:.1f}% of eval videos have a near-duplicate in train"
    return [f"- split source: {run.split_source or 'not recorded'}", f"- leakage audit: {twins}"]


def evaluation_markdown(run: RunSummary, matrix: np.ndarray | None, class_names: list[str], top_k: int | None = None) -> str:
    """The whole evaluation of one run as a Markdown page."""
    lines = [
        f"# Pipeline run {run.run_id}",
        "",
        f"- started: {time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(run.started))}",
        f"- variants: {', '.join(run.variants) or '-'}"
        + (f" (reused from TFX's cache: {', '.join(run.cached)})" if run.cached else ""),
        f"- candidate model: {run.model_uri or '-'}",
        f"- blessed: {run.blessed}",
        f"- pushed: {'version %d (%s)' % (run.pushed_version, run.pushed_to) if run.pushed_version is not None else 'no'}",
        f"- TFMA output: {run.evaluation_uri or '-'}",
        *provenance_lines(run),
        "",
        "## Metrics (eval split)",
        "",
        markdown_table(
            ["metric", "value"],
            [
                ["clips", run.example_count if run.example_count is not None else "-"],
                ["accuracy (95% Wilson interval over the clips)", with_interval(run.accuracy, run.example_count)],
                [f"top-{top_k or run.top_k or 'k'} accuracy", _number(run.top_k_accuracy, 4)],
            ],
        ),
    ]
    if matrix is None or not class_names:
        lines += ["", "(no confusion matrix: the evaluation or the model's class names are missing)"]
        return "\n".join(lines) + "\n"
    recall, precision, support = per_class(matrix)
    lines += [
        "",
        "## Per class",
        "",
        markdown_table(
            ["class", "clips", "recall", "precision"],
            [[name, support[i], _number(recall[i]), _number(precision[i])] for i, name in enumerate(class_names)],
        ),
    ]
    by_category = category_accuracy(matrix, class_names, run.categories)
    if by_category:
        lines += [
            "",
            "## Per category",
            "",
            markdown_table(["category", "clips", "accuracy"], [[c, n, _number(a)] for c, (a, n) in by_category.items()]),
        ]
    short = [f"c{i}" for i in range(len(class_names))]
    lines += [
        "",
        "## Confusion matrix",
        "",
        "Rows: the true class; columns: the predicted class (" + ", ".join(f"{s} = {n}" for s, n in zip(short, class_names)) + ").",
        "",
        markdown_table(["true \\ predicted", *short], [[f"{s} {name}", *matrix[i].tolist()] for i, (s, name) in enumerate(zip(short, class_names))]),
    ]
    return "\n".join(lines) + "\n"


def evaluation_page(run: RunSummary) -> str:
    """evaluation_markdown of `run`, with its confusion matrix and class names read from its artifacts."""
    from harflow.artifacts import model_class_names
    from harflow.pipeline.run import read_confusion_matrix

    names = model_class_names(run.model_uri)
    matrix = read_confusion_matrix(run.evaluation_uri, len(names)) if run.evaluation_uri and names else None
    return evaluation_markdown(run, matrix, names)

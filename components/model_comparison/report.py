"""The comparison's files: a Markdown and a CSV table, training curves and confusion matrices as PNG.

    comparison.md        the table, per-category and direction-pair tables, the best variant
    comparison.csv       one row per variant (the Markdown table's columns, video-level accuracy included)
    comparison.json      everything, for programs
    curves.png           train / val accuracy and loss per epoch, every variant
    confusion_<variant>.png
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np

COLUMNS = (
    ("variant", "variant"),
    ("best epoch", "best_epoch"),
    ("accuracy", "accuracy"),
    ("loss", "loss"),
    ("val accuracy", "val_accuracy"),
    ("val loss", "val_loss"),
    ("top-5", "top5"),
    ("video accuracy", "video_accuracy"),
    ("video top-5", "video_top5"),
    ("training s", "train_seconds"),
    ("parameters", "parameters"),
    ("inference ms/clip", "inference_ms"),
)
MARKDOWN = "comparison.md"
CSV = "comparison.csv"
JSON = "comparison.json"


def file_stem(variant: str) -> str:
    return variant.replace("+", "_")


def _cell(key: str, value, interval=None) -> str:
    if value is None:
        return "-"
    if interval is not None:
        return f"{value:.3f} ({interval[0]:.2f}-{interval[1]:.2f})"
    if key in ("accuracy", "val_accuracy", "top5", "video_accuracy", "video_top5"):
        return f"{value:.3f}"
    if key in ("loss", "val_loss"):
        return f"{value:.3f}"
    if key == "train_seconds":
        return f"{value:.0f}"
    if key == "parameters":
        return f"{value:,}"
    if key == "inference_ms":
        return f"{value:.1f}"
    return str(value)


def protocol(row: dict) -> str:
    """How the test split was scored, in words: one clip per video, or several averaged per video."""
    clips, videos = row.get("clips", 0), row.get("videos")
    low, high = row.get("clips_per_video") or [1, 1]
    if videos is None or high <= 1:
        return f"{clips} clips, one clip per video (video-level accuracy = single-clip accuracy)"
    per_video = f"{low}" if low == high else f"{low}-{high}"
    return (
        f"{videos} videos, {per_video} clips per video ({clips} clips), each clip from its own segment of the video; "
        "accuracy, loss and top-5 score every clip on its own (single-clip), video accuracy and video top-5 "
        "rank the mean of a video's clip probabilities"
    )


def training_clips(rows: list[dict]) -> str:
    """How the variants were trained, in words: one clip over each whole video, or one clip per segment."""
    segments = sorted({row.get("train_segments") or 1 for row in rows})
    if segments == [1]:
        return "Train and val: one clip over each whole video."
    return f"Train and val: each video cut into {'/'.join(map(str, segments))} equal segments, one clip each."


def measured_on(facts: dict) -> str:
    """The split source and the leakage audit's figure, in words."""
    twins = facts.get("eval_fraction_with_train_twin")
    audit = "not audited" if twins is None else f"{100 * twins:.1f}% of eval videos have a near-duplicate in train"
    return f"Split source: {facts.get('split_source') or 'not recorded'}. Leakage audit: {audit}."


def provenance(facts: dict) -> str:
    """What was measured on what: the split source, the leakage audit's figure, the val videos behind the pick."""
    return (
        f"{measured_on(facts)} Val: {facts.get('val_videos') or '?'} videos. Accuracies are shown with their 95% "
        "Wilson interval over the videos scored (test videos; val videos for val accuracy)."
    )


def markdown(rows: list[dict], best: str, class_count: int, clip_count: int, facts: dict | None = None) -> str:
    """The comparison as Markdown: provenance, the main table with 95% intervals, then per category and per direction pair."""
    facts = facts or {}
    scored = protocol(rows[0]) if rows else f"{clip_count} clips"
    lines = [
        f"# Model comparison: {len(rows)} variant(s)",
        "",
        f"Test (eval split): {scored}; {class_count} classes. {training_clips(rows)} "
        "Per category and direction pairs: single clips. "
        "Best epoch, val accuracy and val loss: the epoch with the lowest val loss, whose weights were kept. "
        f"Best variant: **{best}**, the pipeline's candidate ({facts.get('pick_reason') or 'highest val accuracy, then lowest val loss'}).",
        "",
        provenance(facts),
        "",
        "| " + " | ".join(title for title, _ in COLUMNS) + " |",
        "|" + "---|" * len(COLUMNS),
    ]
    lines += ["| " + " | ".join(_cell(key, row.get(key), row.get(f"{key}_ci")) for _, key in COLUMNS) + " |" for row in rows]
    for title, key in (("Accuracy per category", "per_category"), ("Direction pairs (accuracy between the two; chance 0.5)", "direction_pairs")):
        names = sorted({name for row in rows for name in row.get(key, {})})
        if not names:
            continue
        lines += ["", f"## {title}", "", "| variant | " + " | ".join(names) + " |", "|" + "---|" * (len(names) + 1)]
        for row in rows:
            values = row.get(key, {})
            lines.append(f"| {row['variant']} | " + " | ".join(f"{values[n]:.3f}" if n in values else "-" for n in names) + " |")
    lines += ["", "Training curves: `curves.png`; confusion matrices: `confusion_<variant>.png`.", ""]
    return "\n".join(lines)


def write_csv(rows: list[dict], path: Path) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([key for _, key in COLUMNS])
        for row in rows:
            writer.writerow([row.get(key) for _, key in COLUMNS])


def plot_curves(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    figure, (accuracy_axes, loss_axes) = plt.subplots(1, 2, figsize=(11, 4))
    for index, row in enumerate(rows):
        history, epochs = row.get("history", {}), row.get("epochs") or []
        colour = f"C{index % 10}"
        for axes, metric in ((accuracy_axes, "accuracy"), (loss_axes, "loss")):
            if metric in history:
                axes.plot(epochs[: len(history[metric])], history[metric], "--", color=colour, label=f"{row['variant']} train")
            if f"val_{metric}" in history:
                axes.plot(epochs[: len(history[f"val_{metric}"])], history[f"val_{metric}"], "-", color=colour, label=f"{row['variant']} val")
    for axes, title in ((accuracy_axes, "accuracy"), (loss_axes, "loss")):
        axes.set_xlabel("epoch")
        axes.set_title(title)
        axes.grid(alpha=0.3)
    accuracy_axes.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=90)
    plt.close(figure)


def plot_confusion(confusion: list[list[int]], class_names: list[str], title: str, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    matrix = np.asarray(confusion)
    size = max(4.0, 0.35 * len(class_names) + 2)
    figure, axes = plt.subplots(figsize=(size, size))
    axes.imshow(matrix, cmap="Blues")
    ticks = range(len(class_names))
    small = len(class_names) <= 20
    axes.set_xticks(ticks, class_names if small else [], rotation=90, fontsize=7)
    axes.set_yticks(ticks, class_names if small else [], fontsize=7)
    if small:
        for (row, column), value in np.ndenumerate(matrix):
            if value:
                axes.text(column, row, str(value), ha="center", va="center", fontsize=7,
                          color="white" if value > matrix.max() / 2 else "black")
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")
    axes.set_title(title, fontsize=9)
    figure.tight_layout()
    figure.savefig(path, dpi=90)
    plt.close(figure)


def write_comparison(out_dir: str, rows: list[dict], best: str, class_names: list[str], facts: dict | None = None) -> Path:
    """Write every file of the comparison into out_dir; returns the Markdown file.

    facts: split_source, eval_fraction_with_train_twin, val_videos, pick_reason (provenance and the pick's rule).
    """
    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    clip_count = rows[0]["clips"] if rows else 0
    (folder / MARKDOWN).write_text(markdown(rows, best, len(class_names), clip_count, facts))
    write_csv(rows, folder / CSV)
    (folder / JSON).write_text(json.dumps({"best": best, "class_names": class_names, "variants": rows, **(facts or {})}, indent=1))
    plot_curves(rows, folder / "curves.png")
    for row in rows:
        plot_confusion(row["confusion"], class_names, f"{row['variant']}: accuracy {row['accuracy']:.3f}", folder / f"confusion_{file_stem(row['variant'])}.png")
    return folder / MARKDOWN


def mean_over_runs(folders: list[str]) -> str:
    """Several runs' comparisons (e.g. one per official split) -> Markdown: mean accuracy, top-5, video accuracy and video top-5 per variant."""
    runs = [json.loads((Path(folder) / JSON).read_text()) for folder in folders]
    variants = [row["variant"] for row in runs[0]["variants"]]
    lines = [
        f"# Mean over {len(runs)} runs",
        "",
        "| variant | runs | mean accuracy | mean top-5 | mean video accuracy | mean video top-5 | accuracy per run |",
        "|---|---|---|---|---|---|---|",
    ]

    def mean(rows: list[dict], key: str) -> str:  # "-" when a run predates the column
        values = [row.get(key) for row in rows]
        return "-" if any(value is None for value in values) else f"{np.mean(values):.3f}"

    for variant in variants:
        rows = [row for run in runs for row in run["variants"] if row["variant"] == variant]
        accuracies = [row["accuracy"] for row in rows]
        lines.append(
            f"| {variant} | {len(rows)} | {mean(rows, 'accuracy')} | {mean(rows, 'top5')} | "
            f"{mean(rows, 'video_accuracy')} | {mean(rows, 'video_top5')} | "
            + ", ".join(f"{a:.3f}" for a in accuracies)
            + " |"
        )
    lines += ["", "Runs:", *[f"- {folder}: {measured_on(run)}" for folder, run in zip(folders, runs)]]
    missing = [folder for folder, run in zip(folders, runs) if [r["variant"] for r in run["variants"]] != variants]
    if missing:
        lines += ["", f"Not every run trained the same variants: {', '.join(missing)}"]
    return "\n".join(lines) + "\n"

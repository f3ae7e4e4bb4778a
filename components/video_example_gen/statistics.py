"""What VideoExampleGen wrote, summed up: clips per class and split, frames per clip, rejects.

The Beam job writes one small JSON line per clip (`clips.jsonl`: split, class,
source frames, padded, partial) and one per reject; `summarize` turns them
into statistics, `to_markdown` into `statistics.md` beside the splits (read
it, or print it with `harflow data stats`), and `missing_classes` is the
check that fails a run whose split lacks a class. This replaces TFX's
StatisticsGen/SchemaGen/ExampleValidator for these checks: those would read
every JPEG frame again to count a few integers (docs/ingestion.md).

It also says where the split came from (`split_source`: "UCF101 official
split 1 (lists: ...)", "folder: group hash split, seed 0 ...") and, from each
clip's perceptual signature, how many eval videos have a near-duplicate in
train (the leakage audit, harflow/leakage.py).
"""

from __future__ import annotations

import statistics as stats_lib
from collections import Counter

from harflow import leakage
from harflow.datasets.records import SPLITS

STATISTICS_MD = "statistics.md"
STATISTICS_JSON = "statistics.json"
CLIPS_FILE = "clips.jsonl"


def summarize(
    clips: list[dict], rejects: list[dict], class_names: list[str], split_source: str = "", leak_threshold: float | None = None
) -> dict:
    """clips: [{split, label_name, source_frames, padded, partial, signature}], rejects: [{clip_id, split, reason}].

    leak_threshold: audit the clips' signatures for near duplicates across splits (None: no audit).
    """
    summary = {"class_names": list(class_names), "split_source": split_source, "splits": {}}
    if leak_threshold is not None:
        summary["leakage"] = leakage.audit(clips, leak_threshold)
    for split in SPLITS:
        mine = [clip for clip in clips if clip["split"] == split]
        per_class = Counter(clip["label_name"] for clip in mine)
        frames = sorted(clip["source_frames"] for clip in mine)
        summary["splits"][split] = {
            "written": len(mine),
            "rejected": sum(1 for reject in rejects if reject["split"] == split),
            "per_class": {name: per_class.get(name, 0) for name in class_names},
            "padded": sum(clip["padded"] for clip in mine),
            "partial": sum(clip["partial"] for clip in mine),
            "source_frames": {
                "min": frames[0] if frames else 0,
                "median": stats_lib.median(frames) if frames else 0,
                "max": frames[-1] if frames else 0,
            },
        }
    return summary


def missing_classes(summary: dict) -> dict[str, list[str]]:
    """{split: classes with no clip} for every split that has clips but lacks a class."""
    missing = {}
    for split, part in summary["splits"].items():
        absent = [name for name, count in part["per_class"].items() if count == 0]
        if part["written"] and absent:
            missing[split] = absent
    return missing


def to_markdown(summary: dict) -> str:
    splits = list(summary["splits"])
    parts = summary["splits"]
    lines = ["# VideoExampleGen statistics", ""]
    if summary.get("split_source"):
        lines += [f"Split source: {summary['split_source']}.", ""]
    lines += ["| | " + " | ".join(splits) + " |", "|---|" + "---|" * len(splits)]
    for label, key in (("clips written", "written"), ("clips rejected", "rejected"), ("padded (repeated frames)", "padded"), ("partial (truncated)", "partial")):
        lines.append(f"| {label} | " + " | ".join(str(parts[s][key]) for s in splits) + " |")
    for key in ("min", "median", "max"):
        lines.append(f"| source frames per clip, {key} | " + " | ".join(f"{parts[s]['source_frames'][key]:g}" for s in splits) + " |")
    lines += ["", "## Clips per class", "", "| class | " + " | ".join(splits) + " |", "|---|" + "---|" * len(splits)]
    for name in summary["class_names"]:
        cells = [str(parts[s]["per_class"][name]) if parts[s]["per_class"][name] else "**0**" for s in splits]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    missing = missing_classes(summary)
    lines.append("")
    if missing:
        lines += [f"Missing: split `{split}` has no clips of {', '.join(names)}." for split, names in missing.items()]
    else:
        lines.append("Every split with clips has every class.")
    if "leakage" in summary:
        lines += ["", leakage.to_markdown(summary["leakage"]).rstrip()]
    return "\n".join(lines) + "\n"

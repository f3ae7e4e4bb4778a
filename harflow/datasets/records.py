"""What every dataset reader returns: a DatasetIndex of ClipRecords, split into train, val and eval.

A reader turns a dataset folder into a `DatasetIndex`: the class names and,
for every clip, its path, label, group and split. Nothing is decoded here.
The layout modules (ucf101, hmdb51, folder) import this module; it imports none of them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

TRAIN, VAL, EVAL = "train", "val", "eval"
SPLITS = (TRAIN, VAL, EVAL)
_UCF_GROUP = re.compile(r"_(g\d+)_", re.IGNORECASE)


class DatasetError(ValueError):
    """The dataset folder is not what its reader expects; the message names the file and the fix."""


@dataclass(frozen=True)
class ClipRecord:
    path: str  # absolute path of the video file
    clip_id: str  # path relative to the dataset root, with "/" separators
    label: int  # 0-based
    label_name: str
    group: str
    split: str


@dataclass(frozen=True)
class DatasetIndex:
    class_names: tuple[str, ...]
    clips: tuple[ClipRecord, ...]
    # where the split came from, in words: "UCF101 official split 1 (lists: DIR)", "folder: group hash split, seed 0"
    source: str = ""

    def count(self, split: str) -> int:
        return sum(1 for clip in self.clips if clip.split == split)


def ucf_group(file_name: str) -> str | None:
    """UCF101's group (`g08`) from a clip's file name `v_<Class>_g08_c01.avi`; None when it names none."""
    match = _UCF_GROUP.search(file_name)
    return match.group(1).lower() if match else None


def group_of(clip_id: str) -> str:
    """UCF101's group (`g08`) from a clip name; the clip itself when it names none."""
    return ucf_group(Path(clip_id).name) or clip_id


def validation_groups(groups: set[str], val_fraction: float) -> set[str]:
    """Every k-th group (sorted), k = round(1 / val_fraction): deterministic and spread out."""
    if val_fraction <= 0 or len(groups) < 2:
        return set()
    step = max(2, round(1 / val_fraction))
    return set(sorted(groups)[::step])


def record(root: Path, clip_id: str, label: int, class_names: tuple[str, ...], group: str, split: str) -> ClipRecord:
    """The ClipRecord of `root/clip_id` (clip_id with "/" separators)."""
    return ClipRecord(
        path=str(root / clip_id), clip_id=clip_id, label=label, label_name=class_names[label], group=group, split=split
    )


def listed_clip(root: Path, clip_id: str, list_file: Path, number: int) -> str:
    """`clip_id` from line `number` of a split list, refused (DatasetError) when it leads outside `root`:
    absolute, with `..`, or through a folder that resolves outside. A clip file that is itself a symbolic
    link (a dataset view, as tests/test_gate.py builds) is the user's choice; archives bring none (download.py)."""
    parts = clip_id.split("/")
    outside = clip_id.startswith("/") or ".." in parts or ":" in parts[0]
    if not outside:
        folder, home = (root / clip_id).parent.resolve(), root.resolve()
        outside = folder != home and home not in folder.parents
    if outside:
        raise DatasetError(f"{list_file}:{number}: clip {clip_id!r} is outside the dataset folder {root}; a split list names <class>/<clip> inside it")
    return clip_id


def existing_root(root: str | Path) -> Path:
    """`root` as a Path; DatasetError when it is not a folder."""
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"{root}: dataset folder not found")
    return root

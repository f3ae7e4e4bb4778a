"""Folder-per-class reader: any labelled clips, split so that no group lands on both sides.

Layout:

    ROOT/<class>/<clip>.<any of harflow.video.VIDEO_SUFFIXES>
    ROOT/<class>/<group>/<clip>.ext            (optional: a sub-folder is the clip's group)

A clip's group is the set of clips that must stay together (cuts of one long
video, one actor, one session), taken from (`groups`):

- "auto" (default): the sub-folder under the class folder if there is one,
  else UCF101's `_gNN_` in the file name;
- "subfolder" or "name": only that source;
- a CSV file `clip,group` (clip relative to ROOT; a header line is allowed).

Whole groups, chosen by a seeded hash of their names, go to `eval`
(`test_fraction` of them) and to `val` (`val_fraction` of the rest). A clip
without a group is an error unless the user asks for a seeded random split
(`random_split`), which splits each class's clips on their own, accepting
that related clips may then land on both sides.

A folder's classes are the user's own, so this layout declares no categories
and no direction pairs (give them with `--categories` / CompareConfig).
"""

from __future__ import annotations

import csv
import hashlib
import random
from pathlib import Path

from harflow.datasets.records import EVAL, TRAIN, VAL, ClipRecord, DatasetError, DatasetIndex, existing_root, record, ucf_group, validation_groups
from harflow.video import VIDEO_SUFFIXES
GROUP_SOURCES = ("auto", "subfolder", "name")


def videos_under(folder: Path) -> list[Path]:
    return sorted(
        path
        for path in folder.rglob("*")
        if path.suffix.lower() in VIDEO_SUFFIXES
        and path.is_file()
        and not any(part.startswith(".") for part in path.relative_to(folder).parts)  # hidden files and folders
    )


def class_folders(root: Path) -> list[Path]:
    """Sub-folders of `root` (not hidden) that hold at least one video file, sorted by name."""
    return [
        folder
        for folder in sorted(root.iterdir(), key=lambda p: p.name)
        if folder.is_dir() and not folder.name.startswith(".") and videos_under(folder)
    ]


def read_groups_csv(path: Path) -> dict[str, str]:
    """`clip,group` rows -> {clip id: group}; a first row `clip,group` is taken as a header."""
    if not path.is_file():
        raise DatasetError(f"{path}: group CSV not found (expected rows 'clip,group', clip relative to the dataset root)")
    groups = {}
    with path.open(newline="", encoding="utf-8-sig") as handle:
        for number, row in enumerate(csv.reader(handle), 1):
            if not row or (number == 1 and [c.strip().lower() for c in row] == ["clip", "group"]):
                continue
            if len(row) != 2 or not row[0].strip() or not row[1].strip():
                raise DatasetError(f"{path}:{number}: expected 'clip,group', got {','.join(row)!r}")
            groups[row[0].strip().replace("\\", "/")] = row[1].strip()
    return groups


def group_from_path(clip_id: str, source: str) -> str | None:
    """A clip's group from its path `class/[sub/]name.ext` by `source` (auto, subfolder, name); None if none."""
    parts = clip_id.split("/")
    if source in ("auto", "subfolder") and len(parts) > 2:
        return parts[1]
    if source in ("auto", "name"):
        return ucf_group(parts[-1])
    return None


def _shuffled(items, seed: int) -> list:
    """`items` sorted by a seeded hash: a reproducible order that does not follow the names."""
    return sorted(items, key=lambda item: hashlib.sha256(f"{seed}:{item}".encode()).hexdigest())


def split_groups(groups: set[str], test_fraction: float, val_fraction: float, seed: int) -> dict[str, str]:
    """{group: split}: test_fraction of the groups -> eval, val_fraction of the rest -> val, the others train."""
    if len(groups) < 2:
        raise DatasetError(f"only {len(groups)} group(s): a group-aware split needs at least 2 (or ask for --random-split)")
    order = _shuffled(groups, seed)
    n_eval = min(len(order) - 1, max(1, round(test_fraction * len(order))))
    rest = order[n_eval:]
    held_out = validation_groups(set(rest), val_fraction)
    split = {group: EVAL for group in order[:n_eval]}
    split.update({group: VAL if group in held_out else TRAIN for group in rest})
    return split


def read_folder(
    root: str | Path,
    val_fraction: float = 0.15,
    groups: str = "auto",
    random_split: bool = False,
    test_fraction: float = 0.2,
    seed: int = 0,
) -> DatasetIndex:
    """Index a folder-per-class dataset; see the module docstring for groups and splits."""
    root = existing_root(root)
    folders = class_folders(root)
    if not folders:
        raise DatasetError(f"{root}: no class folders holding {'/'.join(s[1:] for s in VIDEO_SUFFIXES)} files")
    class_names = tuple(folder.name for folder in folders)
    clips = [
        (path.relative_to(root).as_posix(), label)
        for label, folder in enumerate(folders)
        for path in videos_under(folder)
    ]

    if random_split:
        records = _random_split(root, clips, class_names, test_fraction, val_fraction, seed)
        source = f"folder: random split, seed {seed} (clips of one group may land on both sides)"
        return DatasetIndex(class_names, tuple(records), source=source)

    from_csv = read_groups_csv(Path(groups)) if groups not in GROUP_SOURCES else None
    group_of = {}
    for clip_id, _ in clips:
        group = from_csv.get(clip_id) if from_csv is not None else group_from_path(clip_id, groups)
        if group is None:
            where = f"is not in {groups}" if from_csv is not None else f"has no group (by {groups})"
            raise DatasetError(
                f"{root / clip_id}: {where}; put clips in group sub-folders, name them with _gNN_, "
                "give --groups CSV (clip,group), or ask for --random-split"
            )
        group_of[clip_id] = group
    split_of = split_groups(set(group_of.values()), test_fraction, val_fraction, seed)
    records = [record(root, clip_id, label, class_names, group_of[clip_id], split_of[group_of[clip_id]]) for clip_id, label in clips]
    return DatasetIndex(class_names, tuple(records), source=f"folder: group hash split, seed {seed} (groups: {groups})")


def _random_split(root, clips, class_names, test_fraction, val_fraction, seed) -> list[ClipRecord]:
    """Each class's clips shuffled with `seed`: the first test_fraction -> eval, the next val_fraction -> val."""
    records = []
    for label in range(len(class_names)):
        members = [clip_id for clip_id, clip_label in clips if clip_label == label]
        random.Random(f"{seed}:{class_names[label]}").shuffle(members)
        n_eval = round(test_fraction * len(members))
        n_val = round(val_fraction * (len(members) - n_eval))
        for position, clip_id in enumerate(members):
            split = EVAL if position < n_eval else VAL if position < n_eval + n_val else TRAIN
            records.append(record(root, clip_id, label, class_names, clip_id, split))
    return records

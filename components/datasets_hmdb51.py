"""HMDB51 reader: the official `testTrainMulti_7030_splits` files decide each clip's split.

Layout (what `harflow data download hmdb51` leaves):

    ROOT/<class>/<clip>.avi                                  e.g. brush_hair/April_09_brush_hair_u_nm_np1_ba_goo_0.avi
    ROOT/testTrainMulti_7030_splits/<class>_test_split<N>.txt (or these files in ROOT itself)

Each split file line is `<clip>.avi <0|1|2>` (with a trailing space, as shipped):
1 train, 2 test (-> `eval`), 0 unused (left out). Labels are the class names
in sorted order (the order of HMDB51's class_list.txt). Clips cut from one
source video share a group (the name without its trailing `_<n>`); the `val`
split holds out whole groups of the train clips, as for UCF101.
"""

from __future__ import annotations

import re
from pathlib import Path

from harflow.components.datasets import EVAL, TRAIN, VAL, ClipRecord, DatasetError, DatasetIndex, validation_groups

SPLIT_DIR = "testTrainMulti_7030_splits"
_SPLIT_FILE = re.compile(r"^(?P<cls>.+)_test_split(?P<split>[123])\.txt$")
_CLIP_NUMBER = re.compile(r"_\d+$")
_ROLES = {"1": TRAIN, "2": EVAL, "0": None}


def split_folder(root: Path) -> Path | None:
    """The folder holding `<class>_test_split<N>.txt` files: ROOT/testTrainMulti_7030_splits or ROOT; None if neither."""
    for folder in (root / SPLIT_DIR, root):
        if folder.is_dir() and any(folder.glob("*_test_split[123].txt")):
            return folder
    return None


def source_video(clip_name: str) -> str:
    """The group of an HMDB51 clip: its source video, i.e. the name without extension and trailing `_<n>`."""
    return _CLIP_NUMBER.sub("", Path(clip_name).stem)


def read_hmdb51(root: str | Path, split: int = 1, val_fraction: float = 0.15) -> DatasetIndex:
    """Index an HMDB51-layout dataset for official split 1, 2 or 3."""
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"{root}: dataset folder not found")
    folder = split_folder(root)
    if folder is None:
        raise DatasetError(f"{root}: no <class>_test_split<N>.txt files here or in {SPLIT_DIR}/ (an HMDB51 dataset needs them)")
    split_files = {}
    for path in folder.glob(f"*_test_split{split}.txt"):
        split_files[_SPLIT_FILE.match(path.name).group("cls")] = path
    if not split_files:
        raise DatasetError(f"{folder}: no *_test_split{split}.txt files for split {split}")
    class_names = tuple(sorted(split_files))

    entries = []  # (clip_id, label, role)
    for label, name in enumerate(class_names):
        path = split_files[name]
        text = path.read_text(encoding="utf-8-sig")
        for number, line in enumerate(text.splitlines(), 1):
            parts = line.split()
            if not parts:
                continue
            if len(parts) != 2 or parts[1] not in _ROLES:
                raise DatasetError(f"{path}:{number}: expected '<clip>.avi <0|1|2>', got {line.strip()!r}")
            role = _ROLES[parts[1]]
            if role is not None:
                entries.append((f"{name}/{parts[0]}", label, role))

    held_out = validation_groups({source_video(c) for c, _, role in entries if role == TRAIN}, val_fraction)
    clips = []
    for clip_id, label, role in entries:
        group = source_video(clip_id)
        split_name = VAL if role == TRAIN and group in held_out else role
        clips.append(
            ClipRecord(
                path=str(root / clip_id),
                clip_id=clip_id,
                label=label,
                label_name=class_names[label],
                group=group,
                split=split_name,
            )
        )
    return DatasetIndex(class_names=class_names, clips=tuple(clips))

"""HMDB51 reader: the official `testTrainMulti_7030_splits` files decide each clip's split.

Layout (what `harflow data download hmdb51` leaves):

    ROOT/<class>/<clip>.avi                                  e.g. brush_hair/April_09_brush_hair_u_nm_np1_ba_goo_0.avi
    ROOT/testTrainMulti_7030_splits/<class>_test_split<N>.txt (or these files in ROOT itself)

or the official archives unpacked side by side (`--data` naming the class
folders' parent, e.g. `hmdb51/`, or the folder holding both; or the split
files named by `--splits DIR`):

    hmdb51/<class>/<clip>.avi                     (hmdb51_org.rar, its per-class RARs unpacked)
    testTrainMulti_7030_splits/<class>_test_split<N>.txt   (test_train_splits.rar)

Each split file line is `<clip>.avi <0|1|2>` (with a trailing space, as shipped):
1 train, 2 test (-> `eval`), 0 unused (left out). Labels are the class names
in sorted order (the order of HMDB51's class_list.txt). Clips cut from one
source video share a group (the name without its trailing `_<n>`); the `val`
split holds out whole groups of the train clips, as for UCF101.
"""

from __future__ import annotations

import re
from pathlib import Path

from harflow.datasets.records import EVAL, TRAIN, VAL, DatasetError, DatasetIndex, existing_root, listed_clip, record, validation_groups

SPLIT_DIR = "testTrainMulti_7030_splits"
_SPLIT_FILE = re.compile(r"^(?P<cls>.+)_test_split(?P<split>[123])\.txt$")
_CLIP_NUMBER = re.compile(r"_\d+$")
_ROLES = {"1": TRAIN, "2": EVAL, "0": None}
SPLIT_ARCHIVE = "test_train_splits.rar"
VIDEO_DIRS = ("hmdb51", "hmdb51_org")  # names the class folders' parent may have beside the split folder
# <source video>_<body part f|h|u|l>_<camera motion cm|nm>_<people np1..3>_<view fr|ba|le|ri>_<quality>_<n>
CLIP_NAME = re.compile(r"_[fhul]_(cm|nm)_np\d_(fr|ba|le|ri)_(bad|med|goo)_\d+$")

# HMDB51's five action types (Kuehne et al., "HMDB: a large video database for human motion recognition", 2011)
CATEGORY_CLASSES: dict[str, tuple[str, ...]] = {
    "general facial actions": ("chew", "laugh", "smile", "talk"),
    "facial actions with object manipulation": ("drink", "eat", "smoke"),
    "general body movements": (
        "cartwheel", "clap", "climb", "climb_stairs", "dive", "fall_floor", "flic_flac", "handstand", "jump",
        "pullup", "pushup", "run", "sit", "situp", "somersault", "stand", "turn", "walk", "wave",
    ),
    "body movements with object interaction": (
        "brush_hair", "catch", "draw_sword", "dribble", "golf", "hit", "kick_ball", "pick", "pour", "push",
        "ride_bike", "ride_horse", "shoot_ball", "shoot_bow", "shoot_gun", "swing_baseball", "sword_exercise", "throw",
    ),
    "body movements for human interaction": ("fencing", "hug", "kick", "kiss", "punch", "shake_hands", "sword"),
}
DIRECTION_PAIRS: tuple[str, ...] = ("sit/stand",)  # sitting down is standing up played backwards


def categories(class_names: list[str] | tuple[str, ...]) -> dict[str, str]:
    """class -> HMDB51 action type when every class is one of HMDB51's 51; else {}."""
    known = {name: category for category, names in CATEGORY_CLASSES.items() for name in names}
    return {name: known[name] for name in class_names} if class_names and all(n in known for n in class_names) else {}


def missing_splits_message(root: Path) -> str:
    """The one-line error for HMDB51 clips without their split files: the archive to unpack and how."""
    return (
        f"{root}: HMDB51 clips but no <class>_test_split<N>.txt files here, in {SPLIT_DIR}/ or beside it: unpack "
        f"{SPLIT_ARCHIVE} next to the class folders, give --splits DIR, or run "
        f"`harflow data download hmdb51 DIR --archive {SPLIT_ARCHIVE}`; --dataset folder splits them by group instead"
    )


def video_folder(root: Path) -> Path:
    """Where the class folders are: ROOT/hmdb51 (or hmdb51_org) when the folder holding both is given, else ROOT."""
    return next((root / name for name in VIDEO_DIRS if (root / name).is_dir()), root)


def split_folder(root: Path, beside: bool = True) -> Path | None:
    """The folder of `<class>_test_split<N>.txt` files: ROOT/testTrainMulti_7030_splits, ROOT or (beside) a sibling; else None."""
    for folder in (root / SPLIT_DIR, root, *([root.parent / SPLIT_DIR] if beside else [])):
        if folder.is_dir() and any(folder.glob("*_test_split[123].txt")):
            return folder
    return None


def source_video(clip_name: str) -> str:
    """The group of an HMDB51 clip: its source video, i.e. the name without extension and trailing `_<n>`."""
    return _CLIP_NUMBER.sub("", Path(clip_name).stem)


def read_hmdb51(root: str | Path, split: int = 1, val_fraction: float = 0.15, lists: str | Path = "") -> DatasetIndex:
    """Index an HMDB51-layout dataset for official split 1, 2 or 3; `lists`: the split files' folder, if not found by itself."""
    given = existing_root(root)
    folder = split_folder(Path(lists), beside=False) if lists else split_folder(given)
    if folder is None:
        raise DatasetError(missing_splits_message(Path(lists) if lists else given))
    root = video_folder(given)
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
                entries.append((listed_clip(root, f"{name}/{parts[0]}", path, number), label, role))

    held_out = validation_groups({source_video(c) for c, _, role in entries if role == TRAIN}, val_fraction)
    clips = []
    for clip_id, label, role in entries:
        group = source_video(clip_id)
        split_name = VAL if role == TRAIN and group in held_out else role
        clips.append(record(root, clip_id, label, class_names, group, split_name))
    return DatasetIndex(class_names=class_names, clips=tuple(clips), source=f"HMDB51 official split {split} (lists: {folder})")

"""Dataset readers: which clip goes to which split with which label.

A reader turns a dataset folder into a `DatasetIndex`: the class names and,
for every clip, its path, label, group and split. Nothing is decoded here.
Three layouts, chosen by name or detected (`detect_layout`): `ucf101` (this
module), `hmdb51` (components/datasets_hmdb51.py) and `folder`, a folder per
class (components/datasets_folder.py).

UCF101 layout (the embedded synthetic dataset uses it too):

    ROOT/classInd.txt              "1 ApplyEyeMakeup" ...  (1-based)
    ROOT/trainlist01.txt           "ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi 1"
    ROOT/testlist01.txt            "ApplyEyeMakeup/v_ApplyEyeMakeup_g01_c01.avi"
    ROOT/<Class>/v_<Class>_gNN_cNN.avi

The official train list is divided into `train` and `val` by whole groups
(clips of one group are cuts of one long video, so splitting a group would
leak); the official test list is the `eval` split.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

TRAIN, VAL, EVAL = "train", "val", "eval"
SPLITS = (TRAIN, VAL, EVAL)
_GROUP = re.compile(r"_(g\d+)_", re.IGNORECASE)


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

    def count(self, split: str) -> int:
        return sum(1 for clip in self.clips if clip.split == split)


def group_of(clip_id: str) -> str:
    """UCF101's group (`g08`) from a clip name; the clip itself when it names none."""
    match = _GROUP.search(Path(clip_id).name)
    return match.group(1).lower() if match else clip_id


def validation_groups(groups: set[str], val_fraction: float) -> set[str]:
    """Every k-th group (sorted), k = round(1 / val_fraction): deterministic and spread out."""
    if val_fraction <= 0 or len(groups) < 2:
        return set()
    step = max(2, round(1 / val_fraction))
    return set(sorted(groups)[::step])


def _lines(path: Path, what: str = "split file") -> list[str]:
    if not path.is_file():
        raise DatasetError(f"{path}: {what} not found (a UCF101-layout dataset needs classInd.txt and its split lists)")
    return [line.strip() for line in path.read_text(encoding="utf-8-sig").splitlines() if line.strip()]


def read_class_index(path: Path) -> tuple[str, ...]:
    """classInd.txt -> class names in label order."""
    entries = []
    for number, line in enumerate(_lines(path, "class index"), 1):
        parts = line.split()
        if len(parts) != 2 or not parts[0].isdigit():
            raise DatasetError(f"{path}:{number}: expected '<index> <ClassName>', got {line!r}")
        entries.append((int(parts[0]), parts[1]))
    indices = sorted(index for index, _ in entries)
    if indices != list(range(1, len(entries) + 1)):
        raise DatasetError(f"{path}: class indices must be 1..{len(entries)} without gaps")
    return tuple(name for _, name in sorted(entries))


def read_ucf101(root: str | Path, split: int = 1, val_fraction: float = 0.15) -> DatasetIndex:
    """Index a UCF101-layout dataset for official split 1, 2 or 3."""
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"{root}: dataset folder not found")
    class_names = read_class_index(root / "classInd.txt")
    label_of = {name.lower(): index for index, name in enumerate(class_names)}

    def label_for(clip_id: str, list_file: Path, number: int) -> int:
        class_dir = clip_id.split("/")[0].lower()
        if class_dir not in label_of:
            raise DatasetError(f"{list_file}:{number}: class folder {class_dir!r} is not in classInd.txt")
        return label_of[class_dir]

    train_entries = []
    train_list = root / f"trainlist0{split}.txt"
    for number, line in enumerate(_lines(train_list), 1):
        parts = line.split()
        clip_id = parts[0].replace("\\", "/")
        label = label_for(clip_id, train_list, number)
        if len(parts) > 1 and int(parts[1]) - 1 != label:
            raise DatasetError(
                f"{train_list}:{number}: label {parts[1]} disagrees with classInd.txt for {clip_id}"
            )
        train_entries.append((clip_id, label))
    held_out = validation_groups({group_of(c) for c, _ in train_entries}, val_fraction)

    clips = [
        _record(root, clip_id, label, class_names, VAL if group_of(clip_id) in held_out else TRAIN)
        for clip_id, label in train_entries
    ]
    test_list = root / f"testlist0{split}.txt"
    for number, line in enumerate(_lines(test_list), 1):
        clip_id = line.split()[0].replace("\\", "/")
        clips.append(_record(root, clip_id, label_for(clip_id, test_list, number), class_names, EVAL))
    return DatasetIndex(class_names=class_names, clips=tuple(clips))


def _record(
    root: Path, clip_id: str, label: int, class_names: tuple[str, ...], split: str, group: str | None = None
) -> ClipRecord:
    return ClipRecord(
        path=str(root / clip_id),
        clip_id=clip_id,
        label=label,
        label_name=class_names[label],
        group=group_of(clip_id) if group is None else group,
        split=split,
    )


LAYOUTS = ("ucf101", "hmdb51", "folder")  # what `--dataset` accepts, besides "auto"


def detect_layout(root: str | Path) -> str:
    """Which layout a dataset folder has, from the files it holds; DatasetError when none or ambiguous.

    ucf101: classInd.txt; hmdb51: <class>_test_split<N>.txt files (in the root or
    in testTrainMulti_7030_splits/); folder: neither, but class folders of videos.
    """
    from harflow.components import datasets_folder, datasets_hmdb51

    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"{root}: dataset folder not found")
    found = []
    if (root / "classInd.txt").is_file():
        found.append("ucf101")
    if datasets_hmdb51.split_folder(root) is not None:
        found.append("hmdb51")
    if len(found) > 1:
        raise DatasetError(f"{root}: looks like both {' and '.join(found)}; choose one with --dataset")
    if found:
        return found[0]
    if datasets_folder.class_folders(root):
        return "folder"
    raise DatasetError(
        f"{root}: no dataset layout found: {root / 'classInd.txt'} not found (UCF101), no *_test_splitN.txt "
        "here or in testTrainMulti_7030_splits/ (HMDB51), no class folders of videos (folder); see docs/ingestion.md"
    )


def read_dataset(kind: str, root: str | Path, split: int = 1, val_fraction: float = 0.15, **options) -> DatasetIndex:
    """Index `root` with the reader of layout `kind` ("auto": detect it).

    options go to the folder reader (groups, random_split, test_fraction, seed).
    """
    from harflow.components import datasets_folder, datasets_hmdb51

    if kind == "auto":
        kind = detect_layout(root)
    if kind == "ucf101":
        return read_ucf101(root, split=split, val_fraction=val_fraction)
    if kind == "hmdb51":
        return datasets_hmdb51.read_hmdb51(root, split=split, val_fraction=val_fraction)
    if kind == "folder":
        return datasets_folder.read_folder(root, val_fraction=val_fraction, **options)
    raise DatasetError(f"unknown dataset layout {kind!r}; choose one of auto, {', '.join(LAYOUTS)}")


def read_configured(ingest) -> DatasetIndex:
    """The index a harflow.config.IngestConfig describes (its dataset root, layout, split and options)."""
    return read_dataset(
        ingest.dataset,
        ingest.dataset_root,
        split=ingest.split,
        val_fraction=ingest.val_fraction,
        groups=ingest.groups,
        random_split=ingest.random_split,
        test_fraction=ingest.test_fraction,
        seed=ingest.split_seed,
    )


def require_dataset(ingest) -> DatasetIndex:
    """read_configured, and refuse (DatasetError, one line) a dataset a run cannot use: a missing folder,
    an empty train or eval split, or (unless ingest.require_all_classes is off) a split without some class."""
    root = ingest.dataset_root
    if not Path(root).is_dir():
        raise DatasetError(f"{root}: no such dataset folder (make one with `harflow synth {root}`)")
    index = read_configured(ingest)
    missing = [split for split in (TRAIN, EVAL) if index.count(split) == 0]
    if missing:
        raise DatasetError(f"{root}: the split lists of split {ingest.split} name no {' and no '.join(missing)} clips")
    for split in SPLITS:
        present = {clip.label for clip in index.clips if clip.split == split}
        absent = [name for label, name in enumerate(index.class_names) if present and label not in present]
        if absent and ingest.require_all_classes:
            raise DatasetError(
                f"{root}: split {split} has no clips of {', '.join(absent[:5])}{', ...' if len(absent) > 5 else ''} "
                "(add clips, change the split, or pass --allow-missing-classes)"
            )
    return index

"""UCF101 reader: classInd.txt and the official train/test lists decide each clip's label and split.

Layout (the embedded synthetic dataset, harflow.datasets.synth, uses it too):

    ROOT/classInd.txt              "1 ApplyEyeMakeup" ...  (1-based)
    ROOT/trainlist01.txt           "ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi 1"
    ROOT/testlist01.txt            "ApplyEyeMakeup/v_ApplyEyeMakeup_g01_c01.avi"
    ROOT/<Class>/v_<Class>_gNN_cNN.avi

or the two official archives unpacked side by side, `--data` naming either
`UCF-101/` or the folder holding both (or the lists named by `--splits DIR`):

    UCF-101/<Class>/v_<Class>_gNN_cNN.avi        (UCF101.rar)
    ucfTrainTestlist/classInd.txt, trainlist0N.txt, testlist0N.txt
                                                 (UCF101TrainTestSplits-RecognitionTask.zip)

The official train list is divided into `train` and `val` by whole groups
(clips of one group are cuts of one long video, so splitting a group would
leak); the official test list is the `eval` split.
"""

from __future__ import annotations

import re
from pathlib import Path

from harflow.datasets.records import EVAL, TRAIN, VAL, DatasetError, DatasetIndex, existing_root, group_of, listed_clip, record, validation_groups

# UCF101's five action types (Soomro et al., "UCF101", 2012): 20, 16, 5, 10 and 50 classes.
CATEGORY_CLASSES: dict[str, tuple[str, ...]] = {
    "human-object interaction": (
        "ApplyEyeMakeup", "ApplyLipstick", "BlowDryHair", "BrushingTeeth", "CuttingInKitchen", "Hammering",
        "HulaHoop", "JugglingBalls", "JumpRope", "Knitting", "Mixing", "MoppingFloor", "Nunchucks",
        "PizzaTossing", "ShavingBeard", "SkateBoarding", "SoccerJuggling", "Typing", "WritingOnBoard", "YoYo",
    ),
    "body motion": (
        "BabyCrawling", "BlowingCandles", "BodyWeightSquats", "HandstandPushups", "HandstandWalking",
        "JumpingJack", "Lunges", "PullUps", "PushUps", "RockClimbingIndoor", "RopeClimbing", "Swing", "TaiChi",
        "TrampolineJumping", "WalkingWithDog", "WallPushups",
    ),
    "human-human interaction": ("BandMarching", "Haircut", "HeadMassage", "MilitaryParade", "SalsaSpin"),
    "playing instruments": (
        "Drumming", "PlayingCello", "PlayingDaf", "PlayingDhol", "PlayingFlute", "PlayingGuitar", "PlayingPiano",
        "PlayingSitar", "PlayingTabla", "PlayingViolin",
    ),
}
OTHER_CATEGORY = "sports"  # the other 50 classes
DIRECTION_PAIRS: tuple[str, ...] = ()  # no two UCF101 classes differ only by direction
LIST_DIR = "ucfTrainTestlist"  # what the split archive unpacks to
VIDEO_DIR = "UCF-101"  # what the video archive unpacks to
SPLIT_ARCHIVE = "UCF101TrainTestSplits-RecognitionTask.zip"
CLIP_NAME = re.compile(r"^v_[A-Za-z]+_g\d+_c\d+$")  # v_<Class>_gNN_cNN, the file name without its suffix
SYNTH_MARKER = "harflow-synth.json"  # harflow.datasets.synth's mark on a folder it wrote


def list_folder(root: Path, beside: bool = True) -> Path | None:
    """The folder holding classInd.txt: ROOT, ROOT/ucfTrainTestlist or (beside) a sibling ucfTrainTestlist/; None if none."""
    for folder in (root, root / LIST_DIR, *([root.parent / LIST_DIR] if beside else [])):
        if (folder / "classInd.txt").is_file():
            return folder
    return None


def video_folder(root: Path) -> Path:
    """Where the class folders are: ROOT/UCF-101 when the folder holding both archives is given, else ROOT."""
    return root / VIDEO_DIR if (root / VIDEO_DIR).is_dir() else root


def missing_lists_message(root: Path) -> str:
    """The one-line error for UCF101 clips without their split lists: the archive to unpack and how."""
    return (
        f"{root}: UCF101 clips (v_<Class>_gNN_cNN) but no split lists (classInd.txt, trainlist0N.txt, testlist0N.txt) "
        f"here, in {LIST_DIR}/ or beside it: unpack {SPLIT_ARCHIVE} next to {VIDEO_DIR}/, give --splits DIR, or run "
        f"`harflow data download ucf101 DIR --archive {SPLIT_ARCHIVE}`; --dataset folder splits them by group instead"
    )


def categories(class_names: list[str] | tuple[str, ...]) -> dict[str, str]:
    """class -> UCF101 action type when `class_names` are UCF101's 101 classes; else {}."""
    known = {name: category for category, names in CATEGORY_CLASSES.items() for name in names}
    if len(class_names) == 101 and sum(name in known for name in class_names) == len(known):
        return {name: known.get(name, OTHER_CATEGORY) for name in class_names}
    return {}


def _lines(path: Path, what: str = "split file") -> list[str]:
    if not path.is_file():
        raise DatasetError(f"{path}: {what} not found (a UCF101-layout dataset needs classInd.txt and its split lists)")
    return [line.strip() for line in path.read_text(encoding="utf-8-sig").splitlines() if line.strip()]


def clip_id_of(line: str) -> str:
    """The clip a split-list line names: "ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi 1" -> "ApplyEyeMakeup/v_..._c01.avi"."""
    return line.split()[0].replace("\\", "/")


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


def read_ucf101(root: str | Path, split: int = 1, val_fraction: float = 0.15, lists: str | Path = "") -> DatasetIndex:
    """Index a UCF101-layout dataset for official split 1, 2 or 3; `lists`: the split lists' folder, if not found by itself."""
    given = existing_root(root)
    lists_dir = list_folder(Path(lists), beside=False) if lists else list_folder(given)
    if lists_dir is None:
        raise DatasetError(missing_lists_message(Path(lists) if lists else given))
    root = video_folder(given)
    class_names = read_class_index(lists_dir / "classInd.txt")
    label_of = {name.lower(): index for index, name in enumerate(class_names)}

    def label_for(clip_id: str, list_file: Path, number: int) -> int:
        class_dir = clip_id.split("/")[0].lower()
        if class_dir not in label_of:
            raise DatasetError(f"{list_file}:{number}: class folder {class_dir!r} is not in classInd.txt")
        return label_of[class_dir]

    train_entries = []
    train_list = lists_dir / f"trainlist0{split}.txt"
    for number, line in enumerate(_lines(train_list), 1):
        parts = line.split()
        clip_id = listed_clip(root, clip_id_of(line), train_list, number)
        label = label_for(clip_id, train_list, number)
        if len(parts) > 1 and int(parts[1]) - 1 != label:
            raise DatasetError(f"{train_list}:{number}: label {parts[1]} disagrees with classInd.txt for {clip_id}")
        train_entries.append((clip_id, label))
    held_out = validation_groups({group_of(c) for c, _ in train_entries}, val_fraction)

    clips = [
        record(root, clip_id, label, class_names, group_of(clip_id), VAL if group_of(clip_id) in held_out else TRAIN)
        for clip_id, label in train_entries
    ]
    test_list = lists_dir / f"testlist0{split}.txt"
    for number, line in enumerate(_lines(test_list), 1):
        clip_id = listed_clip(root, clip_id_of(line), test_list, number)
        clips.append(record(root, clip_id, label_for(clip_id, test_list, number), class_names, group_of(clip_id), EVAL))
    kind = "synthetic dataset (UCF101 layout)" if (given / SYNTH_MARKER).is_file() else "UCF101 official"
    return DatasetIndex(class_names=class_names, clips=tuple(clips), source=f"{kind} split {split} (lists: {lists_dir})")

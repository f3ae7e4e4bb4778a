"""Which layout a dataset folder has, and the one entry point that reads any of them.

Three layouts, chosen by name or detected (`detect_layout`): `ucf101`
(harflow.datasets.ucf101; the synthetic dataset uses it), `hmdb51`
(harflow.datasets.hmdb51) and `folder`, a folder per class
(harflow.datasets.folder). This module imports the layouts; they import only
harflow.datasets.records, so there is no cycle.

Categories and direction pairs (ModelComparison's per-category and
per-direction-pair accuracy) belong to the layout whose classes they name:
`categories_for` and `direction_pairs_for` ask each layout in turn.
"""

from __future__ import annotations

import json
from pathlib import Path

from harflow.datasets import folder, hmdb51, synth, ucf101
from harflow.datasets.records import EVAL, SPLITS, TRAIN, DatasetError, DatasetIndex, existing_root

LAYOUTS = ("ucf101", "hmdb51", "folder")  # what `--dataset` accepts, besides "auto"
_CLASS_OWNERS = (ucf101, hmdb51, synth)  # the datasets whose class names are known in advance


def detect_layout(root: str | Path, lists: str | Path = "") -> str:
    """Which layout a dataset folder has, from the files it holds; DatasetError when none or ambiguous.

    ucf101: classInd.txt (in ROOT, ROOT/ucfTrainTestlist/ or a sibling
    ucfTrainTestlist/); hmdb51: <class>_test_split<N>.txt files (in ROOT,
    testTrainMulti_7030_splits/ inside or beside it); `lists` (--splits) is
    searched instead when given. folder: neither, but class folders of videos
    not named as UCF101's or HMDB51's clips are (those need their split lists,
    or --dataset folder).
    """
    root = existing_root(root)
    where = existing_root(lists) if lists else root
    found = []
    if ucf101.list_folder(where, beside=not lists) is not None:
        found.append("ucf101")
    if hmdb51.split_folder(where, beside=not lists) is not None:
        found.append("hmdb51")
    if len(found) > 1:
        raise DatasetError(f"{root}: looks like both {' and '.join(found)}; choose one with --dataset")
    if found:
        return found[0]
    if lists:
        raise DatasetError(f"{where}: --splits names neither UCF101's lists (classInd.txt) nor HMDB51's *_test_splitN.txt files")
    if folder.class_folders(root):
        refuse_official_clips(root)
        return "folder"
    raise DatasetError(
        f"{root}: no dataset layout found: {root / 'classInd.txt'} not found (UCF101), no *_test_splitN.txt "
        "here or in testTrainMulti_7030_splits/ (HMDB51), no class folders of videos (folder); see docs/ingestion.md"
    )


def official_clip_names(root: Path) -> str | None:
    """"ucf101" or "hmdb51" when a video under `root` is named as that benchmark names its clips; else None."""
    for path in folder.videos_under(root):
        if ucf101.CLIP_NAME.match(path.stem):
            return "ucf101"
        if hmdb51.CLIP_NAME.search(path.stem):
            return "hmdb51"
    return None


def refuse_official_clips(root: Path) -> None:
    """DatasetError naming the split archive when `root`'s clips are UCF101's or HMDB51's: they have an official split."""
    named = official_clip_names(root)
    if named == "ucf101":
        raise DatasetError(ucf101.missing_lists_message(root))
    if named == "hmdb51":
        raise DatasetError(hmdb51.missing_splits_message(root))


def read_dataset(
    kind: str, root: str | Path, split: int = 1, val_fraction: float = 0.15, lists: str | Path = "", **options
) -> DatasetIndex:
    """Index `root` with the reader of layout `kind` ("auto": detect it); `lists`: the split lists' folder (--splits).

    options go to the folder reader (groups, random_split, test_fraction, seed),
    which only splits UCF101- or HMDB51-named clips when `kind` is "folder".
    """
    if kind == "auto":
        kind = detect_layout(root, lists)
    if kind == "ucf101":
        return ucf101.read_ucf101(root, split=split, val_fraction=val_fraction, lists=lists)
    if kind == "hmdb51":
        return hmdb51.read_hmdb51(root, split=split, val_fraction=val_fraction, lists=lists)
    if kind == "folder":
        return folder.read_folder(root, val_fraction=val_fraction, **options)
    raise DatasetError(f"unknown dataset layout {kind!r}; choose one of auto, {', '.join(LAYOUTS)}")


def read_configured(ingest) -> DatasetIndex:
    """The index a harflow.config.IngestConfig describes (its dataset root, layout, split and options)."""
    return read_dataset(
        ingest.dataset,
        ingest.dataset_root,
        split=ingest.split,
        val_fraction=ingest.val_fraction,
        lists=ingest.splits_dir,
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


def categories_for(class_names: list[str] | tuple[str, ...], category_map: str = "") -> dict[str, str]:
    """class -> category: the user's JSON map, else the categories of the dataset whose classes these are, else {}."""
    if category_map:
        path = Path(category_map)
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no such category map (a JSON object: class name -> category)")
        mapping = json.loads(path.read_text())
        return {name: mapping[name] for name in class_names if name in mapping}
    for owner in _CLASS_OWNERS:
        found = owner.categories(class_names)
        if found:
            return found
    return {}


def direction_pairs_for(class_names: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """The "A/B" class pairs that differ only by direction, as declared by the datasets these classes come from."""
    present = set(class_names)
    return tuple(
        pair for owner in _CLASS_OWNERS for pair in owner.DIRECTION_PAIRS if set(pair.split("/")) <= present
    )

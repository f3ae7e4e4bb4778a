"""The UCF101-layout reader: labels, splits and the group-wise validation hold-out."""

from pathlib import Path

import pytest

from harflow.components.datasets import EVAL, TRAIN, VAL, DatasetError, group_of, read_ucf101, validation_groups

SHARED_UCF101 = Path(__file__).resolve().parents[2] / "shared" / "data" / "splits" / "ucf101"


def write_ucf_layout(root: Path, classes: list[str], train: list[str], test: list[str]) -> None:
    root.mkdir(parents=True, exist_ok=True)
    (root / "classInd.txt").write_text("".join(f"{i} {c}\r\n" for i, c in enumerate(classes, 1)))
    label = {c: i for i, c in enumerate(classes, 1)}
    (root / "trainlist01.txt").write_text("".join(f"{p} {label[p.split('/')[0]]}\r\n" for p in train))
    (root / "testlist01.txt").write_text("".join(f"{p}\r\n" for p in test))


def clip(cls: str, group: int, number: int) -> str:
    return f"{cls}/v_{cls}_g{group:02d}_c{number:02d}.avi"


def test_group_is_read_from_ucf_names():
    assert group_of("Archery/v_Archery_g08_c03.avi") == "g08"
    assert group_of("x/clip.avi") == "x/clip.avi"


def test_labels_follow_class_index_and_test_list_is_eval(tmp_path):
    classes = ["Walk", "Run"]
    train = [clip(c, g, 1) for c in classes for g in range(8, 12)]
    test = [clip(c, 1, 1) for c in classes]
    write_ucf_layout(tmp_path, classes, train, test)

    index = read_ucf101(tmp_path, split=1, val_fraction=0.25)

    assert index.class_names == ("Walk", "Run")
    by_id = {c.clip_id: c for c in index.clips}
    assert by_id[clip("Run", 1, 1)].label == 1 and by_id[clip("Run", 1, 1)].split == EVAL
    assert by_id[clip("Walk", 9, 1)].label_name == "Walk"
    assert index.count(EVAL) == 2 and index.count(TRAIN) + index.count(VAL) == len(train)


def test_validation_takes_whole_groups(tmp_path):
    classes = ["Walk", "Run"]
    train = [clip(c, g, n) for c in classes for g in range(8, 26) for n in (1, 2)]
    write_ucf_layout(tmp_path, classes, train, [clip("Walk", 1, 1)])

    index = read_ucf101(tmp_path, val_fraction=0.15)

    train_groups = {c.group for c in index.clips if c.split == TRAIN}
    val_groups = {c.group for c in index.clips if c.split == VAL}
    assert val_groups and not (train_groups & val_groups)
    assert val_groups == validation_groups(train_groups | val_groups, 0.15)


def test_label_that_disagrees_with_class_index_is_an_error_naming_the_line(tmp_path):
    write_ucf_layout(tmp_path, ["Walk", "Run"], [clip("Walk", 8, 1)], [])
    (tmp_path / "trainlist01.txt").write_text(f"{clip('Walk', 8, 1)} 2\r\n")
    with pytest.raises(DatasetError, match=r"trainlist01.txt:1"):
        read_ucf101(tmp_path)


def test_missing_split_file_names_the_file(tmp_path):
    write_ucf_layout(tmp_path, ["Walk"], [clip("Walk", 8, 1)], [])
    (tmp_path / "testlist01.txt").unlink()
    with pytest.raises(DatasetError, match="testlist01.txt: split file not found"):
        read_ucf101(tmp_path, split=1)


@pytest.mark.skipif(not SHARED_UCF101.is_dir(), reason="the official split files are in ../shared")
@pytest.mark.parametrize("split, train_clips, test_clips", [(1, 9537, 3783), (2, 9586, 3734), (3, 9624, 3696)])
def test_official_ucf101_split_files(tmp_path, split, train_clips, test_clips):
    for name in ["classInd.txt", f"trainlist0{split}.txt", f"testlist0{split}.txt"]:
        (tmp_path / name).write_bytes((SHARED_UCF101 / name).read_bytes())

    index = read_ucf101(tmp_path, split=split)

    assert len(index.class_names) == 101
    assert index.count(TRAIN) + index.count(VAL) == train_clips
    assert index.count(EVAL) == test_clips
    eval_groups = {c.group for c in index.clips if c.split == EVAL}
    train_groups = {c.group for c in index.clips if c.split != EVAL}
    assert not (eval_groups & train_groups)  # the official splits never share a group
    assert all(c.label_name.lower() == c.clip_id.split("/")[0].lower() for c in index.clips)


def test_require_dataset_returns_the_index_or_refuses_a_split_without_some_class(tmp_path):
    from harflow.components.datasets import require_dataset
    from harflow.config import IngestConfig

    train = [clip("Walk", g, 1) for g in range(8, 12)] + [clip("Run", g, 1) for g in range(8, 12)]
    write_ucf_layout(tmp_path / "both", ["Walk", "Run"], train, [clip("Walk", 1, 1), clip("Run", 1, 1)])
    index = require_dataset(IngestConfig(dataset_root=str(tmp_path / "both")))
    assert index.class_names == ("Walk", "Run") and index.count(EVAL) == 2
    write_ucf_layout(tmp_path / "walk", ["Walk", "Run"], train, [clip("Walk", 1, 1)])
    with pytest.raises(DatasetError, match=r"split eval has no clips of Run \(add clips, change the split, or pass --allow-missing-classes\)"):
        require_dataset(IngestConfig(dataset_root=str(tmp_path / "walk")))
    assert require_dataset(IngestConfig(dataset_root=str(tmp_path / "walk"), require_all_classes=False)).count(EVAL) == 1
    with pytest.raises(DatasetError, match="no such dataset folder"):
        require_dataset(IngestConfig(dataset_root=str(tmp_path / "none")))

"""The UCF101-layout reader: labels, splits and the group-wise validation hold-out."""

from pathlib import Path

import pytest

from harflow.datasets.records import EVAL, TRAIN, VAL, DatasetError, group_of, validation_groups
from harflow.datasets.ucf101 import read_ucf101

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
    from harflow.datasets.detect import require_dataset
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


# --------------------------------------------------------------------------- the package: no cycle, categories per layout

DATASETS = Path(__file__).resolve().parents[1] / "harflow" / "datasets"


def harflow_imports(path: Path) -> set[str]:
    """The harflow modules a file imports (at any depth of the file)."""
    import ast

    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("harflow"):
            found |= {node.module} | {f"{node.module}.{a.name}" for a in node.names}
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("harflow")}
    return found


def test_layouts_import_records_and_only_detect_imports_the_layouts():
    layouts = {"ucf101", "hmdb51", "folder", "synth"}
    for name in ("records", *sorted(layouts)):
        imported = {m.rsplit(".", 1)[-1] for m in harflow_imports(DATASETS / f"{name}.py") if m.startswith("harflow.datasets.")}
        assert not imported & layouts, f"harflow/datasets/{name}.py imports a layout: {imported & layouts}"
    assert {f"harflow.datasets.{n}" for n in layouts} <= harflow_imports(DATASETS / "detect.py")


def test_download_and_what_it_imports_need_only_the_standard_library():
    """`harflow data download` runs on the host's Python, before harflow's environment (and OpenCV) exists."""
    import subprocess
    import sys

    code = "import sys; import harflow.datasets.download; bad = {'cv2', 'numpy', 'tensorflow'} & set(sys.modules); print(sorted(bad))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_each_dataset_names_its_own_categories_and_direction_pairs():
    from harflow.datasets import hmdb51, synth
    from harflow.datasets.detect import categories_for, direction_pairs_for

    assert categories_for(synth.CLASSES)["RotateAnticlockwise"] == "rotation"
    assert direction_pairs_for(synth.CLASSES) == synth.DIRECTION_PAIRS
    hmdb = sorted(name for names in hmdb51.CATEGORY_CLASSES.values() for name in names)
    assert len(hmdb) == len(set(hmdb)) == 51
    assert categories_for(hmdb)["kiss"] == "body movements for human interaction"
    assert direction_pairs_for(hmdb) == ("sit/stand",)
    assert categories_for(["Wave", "Clap"]) == {} and direction_pairs_for(["Wave", "Clap"]) == ()
    assert direction_pairs_for(["MoveLeft", "MoveRight", "Other"]) == ("MoveLeft/MoveRight",)  # only pairs present


@pytest.mark.skipif(not (SHARED_UCF101.parent / "hmdb51").is_dir(), reason="../shared HMDB51 split files not present")
def test_hmdb51_categories_cover_the_official_class_list():
    from harflow.datasets.detect import categories_for
    from harflow.datasets.hmdb51 import CATEGORY_CLASSES

    names = sorted(path.name.split("_test_split")[0] for path in (SHARED_UCF101.parent / "hmdb51").glob("*_test_split1.txt"))
    assert len(names) == 51 and len(categories_for(names)) == 51
    assert set(categories_for(names).values()) == set(CATEGORY_CLASSES)

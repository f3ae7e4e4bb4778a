"""UCF101 and HMDB51 as a new user unpacks them: the official archives side by side, or the lists named by --splits.

Every clip's side (train+val or eval) and label is checked against the official lists in
../shared/data/splits (filtered to a few classes; the clips are zero-byte files named as the
lists say, since only the index is checked here). Without the lists, clips named as these
benchmarks name them are refused with a one-line error naming the split archive.
"""

from pathlib import Path

import pytest

from harflow.datasets.detect import detect_layout, read_dataset
from harflow.datasets.hmdb51 import SPLIT_ARCHIVE as HMDB_ARCHIVE, SPLIT_DIR
from harflow.datasets.records import EVAL, DatasetError
from harflow.datasets.ucf101 import LIST_DIR, SPLIT_ARCHIVE as UCF_ARCHIVE, VIDEO_DIR

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "splits"
pytestmark = pytest.mark.skipif(not SHARED.is_dir(), reason="the official split files are in ../shared")
UCF_CLASSES = ("ApplyEyeMakeup", "Archery", "YoYo")
HMDB_CLASSES = ("brush_hair", "cartwheel", "climb")


def touch(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch()


def official_ucf101(videos: Path, lists: Path) -> dict[str, tuple[str, str]]:
    """The official lists of 3 classes, all splits, in `lists`; their clips under `videos`.

    Returns {"<split>:<clip>": (side, class)} with side "train" or "test", from the official files.
    """
    lists.mkdir(parents=True, exist_ok=True)
    (lists / "classInd.txt").write_bytes((SHARED / "ucf101" / "classInd.txt").read_bytes())
    expected = {}
    for split in (1, 2, 3):
        for side in ("train", "test"):
            lines = (SHARED / "ucf101" / f"{side}list0{split}.txt").read_bytes().split(b"\r\n")
            kept = [line for line in lines if line and line.split(b"/")[0].decode() in UCF_CLASSES]
            (lists / f"{side}list0{split}.txt").write_bytes(b"\r\n".join(kept) + b"\r\n")
            for line in kept:
                clip = line.split()[0].decode()
                expected[f"{split}:{clip}"] = (side, clip.split("/")[0])
                touch(videos / clip)
    return expected


def official_hmdb51(videos: Path, lists: Path) -> dict[str, tuple[str, str]]:
    """The official split files of 3 classes (first 15 lines each, all splits) in `lists`; their clips under `videos`."""
    lists.mkdir(parents=True, exist_ok=True)
    expected = {}
    for name in HMDB_CLASSES:
        for split in (1, 2, 3):
            lines = (SHARED / "hmdb51" / f"{name}_test_split{split}.txt").read_bytes().splitlines(keepends=True)
            picked = [line for role in (b"1", b"2", b"0") for line in lines if line.split()[1] == role][:15]
            (lists / f"{name}_test_split{split}.txt").write_bytes(b"".join(picked))
            for line in picked:
                clip, role = line.decode().split()
                side = {"1": "train", "2": "test", "0": "unused"}[role]
                expected[f"{split}:{name}/{clip}"] = (side, name)
                touch(videos / name / clip)
    return expected


def assert_official(data: Path, expected: dict, dataset: str, splits: str = "") -> None:
    """Every clip of every split on its official side with its official class, and nothing else."""
    for split in (1, 2, 3):
        index = read_dataset("auto", data, split=split, lists=splits)
        assert index.source.startswith(f"{dataset} official split {split}"), index.source
        mine = {key.split(":", 1)[1]: value for key, value in expected.items() if key.startswith(f"{split}:") and value[0] != "unused"}
        assert {clip.clip_id for clip in index.clips} == set(mine)
        for clip in index.clips:
            side, name = mine[clip.clip_id]
            assert (clip.split == EVAL) == (side == "test"), clip.clip_id
            assert clip.label_name == name == index.class_names[clip.label]
            assert Path(clip.path).is_file(), clip.path


# --------------------------------------------------------------------------- UCF101


def test_ucf101_unpacked_side_by_side_read_from_the_video_folder(tmp_path):
    expected = official_ucf101(tmp_path / VIDEO_DIR, tmp_path / LIST_DIR)
    assert detect_layout(tmp_path / VIDEO_DIR) == "ucf101"
    assert_official(tmp_path / VIDEO_DIR, expected, "UCF101")


def test_ucf101_unpacked_side_by_side_read_from_the_folder_holding_both(tmp_path):
    expected = official_ucf101(tmp_path / VIDEO_DIR, tmp_path / LIST_DIR)
    assert_official(tmp_path, expected, "UCF101")


def test_ucf101_lists_named_by_splits(tmp_path):
    expected = official_ucf101(tmp_path / "videos" / VIDEO_DIR, tmp_path / "elsewhere" / "lists")
    assert_official(tmp_path / "videos" / VIDEO_DIR, expected, "UCF101", splits=str(tmp_path / "elsewhere" / "lists"))


@pytest.mark.parametrize("where", ["video folder", "holding folder"])
def test_ucf101_clips_without_their_lists_are_refused_naming_the_archive(tmp_path, where):
    official_ucf101(tmp_path / VIDEO_DIR, tmp_path / "not-beside")
    data = tmp_path / VIDEO_DIR if where == "video folder" else tmp_path
    with pytest.raises(DatasetError) as error:
        read_dataset("auto", data)
    message = str(error.value)
    assert "\n" not in message and UCF_ARCHIVE in message and f"harflow data download ucf101 DIR --archive {UCF_ARCHIVE}" in message
    with pytest.raises(DatasetError, match=UCF_ARCHIVE):
        read_dataset("ucf101", data)


def test_ucf101_named_clips_are_split_by_group_only_when_folder_is_asked_for(tmp_path):
    official_ucf101(tmp_path / VIDEO_DIR, tmp_path / "not-beside")
    index = read_dataset("folder", tmp_path / VIDEO_DIR, seed=3)
    assert index.source.startswith("folder: group hash split, seed 3")
    sides = {}
    for clip in index.clips:
        sides.setdefault((clip.label_name, clip.group), set()).add(clip.split)
    assert all(len(split) == 1 for split in sides.values())


# --------------------------------------------------------------------------- HMDB51


def test_hmdb51_unpacked_side_by_side_read_from_the_class_folders_parent(tmp_path):
    expected = official_hmdb51(tmp_path / "hmdb51", tmp_path / SPLIT_DIR)
    assert detect_layout(tmp_path / "hmdb51") == "hmdb51"
    assert_official(tmp_path / "hmdb51", expected, "HMDB51")


def test_hmdb51_unpacked_side_by_side_read_from_the_folder_holding_both(tmp_path):
    expected = official_hmdb51(tmp_path / "hmdb51", tmp_path / SPLIT_DIR)
    assert_official(tmp_path, expected, "HMDB51")


def test_hmdb51_split_files_named_by_splits(tmp_path):
    expected = official_hmdb51(tmp_path / "videos", tmp_path / "elsewhere" / "split files")
    assert_official(tmp_path / "videos", expected, "HMDB51", splits=str(tmp_path / "elsewhere" / "split files"))


def test_hmdb51_clips_without_their_split_files_are_refused_naming_the_archive(tmp_path):
    official_hmdb51(tmp_path / "hmdb51", tmp_path / "not-beside")
    with pytest.raises(DatasetError) as error:
        read_dataset("auto", tmp_path / "hmdb51")
    message = str(error.value)
    assert "\n" not in message and HMDB_ARCHIVE in message and f"harflow data download hmdb51 DIR --archive {HMDB_ARCHIVE}" in message


def test_splits_naming_no_split_lists_is_an_error_naming_the_folder(tmp_path):
    official_hmdb51(tmp_path / "hmdb51", tmp_path / SPLIT_DIR)
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match=f"{tmp_path / 'empty'}: --splits names neither"):
        read_dataset("auto", tmp_path / "hmdb51", lists=str(tmp_path / "empty"))

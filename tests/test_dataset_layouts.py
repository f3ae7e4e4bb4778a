"""The HMDB51 and folder-per-class readers, layout detection, and every official split of both benchmarks.

The official split files (../shared/data/splits) are copied as they ship (CRLF, trailing
spaces); the clips they name are zero-byte placeholders, since only the index is checked here.
"""

from pathlib import Path

import pytest

from harflow.datasets.detect import detect_layout, read_dataset
from harflow.datasets.records import EVAL, TRAIN, VAL, DatasetError
from harflow.datasets.ucf101 import read_ucf101
from harflow.datasets.folder import read_folder, read_groups_csv
from harflow.datasets.hmdb51 import SPLIT_DIR, read_hmdb51, source_video

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "splits"
needs_shared = pytest.mark.skipif(not SHARED.is_dir(), reason="the official split files are in ../shared")
HMDB_CLASSES = ["brush_hair", "cartwheel", "climb", "climb_stairs"]  # climb/climb_stairs: a prefix pair
UCF_CLASSES = ["ApplyEyeMakeup", "Archery", "YoYo"]


def touch(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch()


# --------------------------------------------------------------------------- UCF101, all three splits


def tiny_ucf101(root: Path, split: int) -> tuple[dict, dict]:
    """classInd.txt plus the official lines of three classes; returns ({clip: label}, {clip: 'train'|'test'})."""
    (root / "classInd.txt").write_bytes((SHARED / "ucf101" / "classInd.txt").read_bytes())
    labels, roles = {}, {}
    for kind in ("train", "test"):
        lines = (SHARED / "ucf101" / f"{kind}list0{split}.txt").read_bytes().split(b"\r\n")
        kept = [line for line in lines if line.split(b"/")[0].decode() in UCF_CLASSES]
        (root / f"{kind}list0{split}.txt").write_bytes(b"\r\n".join(kept) + b"\r\n")
        for line in kept:
            clip = line.split()[0].decode()
            roles[clip] = kind
            touch(root / clip)
            if kind == "train":
                labels[clip] = int(line.split()[1]) - 1
    return labels, roles


@needs_shared
@pytest.mark.parametrize("split", [1, 2, 3])
def test_every_ucf101_clip_lands_in_its_official_split_with_its_label(tmp_path, split):
    labels, roles = tiny_ucf101(tmp_path, split)

    index = read_dataset("auto", tmp_path, split=split)

    assert {c.clip_id for c in index.clips} == set(roles)
    for clip in index.clips:
        assert (clip.split == EVAL) == (roles[clip.clip_id] == "test"), clip.clip_id
        assert clip.label_name == clip.clip_id.split("/")[0]
        assert index.class_names[clip.label] == clip.label_name
        if clip.clip_id in labels:
            assert clip.label == labels[clip.clip_id]
        assert Path(clip.path).is_file()


# --------------------------------------------------------------------------- HMDB51, all three splits


def tiny_hmdb51(root: Path, split: int, lines_per_class: int = 12) -> dict:
    """The first lines of four classes' official split files; returns {clip_id: '0'|'1'|'2'}."""
    roles = {}
    for name in HMDB_CLASSES:
        source = (SHARED / "hmdb51" / f"{name}_test_split{split}.txt").read_bytes()
        lines = source.splitlines(keepends=True)
        # take train, test and unused lines alike: a slice from each role
        picked = []
        for role in (b"1", b"2", b"0"):
            picked += [line for line in lines if line.split()[1] == role][: lines_per_class // 3]
        (root / SPLIT_DIR).mkdir(parents=True, exist_ok=True)
        (root / SPLIT_DIR / f"{name}_test_split{split}.txt").write_bytes(b"".join(picked))
        for line in picked:
            clip, role = line.split()
            roles[f"{name}/{clip.decode()}"] = role.decode()
            touch(root / name / clip.decode())
    return roles


@needs_shared
@pytest.mark.parametrize("split", [1, 2, 3])
def test_every_hmdb51_clip_lands_in_its_official_split_with_its_label(tmp_path, split):
    roles = tiny_hmdb51(tmp_path, split)

    index = read_dataset("auto", tmp_path, split=split)

    assert index.class_names == tuple(sorted(HMDB_CLASSES))
    assert {c.clip_id for c in index.clips} == {clip for clip, role in roles.items() if role != "0"}
    for clip in index.clips:
        expected = {"1": (TRAIN, VAL), "2": (EVAL,)}[roles[clip.clip_id]]
        assert clip.split in expected, clip.clip_id
        assert index.class_names[clip.label] == clip.label_name == clip.clip_id.split("/")[0]


@needs_shared
@pytest.mark.parametrize("split", [1, 2, 3])
def test_official_hmdb51_split_files_give_70_train_and_30_test_clips_per_class(tmp_path, split):
    folder = tmp_path / SPLIT_DIR
    folder.mkdir()
    for path in (SHARED / "hmdb51").glob(f"*_test_split{split}.txt"):
        (folder / path.name).write_bytes(path.read_bytes())

    index = read_hmdb51(tmp_path, split=split)

    assert len(index.class_names) == 51
    assert index.count(TRAIN) + index.count(VAL) == 51 * 70 and index.count(EVAL) == 51 * 30
    held_out = {c.group for c in index.clips if c.split == VAL}
    assert held_out and not held_out & {c.group for c in index.clips if c.split == TRAIN}
    assert {c.label_name for c in index.clips if c.split == VAL} == set(index.class_names)


def test_hmdb51_groups_are_source_videos():
    assert source_video("brush_hair/April_09_brush_hair_u_nm_np1_ba_goo_2.avi") == "April_09_brush_hair_u_nm_np1_ba_goo"


def test_hmdb51_line_with_an_unknown_role_is_an_error_naming_the_line(tmp_path):
    (tmp_path / "walk_test_split1.txt").write_text("a_walk_0.avi 1 \r\nb_walk_0.avi 7 \r\n")
    with pytest.raises(DatasetError, match=r"walk_test_split1.txt:2"):
        read_hmdb51(tmp_path, split=1)


# --------------------------------------------------------------------------- folder per class


def folder_dataset(root: Path, groups: int = 10, per_group: int = 3, named: bool = True) -> None:
    for cls in ("jump", "wave"):
        for g in range(1, groups + 1):
            for c in range(1, per_group + 1):
                name = f"v_{cls}_g{g:02d}_c{c:02d}.mp4" if named else f"{cls}_{g}_{c}.mkv"
                touch(root / cls / name)


def test_folder_split_never_puts_one_group_on_two_sides(tmp_path):
    folder_dataset(tmp_path, groups=20)
    for seed in range(5):
        index = read_folder(tmp_path, seed=seed, test_fraction=0.25)
        sides = {}
        for clip in index.clips:
            sides.setdefault(clip.group, set()).add(clip.split)
        assert all(len(s) == 1 for s in sides.values()), seed
        assert {TRAIN, VAL, EVAL} <= {c.split for c in index.clips}


def test_folder_groups_from_sub_folders(tmp_path):
    for cls in ("jump", "wave"):
        for actor in ("ann", "bob", "cy", "dee", "eve"):
            for take in (1, 2):
                touch(tmp_path / cls / actor / f"take{take}.webm")
    index = read_folder(tmp_path)
    assert {c.group for c in index.clips} == {"ann", "bob", "cy", "dee", "eve"}
    by_group = {}
    for clip in index.clips:
        by_group.setdefault(clip.group, set()).add(clip.split)
    assert all(len(s) == 1 for s in by_group.values())


def test_folder_groups_from_a_csv(tmp_path):
    folder_dataset(tmp_path, groups=4, per_group=1, named=False)
    rows = ["clip,group"] + [f"{c}/{c}_{g}_1.mkv,person{g}" for c in ("jump", "wave") for g in range(1, 5)]
    (tmp_path / "groups.csv").write_text("\n".join(rows) + "\n")
    assert read_groups_csv(tmp_path / "groups.csv")["jump/jump_3_1.mkv"] == "person3"
    index = read_folder(tmp_path, groups=str(tmp_path / "groups.csv"), test_fraction=0.25)
    assert {c.group for c in index.clips} == {f"person{g}" for g in range(1, 5)}
    assert len({c.split for c in index.clips if c.group == "person1"}) == 1


def test_folder_clips_without_groups_need_a_random_split_asked_for(tmp_path):
    folder_dataset(tmp_path, groups=5, per_group=2, named=False)
    with pytest.raises(DatasetError, match=r"has no group.*--random-split"):
        read_folder(tmp_path)
    index = read_folder(tmp_path, random_split=True, seed=3)
    again = read_folder(tmp_path, random_split=True, seed=3)
    assert index == again  # seeded: the same split every time
    assert {EVAL, TRAIN} <= {c.split for c in index.clips}
    assert index.class_names == ("jump", "wave") and {c.label for c in index.clips if c.label_name == "wave"} == {1}


def test_folder_reader_takes_every_video_suffix_and_ignores_other_files(tmp_path):
    tmp_path = tmp_path / ".cache" / "data"  # a hidden folder above the dataset does not hide it
    for suffix in ("avi", "mp4", "mkv", "webm", "mov", "MP4"):
        touch(tmp_path / "wave" / f"v_wave_g0{len(suffix)}_c{suffix}.{suffix}")
        touch(tmp_path / "jump" / f"v_jump_g0{len(suffix)}_c{suffix}.{suffix}")
    touch(tmp_path / "wave" / "notes.txt")
    touch(tmp_path / "wave" / ".hidden" / "v_wave_g01_c01.avi")
    touch(tmp_path / "empty_class" / "readme.md")
    index = read_folder(tmp_path)
    assert index.class_names == ("jump", "wave")
    assert len(index.clips) == 12


# --------------------------------------------------------------------------- detection


def test_layouts_are_detected_from_their_files(tmp_path):
    ucf, hmdb, folder = tmp_path / "ucf", tmp_path / "hmdb", tmp_path / "folder"
    (ucf).mkdir()
    (ucf / "classInd.txt").write_text("1 Walk\r\n")
    (hmdb / SPLIT_DIR).mkdir(parents=True)
    (hmdb / SPLIT_DIR / "walk_test_split1.txt").write_text("a_walk_0.avi 1 \r\n")
    folder_dataset(folder, groups=2, per_group=1, named=False)  # UCF101 names would need their lists
    assert [detect_layout(p) for p in (ucf, hmdb, folder)] == ["ucf101", "hmdb51", "folder"]


def test_an_ambiguous_or_empty_folder_is_an_error_naming_it(tmp_path):
    with pytest.raises(DatasetError, match="classInd.txt not found"):
        detect_layout(tmp_path)
    (tmp_path / "classInd.txt").write_text("1 Walk\r\n")
    (tmp_path / "walk_test_split1.txt").write_text("a_walk_0.avi 1 \r\n")
    with pytest.raises(DatasetError, match="both ucf101 and hmdb51"):
        detect_layout(tmp_path)


def test_the_ucf101_reader_still_works_by_name(tmp_path):
    (tmp_path / "classInd.txt").write_text("1 Walk\r\n")
    (tmp_path / "trainlist01.txt").write_text("Walk/v_Walk_g08_c01.avi 1\r\n")
    (tmp_path / "testlist01.txt").write_text("Walk/v_Walk_g01_c01.avi\r\n")
    assert read_dataset("ucf101", tmp_path) == read_ucf101(tmp_path)

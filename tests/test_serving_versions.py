"""TF Serving's base path: pushes appear as whole integer versions, old ones are pruned."""

import shutil
from pathlib import Path

import pytest

from harflow.serving import versions


def fake_saved_model(path: Path, files: int = 3) -> Path:
    (path / "variables").mkdir(parents=True)
    (path / "saved_model.pb").write_bytes(b"graph")
    for i in range(files):
        (path / "variables" / f"part-{i}").write_bytes(b"x" * 100)
    return path


def test_first_push_is_version_1_and_later_ones_count_up_from_the_highest(tmp_path):
    model = fake_saved_model(tmp_path / "model")
    base = tmp_path / "base"
    assert versions.publish_version(model, base)[0] == 1
    (base / "7").mkdir()
    version, folder = versions.publish_version(model, base)
    assert version == 8 and folder == base / "8" and (folder / "saved_model.pb").read_bytes() == b"graph"


def test_no_version_is_visible_while_its_files_are_being_copied(tmp_path):
    model = fake_saved_model(tmp_path / "model", files=5)
    base = tmp_path / "base"
    versions.publish_version(model, base)
    seen = []

    def watching_copy(src, dst):
        def copy_one(a, b):
            seen.append(versions.versions(base))  # what TF Serving would see at this moment
            return shutil.copy2(a, b)

        shutil.copytree(src, dst, copy_function=copy_one)

    versions.publish_version(model, base, copy_tree=watching_copy)
    assert len(seen) == 6 and all(state == [1] for state in seen)
    assert versions.versions(base) == [1, 2]


def test_a_failed_copy_leaves_neither_a_version_nor_a_hidden_folder(tmp_path):
    model = fake_saved_model(tmp_path / "model")
    base = tmp_path / "base"

    def failing_copy(src, dst):
        Path(dst).mkdir()
        (Path(dst) / "saved_model.pb").write_bytes(b"half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        versions.publish_version(model, base, copy_tree=failing_copy)
    assert list(base.iterdir()) == []


def test_a_version_taken_by_another_pusher_meanwhile_makes_this_push_the_next_one(tmp_path):
    model = fake_saved_model(tmp_path / "model")
    base = tmp_path / "base"

    def copy_while_another_push_lands(src, dst):
        shutil.copytree(src, dst)
        shutil.copytree(src, base / "1")  # the other pusher's rename, complete

    version, _ = versions.publish_version(model, base, copy_tree=copy_while_another_push_lands)
    assert version == 2 and versions.versions(base) == [1, 2]


def test_pruning_keeps_the_newest_versions_and_ignores_other_folders(tmp_path):
    base = tmp_path / "base"
    for name in ("1", "2", "3", "10", "notes"):
        (base / name).mkdir(parents=True)
    assert versions.prune_versions(base, keep=2) == [1, 2]
    assert sorted(p.name for p in base.iterdir()) == ["10", "3", "notes"]


def test_a_folder_without_a_saved_model_cannot_be_pushed(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="saved_model.pb"):
        versions.publish_version(tmp_path / "empty", tmp_path / "base")

"""TF Serving's base path: pushes appear as whole integer versions, old ones are pruned."""

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
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
    for name in ("1", "2", "3", "10"):
        fake_saved_model(base / name)
    (base / "notes").mkdir()
    assert versions.prune_versions(base, keep=2) == [1, 2]
    assert sorted(p.name for p in base.iterdir()) == ["10", "3", "notes"]


def test_a_folder_without_a_saved_model_cannot_be_pushed(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="saved_model.pb"):
        versions.publish_version(tmp_path / "empty", tmp_path / "base")



# --------------------------------------------------------------------------- versions that cannot be lost (issue 17, point 6)


def test_empty_numbered_folders_do_not_push_real_versions_out(tmp_path):
    base = tmp_path / "base"
    for name in ("1", "2", "3"):
        fake_saved_model(base / name)
    (base / "50").mkdir()
    (base / "51").mkdir()
    assert versions.versions(base) == [1, 2, 3]
    version, _ = versions.publish_version(fake_saved_model(tmp_path / "model"), base)
    assert version == 52  # above every numbered folder, so it is the newest TF Serving sees
    assert versions.prune_versions(base, keep=3) == [1]
    assert versions.versions(base) == [2, 3, 52] and (base / "50").is_dir()


@pytest.mark.parametrize("name", ["²", "٣", "1²", "+4", " 5"])
def test_a_folder_with_a_non_ascii_or_signed_number_is_no_version_and_does_not_crash(tmp_path, name):
    base = tmp_path / "base"
    fake_saved_model(base / "1")
    fake_saved_model(base / name)
    assert versions.versions(base) == [1] and versions.next_version(base) == 2
    assert versions.prune_versions(base, keep=1) == []


def test_predict_resolving_a_base_path_skips_a_superscript_folder(tmp_path):
    from harflow.serving.predict import resolve_model_dir

    base = tmp_path / "base"
    fake_saved_model(base / "2")
    fake_saved_model(base / "²")
    assert resolve_model_dir(base) == base / "2"


KILLED_PUSH = """
import sys, time
from harflow.serving import versions
def slow_copy(src, dst):
    import shutil
    shutil.copytree(src, dst)
    print("copied", flush=True)
    time.sleep(60)
versions.publish_version(sys.argv[1], sys.argv[2], copy_tree=slow_copy)
"""


def test_a_killed_push_leaves_staging_that_the_next_push_removes(tmp_path):
    model, base = fake_saved_model(tmp_path / "model"), tmp_path / "base"
    pusher = subprocess.Popen([sys.executable, "-c", KILLED_PUSH, str(model), str(base)], stdout=subprocess.PIPE, text=True)
    try:
        assert pusher.stdout.readline().strip() == "copied"
        staging = [p.name for p in base.iterdir() if p.name.startswith(".incoming-")]
        assert len(staging) == 2  # the folder and its lock
        assert versions.remove_dead_staging(base) == []  # alive: its lock is held, so it is left alone
        pusher.send_signal(signal.SIGKILL)
        pusher.wait(timeout=30)
    finally:
        pusher.kill()
        pusher.stdout.close()
    assert versions.publish_version(model, base)[0] == 1
    assert sorted(p.name for p in base.iterdir()) == ["1"]


def test_a_version_pushed_out_is_kept_for_the_grace_period_after_its_successor_lands(tmp_path):
    base, model = tmp_path / "base", fake_saved_model(tmp_path / "model")
    for _ in range(3):
        versions.publish_version(model, base)
    assert versions.prune_versions(base, keep=1, grace_s=30) == []  # 2 and 3 landed just now
    past = time.time() - 60
    os.utime(base / "2", (past, past))  # version 2 landed a minute ago: 1's grace is over, 2's is not
    assert versions.prune_versions(base, keep=1, grace_s=30) == [1]
    assert versions.versions(base) == [2, 3]


def test_readers_loading_the_newest_version_while_pushes_prune_never_miss_it(tmp_path):
    """Bounded: 4 readers x 30 loads while 15 pushes (keep=1) land; a load reads every file of its version."""
    base, model = tmp_path / "base", fake_saved_model(tmp_path / "model", files=20)
    versions.publish_version(model, base)
    failures, loads, done = [], [], threading.Event()

    def reader():
        for _ in range(30):
            chosen = versions.newest_version_dir(base)
            try:
                for file in sorted(chosen.rglob("*")):
                    if file.is_file():
                        file.read_bytes()
                        time.sleep(0.0005)  # a slow load
                loads.append(chosen.name)
            except FileNotFoundError as error:
                failures.append(str(error))

    def pusher():
        for _ in range(15):
            versions.publish_version(model, base)
            versions.prune_versions(base, keep=1, grace_s=2.0)
        done.set()

    threads = [threading.Thread(target=reader) for _ in range(4)] + [threading.Thread(target=pusher)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert done.is_set() and len(loads) == 120 and failures == []


class LoadedStandIn:
    """What tf.saved_model.load gives, as far as SavedModelPredictor looks (a test stand-in: no TensorFlow needed)."""

    def __init__(self, directory):
        self.directory = directory
        self.signatures = {"serving_default": None}


def harflow_model(path: Path) -> Path:
    from harflow import artifacts

    fake_saved_model(path)
    artifacts.write_model_info(path, artifacts.ModelInfo(class_names=["a", "b"], num_frames=4, image_size=32, color="rgb"))
    return path


def test_predict_on_a_base_path_retries_once_when_the_version_it_chose_vanishes(tmp_path, monkeypatch):
    from harflow.serving import predict

    base = tmp_path / "base"
    harflow_model(base / "1")
    harflow_model(base / "2")
    calls = []

    def load_while_a_push_prunes(directory):
        calls.append(directory.name)
        if len(calls) == 1:  # a push lands version 3 and prunes 2 while 2 loads
            harflow_model(base / "3")
            shutil.rmtree(base / "2")
            raise OSError(f"{directory}/variables: no such file")
        return LoadedStandIn(directory)

    monkeypatch.setattr(predict, "load_saved_model", load_while_a_push_prunes)
    monkeypatch.setattr(predict.artifacts, "SERVING_SIGNATURE", "serving_default")
    predictor = predict.SavedModelPredictor(base)
    assert calls == ["2", "3"] and predictor.directory == base / "3"


def test_a_load_error_of_a_version_that_is_still_there_is_not_retried(tmp_path, monkeypatch):
    from harflow.serving import predict

    harflow_model(tmp_path / "base" / "1")
    calls = []

    def broken(directory):
        calls.append(directory)
        raise OSError("corrupt")

    monkeypatch.setattr(predict, "load_saved_model", broken)
    with pytest.raises(OSError, match="corrupt"):
        predict.SavedModelPredictor(tmp_path / "base")
    assert len(calls) == 1

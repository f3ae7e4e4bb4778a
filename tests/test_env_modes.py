"""harflow.env: which environment a process uses, and why; the installed package outside a clone."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from harflow import env
from harflow.env import rootfs


@pytest.fixture
def clone_without_tfx(monkeypatch):
    monkeypatch.setattr(env, "interpreter_has_harflow", lambda: False)
    monkeypatch.delenv("HARFLOW_FORCE_ROOTFS", raising=False)


def test_an_interpreter_with_tfx_and_harflow_runs_here(monkeypatch):
    monkeypatch.setattr(env, "interpreter_has_harflow", lambda: True)
    mode = env.choose_mode(checkout=False, euid=1000)
    assert mode.kind == env.INTERPRETER and mode.title == "this interpreter"
    assert sys.executable in mode.reason


def test_a_new_glibc_gets_a_plain_venv(clone_without_tfx, monkeypatch):
    monkeypatch.setattr(env, "host_glibc", lambda: (2, 39))
    mode = env.choose_mode(checkout=True, euid=1000)
    assert mode.kind == env.VENV and "glibc 2.39 >= 2.39" in mode.reason


def test_an_old_glibc_as_root_gets_the_root_built_file_system(clone_without_tfx, monkeypatch):
    monkeypatch.setattr(env, "host_glibc", lambda: (2, 36))
    mode = env.choose_mode(checkout=True, euid=0)
    assert mode.kind == env.ROOTFS_ROOT and mode.title.endswith("as root")
    assert "glibc 2.36 < 2.39" in mode.reason


def test_an_old_glibc_without_root_goes_rootless_where_user_namespaces_work(clone_without_tfx, monkeypatch):
    monkeypatch.setattr(env, "host_glibc", lambda: (2, 35))
    monkeypatch.setattr(rootfs, "user_namespaces_blocked", lambda: None)
    mode = env.choose_mode(checkout=True, euid=1000)
    assert mode.kind == env.ROOTFS_ROOTLESS and "user namespace" in mode.title
    monkeypatch.setattr(rootfs, "user_namespaces_blocked", lambda: "user.max_user_namespaces is 0")
    with pytest.raises(env.EnvironmentError_, match="max_user_namespaces is 0"):
        env.choose_mode(checkout=True, euid=1000)


def test_the_two_root_file_systems_never_share_a_tree(tmp_path, clone_without_tfx, monkeypatch):
    """A tree built by root is not writable rootless, and the reverse would leave root's files to a user."""
    monkeypatch.setenv("HARFLOW_CACHE", str(tmp_path))
    monkeypatch.setattr(env, "host_glibc", lambda: (2, 36))
    monkeypatch.setattr(rootfs, "user_namespaces_blocked", lambda: None)
    as_root = env.layout(env.choose_mode(checkout=True, euid=0))
    rootless = env.layout(env.choose_mode(checkout=True, euid=1000))
    assert as_root.rootfs == tmp_path / "rootfs-trixie" and not as_root.rootless
    assert rootless.rootfs == tmp_path / "rootfs-trixie-rootless" and rootless.rootless


def test_installed_outside_a_clone_without_tfx_says_what_to_do(monkeypatch):
    monkeypatch.setattr(env, "interpreter_has_harflow", lambda: False)
    with pytest.raises(env.EnvironmentError_, match="pip install harflow"):
        env.choose_mode(checkout=False)


def test_the_clone_is_a_source_checkout_and_site_packages_is_not(tmp_path):
    assert env.source_checkout()
    (tmp_path / "harflow").mkdir()
    assert not env.source_checkout(tmp_path)


def test_subordinate_ids_are_read_by_name_or_uid(tmp_path):
    (tmp_path / "subuid").write_text("alice:100000:65536\n1001:165536:65536\nbob:231072:1000\n")
    assert rootfs.subordinate_ids("alice", 1000, tmp_path / "subuid") == 65536
    assert rootfs.subordinate_ids("carol", 1001, tmp_path / "subuid") == 65536
    assert rootfs.subordinate_ids("bob", 1002, tmp_path / "subuid") == 1000
    assert rootfs.subordinate_ids("dave", 1003, tmp_path / "absent") == 0


def test_a_rootless_build_names_each_missing_piece(tmp_path, monkeypatch):
    (tmp_path / "subuid").write_text("alice:100000:65536\n")
    (tmp_path / "subgid").write_text("")
    monkeypatch.setattr(rootfs.shutil, "which", lambda name: None if name == "mmdebstrap" else f"/usr/bin/{name}")
    missing = rootfs.rootless_build_missing("alice", 1000, etc=tmp_path)
    assert len(missing) == 2
    assert "apt-get install mmdebstrap" in missing[0]
    assert "/etc/subgid" in missing[1] and "usermod --add-subgids" in missing[1]


def _installed_copy(site: Path) -> None:
    """harflow laid out as `pip install .` puts it in site-packages (pyproject.toml's package-dir), no clone around."""
    shutil.copytree(env.REPO_ROOT / "harflow", site / "harflow", ignore=shutil.ignore_patterns("__pycache__"))
    for folder in ("cli", "pipeline", "components", "trainer", "serving", "kubeflow"):
        shutil.copytree(env.REPO_ROOT / folder, site / "harflow" / folder, ignore=shutil.ignore_patterns("__pycache__"))


def test_the_installed_package_runs_in_its_interpreter_from_any_directory(tmp_path):
    """Issue 14: outside a clone, env status named site-packages/pyproject.toml and crashed."""
    pytest.importorskip("tfx")
    site = tmp_path / "site"
    _installed_copy(site)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    variables = {k: v for k, v in os.environ.items() if k != env.IN_ENV_FLAG}
    variables["PYTHONPATH"] = str(site)
    status = subprocess.run(
        [sys.executable, "-m", "harflow", "env", "status"], cwd=elsewhere, env=variables, capture_output=True, text=True
    )
    assert status.returncode == 0, status.stderr
    assert "mode:             this interpreter" in status.stdout
    assert "pyproject.toml" not in status.stdout + status.stderr
    listed = subprocess.run(
        [sys.executable, "-m", "harflow", "runs", "--work-dir", str(tmp_path / "no-work")],
        cwd=elsewhere, env=variables, capture_output=True, text=True,
    )
    assert "FileNotFoundError" not in listed.stderr and "pyproject.toml" not in listed.stderr, listed.stderr
    assert listed.returncode == 2 and listed.stderr.startswith("harflow: error: "), listed.stderr  # ran here: no runs yet


def test_rootless_commands_get_a_temporary_folder_of_the_users_own(tmp_path, monkeypatch):
    """Inside, the user is root: pytest would use /tmp/pytest-of-root, which the real root may own."""
    folder = env.rootless_tmpdir(tmp_path)
    assert folder == tmp_path / f"harflow-{os.getuid()}" and folder.stat().st_uid == os.getuid()
    assert folder.stat().st_mode & 0o777 == 0o700
    monkeypatch.delenv("TMPDIR", raising=False)
    monkeypatch.setattr(env, "rootless_tmpdir", lambda: folder)
    rootless = env.Layout(cache=tmp_path, rootfs=tmp_path / "rootfs", digest="x", rootless=True)
    assert env._environment_variables(rootless)["TMPDIR"] == str(folder)
    as_root = env.Layout(cache=tmp_path, rootfs=tmp_path / "rootfs", digest="x", rootless=False)
    assert "TMPDIR" not in env._environment_variables(as_root)

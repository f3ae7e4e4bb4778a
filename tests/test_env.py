"""harflow.env: choosing, naming and entering the environment."""

import os
from pathlib import Path

import pytest

from harflow import env
from harflow.env import build as env_build, clean as env_clean, rootfs
from harflow.env.rootfs import MOUNT_ROOT


def test_old_glibc_needs_the_root_file_system(monkeypatch):
    monkeypatch.delenv("HARFLOW_FORCE_ROOTFS", raising=False)
    assert env.needs_rootfs((2, 36))
    assert env.needs_rootfs((2, 38))
    assert not env.needs_rootfs((2, 39))
    assert not env.needs_rootfs((2, 41))


def test_the_venv_is_renamed_when_a_pin_changes():
    pins = env.pinned_requirements()
    assert "tfx==1.21.0" in pins
    changed = [p if not p.startswith("flask==") else "flask==0.0.1" for p in pins]
    assert env.requirements_digest(changed) != env.requirements_digest(pins)
    assert env.requirements_digest(list(reversed(pins))) == env.requirements_digest(pins)


def test_every_dependency_is_pinned():
    assert all("==" in requirement for requirement in env.pinned_requirements())


def test_cache_lives_outside_the_clone(monkeypatch):
    monkeypatch.delenv("HARFLOW_CACHE", raising=False)
    cache = env.cache_dir().resolve()
    assert env.REPO_ROOT not in cache.parents


def test_rootfs_script_binds_user_dirs_but_not_system_dirs(tmp_path):
    script = rootfs.enter_script(tmp_path, rootless=False)
    top = rootfs.mount_point(tmp_path)
    assert f"mount --bind {tmp_path} {top}" in script
    assert f"mount --rbind /tmp {top}/tmp" in script
    assert f"mount -t proc proc {top}/proc" in script
    for system in ("usr", "etc", "var", "opt"):
        assert f"mount --rbind /{system} " not in script
    # user directories are bound before /proc and /dev, so recursive binds do not copy those twice
    assert script.index("--rbind /tmp") < script.index("mount -t proc")


def test_no_host_folder_is_mounted_on_the_cache_path(tmp_path):
    """Issue 17, point 3: as root every bind lands on the private mount point under /run, none under the cache."""
    script = rootfs.enter_script(tmp_path, rootless=False)
    mounts = [line for line in script.splitlines() if "mount " in line]
    assert mounts and all(str(rootfs.mount_point(tmp_path)) in line.split("mount ", 1)[1] for line in mounts)
    assert not [line for line in mounts if f" {tmp_path}/" in line]
    assert rootfs.MOUNT_ROOT not in Path(tmp_path).parents and "run" in rootfs.SYSTEM_DIRS  # /run is not bound inside


def host_folders_to_try(tmp_path) -> list[Path]:
    """A fresh folder in each bound host folder we may write: /tmp (tmp_path), /root, /home."""
    import tempfile

    folders = [tmp_path]
    for top in ("/root", "/home"):
        if os.access(top, os.W_OK):
            folders.append(Path(tempfile.mkdtemp(prefix="harflow-marker-", dir=top)))
    return folders


def test_deleting_the_cache_paths_host_folders_from_inside_does_not_touch_the_hosts(tmp_path):
    rootfs = os.environ.get(env.ROOTFS_VARIABLE)
    if not rootfs or not Path(rootfs).is_dir():
        pytest.skip("only meaningful inside the root file system, with its cache path reachable")
    import shutil

    folders = host_folders_to_try(tmp_path)
    try:
        for folder in folders:
            (folder / "marker").write_text("host data")
            through_cache = Path(rootfs) / folder.relative_to("/")
            assert not (through_cache / "marker").exists()  # the cache path's tmp/, root/, home/ are the rootfs's own
            shutil.rmtree(through_cache, ignore_errors=True)  # what `rm -rf <cache>` would do there
            assert (folder / "marker").read_text() == "host data"
    finally:
        for folder in folders[1:]:
            shutil.rmtree(folder, ignore_errors=True)


def test_env_clean_refuses_inside_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv(env.IN_ENV_FLAG, "1")
    (tmp_path / "cache").mkdir()
    with pytest.raises(env.EnvironmentError_, match=r"run `harflow env clean` on the host, not inside the environment"):
        env_clean.clean(env.Layout(cache=tmp_path / "cache", rootfs=tmp_path / "cache" / "rootfs-trixie", digest="x"))
    assert (tmp_path / "cache").is_dir()


def test_env_clean_refuses_while_a_session_runs_inside_and_removes_it_after(tmp_path, monkeypatch):
    import subprocess
    import sys

    monkeypatch.delenv(env.IN_ENV_FLAG, raising=False)
    lay = env.Layout(cache=tmp_path / "cache", rootfs=tmp_path / "cache" / "rootfs-trixie", digest="x")
    (lay.rootfs / "home").mkdir(parents=True)
    session = subprocess.Popen(
        [sys.executable, "-c", "import time; print('running', flush=True); time.sleep(60)"],
        env={**os.environ, env.ROOTFS_VARIABLE: str(lay.rootfs)},
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert session.stdout.readline() == "running\n"  # exec'd: /proc/PID/environ is its own, not ours from the fork
        with pytest.raises(env.EnvironmentError_, match=rf"is in use \(processes {session.pid} run inside it\)"):
            env_clean.clean(lay)
        assert lay.rootfs.is_dir()
    finally:
        session.kill()
        session.wait()
    assert env_clean.clean(lay) == f"removed {lay.cache}" and not lay.cache.exists()


def test_rootless_entry_binds_the_hosts_proc_in_a_user_namespace(tmp_path):
    """Without root a fresh proc cannot be mounted (no PID namespace of our own): the host's is bound."""
    script = rootfs.enter_script(tmp_path, rootless=True)
    assert f"mount --rbind /proc {tmp_path}/proc" in script
    assert "mount -t proc" not in script
    command = rootfs.command_in_rootfs(tmp_path, ["true"], "/", rootless=True)
    assert command[:3] == ["unshare", "--user", "--map-root-user"]


def test_mounts_stay_private_to_the_command():
    """Inside the environment, the host's init (pid 1) must see none of our mounts."""
    rootfs = os.environ.get(env.ROOTFS_VARIABLE)
    if not rootfs:
        pytest.skip("only meaningful inside the root file system")
    host_mounts = Path("/proc/1/mountinfo").read_text().splitlines()
    assert not [line for line in host_mounts if rootfs in line.split()[4] or str(MOUNT_ROOT) in line.split()[4]]


DPKG_STATUS = """Package: g++
Status: install ok installed
Description: the GNU C++ compiler
 with a continuation line: Status: install ok installed

Package: python3-dev
Status: deinstall ok config-files

Package: zlib1g
Status: install ok installed
"""


def test_installed_packages_are_read_from_dpkg_status(tmp_path):
    (tmp_path / "status").write_text(DPKG_STATUS)
    assert env.installed_packages(tmp_path / "status") == {"g++", "zlib1g"}
    assert env.installed_packages(tmp_path / "absent") == set()


def test_an_existing_root_file_system_lacking_a_package_gets_it_installed(tmp_path, monkeypatch):
    (tmp_path / "var/lib/dpkg").mkdir(parents=True)
    (tmp_path / "var/lib/dpkg/status").write_text(DPKG_STATUS)
    installs = []
    monkeypatch.setattr(env_build, "_apt_install", lambda lay, packages: installs.append((lay.rootfs, list(packages))))
    lay = env.Layout(cache=tmp_path / "cache", rootfs=tmp_path, digest="x")

    env._complete_rootfs(lay)

    missing = [p for p in env.ROOTFS_PACKAGES if p != "g++"]
    assert installs == [(tmp_path, missing)]
    assert env.missing_rootfs_packages(tmp_path) == missing


def test_packages_are_added_with_the_system_path_when_the_callers_lacks_sbin(tmp_path, monkeypatch):
    """A user's PATH without /usr/sbin (CI's `env -i PATH=/usr/local/bin:/usr/bin:/bin`) made the rootless
    `chroot` not found when a package was added to an existing tree."""
    monkeypatch.setenv("PATH", "/usr/local/bin:/usr/bin:/bin")
    steps = []
    monkeypatch.setattr(env_build, "_run_step", lambda command, what, env=None, quiet=False: steps.append((command, env)))
    env_build._apt_install(env.Layout(cache=tmp_path / "cache", rootfs=tmp_path, digest="x", rootless=True), ["unar"])
    (command, variables), = steps
    assert command[0] == "unshare" and "/usr/sbin" in variables["PATH"].split(":")


def test_a_complete_root_file_system_installs_nothing(tmp_path, monkeypatch):
    (tmp_path / "var/lib/dpkg").mkdir(parents=True)
    (tmp_path / "var/lib/dpkg/status").write_text(
        "\n\n".join(f"Package: {p}\nStatus: install ok installed" for p in env.ROOTFS_PACKAGES) + "\n"
    )
    monkeypatch.setattr(env_build, "_apt_install", lambda *args: pytest.fail("nothing should be installed"))
    env._complete_rootfs(env.Layout(cache=tmp_path / "cache", rootfs=tmp_path, digest="x"))


def test_the_rootless_build_installs_every_package_at_once_and_unpacks_as_the_user(tmp_path):
    command = rootfs.mmdebstrap_command()
    assert command[:2] == ["mmdebstrap", "--mode=unshare"] and command[-2:] == ["-", rootfs.DEBIAN_MIRROR]
    included = next(arg for arg in command if arg.startswith("--include=")).split("=", 1)[1].split(",")
    assert set(included) == {*rootfs.BASE_PACKAGES, *rootfs.ROOTFS_PACKAGES}
    assert rootfs.unpack_command(tmp_path) == ["tar", "-x", "-C", str(tmp_path), "--exclude=./dev/*"]


def test_apt_inside_a_rootless_tree_downloads_as_the_namespaces_root():
    """apt cannot switch to _apt (an unmapped id) in a one-user namespace."""
    assert rootfs.apt_install_script(["hello"], rootless=True).count("-o APT::Sandbox::User=root") == 2
    assert "Sandbox" not in rootfs.apt_install_script(["hello"], rootless=False)


def test_a_venv_of_other_pins_is_kept_while_it_is_in_use(tmp_path):
    """Two clones on different pins share one cache: building one venv must not delete the other's."""
    import os
    import time

    current, other_in_use, abandoned = (tmp_path / f"venv-{name}" for name in ("aaa", "bbb", "ccc"))
    for venv in (current, other_in_use, abandoned):
        venv.mkdir()
        env_build.mark_used(venv)
    long_ago = time.time() - (env_build.UNUSED_VENV_DAYS + 1) * 86400
    os.utime(abandoned / "harflow-last-used", (long_ago, long_ago))

    env_build.remove_unused_venvs(current)

    assert current.exists() and other_in_use.exists()
    assert not abandoned.exists()

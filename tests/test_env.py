"""harflow.env: choosing, naming and entering the environment."""

import os
from pathlib import Path

import pytest

from harflow import env
from harflow.env import build as env_build, rootfs


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
    assert f"mount --rbind /tmp {tmp_path}/tmp" in script
    assert f"mount -t proc proc {tmp_path}/proc" in script
    for system in ("usr", "etc", "var", "opt"):
        assert f"mount --rbind /{system} " not in script
    # user directories are bound before /proc and /dev, so recursive binds do not copy those twice
    assert script.index("--rbind /tmp") < script.index("mount -t proc")


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
    assert not [line for line in host_mounts if rootfs in line.split()[4]]


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

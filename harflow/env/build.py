"""Building harflow's environment: the root file system, the shared venv, each clone's overlay venv.

harflow.env decides where the environment lives (a `Layout`) and enters it; this module makes
what is missing. Standard library only: this runs on the host's own Python.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from harflow.env import gpu as env_gpu, rootfs as rootfs_
from harflow.env.rootfs import ROOTFS_PACKAGES, missing_rootfs_packages

REPO_ROOT = Path(__file__).resolve().parents[2]  # the clone, when harflow runs from one
# Host variables that would point the environment's tools at host files.
DROPPED_VARIABLES = ("PATH", "LD_LIBRARY_PATH", "PYTHONHOME", "PYTHONPATH", "VIRTUAL_ENV", "PIP_FIND_LINKS")


class EnvironmentError_(RuntimeError):
    """A problem building or entering the environment, with the fix in its message."""


def say(message: str) -> None:
    print(f"harflow env: {message}", file=sys.stderr, flush=True)



@dataclass(frozen=True)
class Layout:
    """Where the environment lives."""

    cache: Path
    rootfs: Path | None  # None on a host new enough for a plain venv
    digest: str
    rootless: bool = False
    driver: env_gpu.Driver | None = None  # the host's NVIDIA driver, None without one
    requirements: tuple[str, ...] = ()

    @property
    def venv_inside(self) -> Path:
        """The venv's path as the environment's own Python sees it."""
        if self.rootfs is None:
            return self.cache / f"venv-{self.digest}"
        return Path("/opt/harflow") / f"venv-{self.digest}"

    @property
    def venv_on_host(self) -> Path:
        return self.on_host(self.venv_inside)

    @property
    def clone_venv_inside(self) -> Path:
        """This clone's overlay venv (harflow installed editable) on top of the shared one."""
        base = self.cache if self.rootfs is None else Path("/opt/harflow")
        return base / "clones" / _clone_key()

    @property
    def clone_venv_on_host(self) -> Path:
        return self.on_host(self.clone_venv_inside)

    def on_host(self, inside: Path) -> Path:
        return inside if self.rootfs is None else self.rootfs / str(inside).lstrip("/")


def command_in_rootfs(lay: Layout, argv: list[str], cwd: str) -> list[str]:
    """The host command that runs `argv` inside the layout's root file system, mounts private."""
    entry = rootfs_.entry_path(lay.rootfs, lay.rootless)
    driver_lines = env_gpu.bind_lines(lay.driver, entry) if lay.driver is not None else []
    try:
        return rootfs_.command_in_rootfs(lay.rootfs, argv, cwd, lay.rootless, driver_lines)
    except rootfs_.RootfsError as error:
        raise EnvironmentError_(str(error)) from None


def _run_step(command: list[str], what: str, env: dict[str, str] | None = None, quiet: bool = False) -> None:
    started = time.monotonic()
    code = subprocess.call(command, env=env)
    if code != 0:
        raise EnvironmentError_(f"{what} failed (exit {code}); see the output above, fix it, and run again")
    if not quiet:
        say(f"{what}: done in {time.monotonic() - started:.0f} s")


def _host_variables() -> dict[str, str]:
    variables = {k: v for k, v in os.environ.items() if k not in DROPPED_VARIABLES}
    variables["PATH"] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    return variables


# --------------------------------------------------------------------------- building


@contextlib.contextmanager
def _locked(cache: Path):
    """One builder at a time per cache (two terminals, or CI beside a user)."""
    cache.mkdir(parents=True, exist_ok=True)
    with open(cache / ".lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def _build_rootfs(lay: Layout) -> None:
    partial = lay.rootfs.with_name(lay.rootfs.name + ".partial")
    if partial.exists():
        say(f"removing an unfinished root file system at {partial}")
        _remove_tree(partial)
    if lay.rootless:
        say(f"[1-2/3] mmdebstrap --mode=unshare {rootfs_.DEBIAN_SUITE} with {len(rootfs_.ROOTFS_PACKAGES)} extra packages, without root, into {partial} (about 3 minutes)")
        started = time.monotonic()
        try:
            rootfs_.build_rootless(partial)
        except rootfs_.RootfsError as error:
            raise EnvironmentError_(str(error)) from None
        say(f"mmdebstrap: done in {time.monotonic() - started:.0f} s")
    else:
        _build_rootfs_as_root(partial)
    partial.rename(lay.rootfs)


def _build_rootfs_as_root(partial: Path) -> None:
    if shutil.which("debootstrap") is None:
        if shutil.which("apt-get") is None:
            raise EnvironmentError_("debootstrap is missing and there is no apt-get to install it: install debootstrap")
        say("installing debootstrap with apt-get")
        _run_step(["apt-get", "install", "-y", "-q", "debootstrap"], "apt-get install debootstrap")
    say(f"[1/3] debootstrap {rootfs_.DEBIAN_SUITE} into {partial} (about 1 minute)")
    _run_step(rootfs_.debootstrap_command(partial), "debootstrap")
    rootfs_.copy_host_ca_bundle(partial)
    say(f"[2/3] apt-get install {' '.join(ROOTFS_PACKAGES)} inside it")
    _apt_install(Layout(partial.parent, partial, "", rootless=False), ROOTFS_PACKAGES)


def _apt_install(lay: Layout, packages: tuple[str, ...] | list[str]) -> None:
    script = rootfs_.apt_install_script(packages, lay.rootless)
    bare = Layout(lay.cache, lay.rootfs, lay.digest, lay.rootless)  # no driver binds while installing
    # the host's PATH may lack /usr/sbin (a user's `env -i`, cron): chroot, and dpkg inside, live there
    _run_step(command_in_rootfs(bare, ["/bin/sh", "-c", script], "/"), "apt-get inside the root file system", env=_host_variables())


def _complete_rootfs(lay: Layout) -> None:
    """Install into an existing root file system the packages it lacks; quick when none are missing."""
    if lay.rootfs is None or not lay.rootfs.exists() or not missing_rootfs_packages(lay.rootfs):
        return
    with _locked(lay.cache):
        _install_missing_packages(lay)  # another process may have installed them while we waited


def _install_missing_packages(lay: Layout) -> None:
    missing = missing_rootfs_packages(lay.rootfs)
    if missing:
        say(f"adding {' '.join(missing)} to the root file system {lay.rootfs} (once)")
        _apt_install(lay, missing)


def _remove_tree(path: Path) -> None:
    """Remove a directory we built; refuses if anything is still mounted below it."""
    with open("/proc/self/mountinfo") as handle:
        mounted = [line.split()[4] for line in handle]
    if any(point == str(path) or point.startswith(str(path) + "/") for point in mounted):
        raise EnvironmentError_(f"{path} still has mounts below it; unmount them (umount -R) and run again")
    shutil.rmtree(path)


def _in_layout(lay: Layout, step: list[str]) -> list[str]:
    return step if lay.rootfs is None else command_in_rootfs(Layout(lay.cache, lay.rootfs, lay.digest, lay.rootless), step, "/")


def _build_venv(lay: Layout, requirements: list[str]) -> None:
    venv_host = lay.venv_on_host
    if venv_host.exists():
        _remove_tree(venv_host)
    say(f"[3/3] creating {lay.venv_inside} and installing {len(requirements)} pinned packages (2-3 minutes)")
    python = sys.executable if lay.rootfs is None else "python3"
    steps = [
        [python, "-m", "venv", str(lay.venv_inside)],
        [str(lay.venv_inside / "bin/python"), "-m", "pip", "install", "--progress-bar", "on", *requirements],
    ]
    for step in steps:
        _run_step(_in_layout(lay, step), " ".join(step[:4]) + " ...", env=_host_variables())
    (venv_host / "harflow-requirements.json").write_text(json.dumps(sorted(requirements), indent=1))
    remove_unused_venvs(venv_host)


# A venv of other pins is removed only when no command has used it for this long: two clones on
# different pins (a branch that changes pyproject.toml beside main) must not delete each other's.
UNUSED_VENV_DAYS = 7


def mark_used(venv_host: Path) -> None:
    with contextlib.suppress(OSError):
        (venv_host / "harflow-last-used").touch()


def remove_unused_venvs(current: Path) -> None:
    for old in current.parent.glob("venv-*"):
        stamp = old / "harflow-last-used"
        last_used = stamp.stat().st_mtime if stamp.exists() else old.stat().st_mtime
        if old != current and time.time() - last_used > UNUSED_VENV_DAYS * 86400:
            say(f"removing the environment {old.name}, unused for {UNUSED_VENV_DAYS} days")
            _remove_tree(old)


def _clone_key() -> str:
    return hashlib.sha256(str(REPO_ROOT).encode()).hexdigest()[:12]


def _clone_marker(lay: Layout) -> str:
    """What a clone's overlay depends on: the clone, its pyproject.toml and the shared venv."""
    digest = hashlib.sha256((REPO_ROOT / "pyproject.toml").read_bytes()).hexdigest()[:12]
    return json.dumps({"clone": str(REPO_ROOT), "pyproject": digest, "venv": lay.digest})


def install_this_clone(lay: Layout) -> None:
    """Give this clone its own overlay venv, with the clone installed editable (`pip install -e`).

    The shared venv holds the pinned dependencies; each clone (a developer's, CI's fresh clone, a
    git worktree) gets a thin venv of its own whose one .pth adds the shared site-packages, so two
    clones never overwrite each other's install. Installed, the package is `harflow` with its
    stages mapped from the clone's top-level folders (pyproject.toml's package-dir), exactly as
    from a wheel. Made once per clone, in a few seconds; overlays of clones that are gone are removed.
    """
    overlay_host = lay.clone_venv_on_host
    marker = overlay_host / "harflow-clone.json"
    if marker.is_file() and marker.read_text() == _clone_marker(lay):
        return
    with _locked(lay.cache):
        if marker.is_file() and marker.read_text() == _clone_marker(lay):
            return
        _remove_stale_overlays(lay)
        if overlay_host.exists():
            _remove_tree(overlay_host)
        shared_python = str(lay.venv_inside / "bin/python")
        overlay = lay.clone_venv_inside
        # the overlay's one .pth adds the shared venv's site-packages (and runs its .pth files)
        script = (
            "import pathlib, sys, sysconfig\n"
            f"shared = pathlib.Path({str(lay.venv_inside)!r})\n"
            "site_dir = pathlib.Path(sysconfig.get_path('purelib'))\n"
            "shared_site = shared / site_dir.relative_to(sys.prefix)\n"
            "(site_dir / '_harflow_shared_venv.pth').write_text("
            "f'import site; site.addsitedir({str(shared_site)!r})\\n')\n"
        )
        steps = [
            [shared_python, "-m", "venv", "--without-pip", str(overlay)],
            [str(overlay / "bin/python"), "-c", script],
            [str(overlay / "bin/python"), "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "-e", str(REPO_ROOT)],
        ]
        for step in steps:
            _run_step(_in_layout(lay, step), f"installing this clone into {overlay}", env=_host_variables(), quiet=True)
        marker.write_text(_clone_marker(lay))


def _remove_stale_overlays(lay: Layout) -> None:
    """Remove the overlay venvs of clones that no longer exist (CI's clones, deleted worktrees)."""
    for overlay in lay.clone_venv_on_host.parent.glob("*"):
        try:
            clone = Path(json.loads((overlay / "harflow-clone.json").read_text())["clone"])
        except (OSError, ValueError, KeyError):
            continue
        if not (clone / "pyproject.toml").exists():
            _remove_tree(overlay)


def is_ready(lay: Layout) -> bool:
    return (lay.venv_on_host / "harflow-requirements.json").exists() and (
        lay.rootfs is None or lay.rootfs.exists()
    )


def build(lay: Layout, glibc: str) -> Layout:
    """Build whatever of the environment `lay` is missing; return it."""
    if is_ready(lay):
        _complete_rootfs(lay)
        return lay
    with _locked(lay.cache):
        if is_ready(lay):  # another process built it while we waited
            return lay
        started = time.monotonic()
        if lay.rootfs is not None and not lay.rootfs.exists():
            how = "without root (user namespace)" if lay.rootless else "as root"
            say(
                f"first run on this host: its glibc {glibc} is older than 2.39, which TFX 1.21's wheels need, "
                f"so harflow builds a Debian 13 root file system once, {how}, at {lay.rootfs} "
                "and runs inside it from now on (about 5 minutes, once)"
            )
            _build_rootfs(lay)
        else:
            if lay.rootfs is not None:
                _install_missing_packages(lay)
            say(f"first run with these pins (pyproject.toml): building the virtual environment {lay.venv_inside} (2-3 minutes)")
        _build_venv(lay, list(lay.requirements))
        say(f"environment ready in {time.monotonic() - started:.0f} s")
    return lay

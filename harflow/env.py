"""The environment harflow runs in, built and entered automatically.

TFX 1.21 is the only TFX for Python >= 3.10, and its ml-metadata and
tensorflow-data-validation wheels need glibc >= 2.39. So:

* on a host whose glibc is >= 2.39, harflow uses a plain virtual environment;
* on an older host (Debian 12, Ubuntu 22.04), harflow builds a Debian 13
  ("trixie") root file system once with debootstrap, keeps a virtual
  environment inside it, and runs every command there through `unshare -m`
  (a private mount namespace, so no mount outlives the command) and `chroot`.

Both live in a cache outside the clone (``$HARFLOW_CACHE``, default
``~/.cache/harflow``) and are reused; the virtual environment is rebuilt when
the dependency pins in pyproject.toml change.

This module runs on the host's own Python, before any dependency exists, so
it uses the standard library only.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from harflow.child import run_child

REPO_ROOT = Path(__file__).resolve().parent.parent
MIN_GLIBC = (2, 39)
DEBIAN_SUITE = "trixie"
DEBIAN_MIRROR = "http://deb.debian.org/debian"
# g++, python3-dev: pyfarmhash (a TFX dependency) builds from source;
# libarchive-tools: bsdtar, which unpacks the RAR archives of UCF101 and HMDB51 (harflow.datasets.download);
# chromium, chromium-driver, fonts-dejavu-core: the headless browser the web app's tests drive (Selenium).
# A package added here is installed into existing root file systems on their next use.
ROOTFS_PACKAGES = ("g++", "python3-dev", "libarchive-tools", "chromium", "chromium-driver", "fonts-dejavu-core")
IN_ENV_FLAG = "HARFLOW_IN_ENV"
ROOTFS_VARIABLE = "HARFLOW_ROOTFS"  # set inside: the root file system's path on the host
# Bump when the way environments are built changes, so old ones are rebuilt.
RECIPE_VERSION = "1"

# Top-level host directories that belong to the operating system: the root
# file system has its own. Every other top-level directory of the host
# (/home, /root, /tmp, /work, /mnt, /srv, /data, ...) is bind-mounted at the
# same path inside, so paths mean the same thing in and out.
SYSTEM_DIRS = frozenset(
    "bin boot dev etc lib lib32 lib64 libx32 lost+found opt proc run sbin sys usr var old_root".split()
)
# Where the root file system is entered, inside each command's private mount namespace: a bind of it
# outside the cache, so the host folders bound into it are never reachable through the cache path
# (an `rm -rf` of the cache from inside cannot reach the host's /home). Not bound inside itself.
MOUNT_ROOT = Path("/run/harflow")
# Host variables that would point the environment's tools at host files.
DROPPED_VARIABLES = ("PATH", "LD_LIBRARY_PATH", "PYTHONHOME", "PYTHONPATH", "VIRTUAL_ENV", "PIP_FIND_LINKS")


class EnvironmentError_(RuntimeError):
    """A problem building or entering the environment, with the fix in its message."""


def inside() -> bool:
    """True in a process that harflow's environment started (or a shell inside it)."""
    return os.environ.get(IN_ENV_FLAG) == "1"


def source_checkout() -> bool:
    """True when harflow runs from a clone (REPO_ROOT holds its pyproject.toml), whose environment harflow
    can build; False when it is installed (REPO_ROOT is then site-packages)."""
    return (REPO_ROOT / "pyproject.toml").is_file()


def say(message: str) -> None:
    print(f"harflow env: {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- facts


def host_glibc() -> tuple[int, int]:
    """The host's glibc version, e.g. (2, 36); (0, 0) when it is not glibc."""
    try:
        text = os.confstr("CS_GNU_LIBC_VERSION") or ""
    except (ValueError, OSError):
        text = ""
    match = re.search(r"(\d+)\.(\d+)", text)
    return (int(match.group(1)), int(match.group(2))) if match else (0, 0)


def needs_rootfs(glibc: tuple[int, int] | None = None) -> bool:
    """True where TFX's wheels cannot load on the host's glibc."""
    if os.environ.get("HARFLOW_FORCE_ROOTFS") == "1":
        return True
    return (glibc or host_glibc()) < MIN_GLIBC


def pinned_requirements(pyproject: Path = REPO_ROOT / "pyproject.toml") -> list[str]:
    """The dependencies (and test extras) that pyproject.toml pins."""
    import tomllib  # Python >= 3.11; the host's Python only needs to read this file

    data = tomllib.loads(pyproject.read_text())
    project = data["project"]
    requirements = list(project.get("dependencies", []))
    for extra in ("test",):
        requirements += project.get("optional-dependencies", {}).get(extra, [])
    return requirements


def requirements_digest(requirements: list[str]) -> str:
    text = "\n".join([RECIPE_VERSION, *sorted(requirements)])
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def cache_dir() -> Path:
    base = os.environ.get("HARFLOW_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "harflow"
    )
    return Path(base)


@dataclass(frozen=True)
class Layout:
    """Where the environment lives."""

    cache: Path
    rootfs: Path | None  # None on a host new enough for a plain venv
    digest: str

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


def layout() -> Layout:
    cache = cache_dir()
    rootfs = cache / f"rootfs-{DEBIAN_SUITE}" if needs_rootfs() else None
    return Layout(cache=cache, rootfs=rootfs, digest=requirements_digest(pinned_requirements()))


# --------------------------------------------------------------------------- running


def _environment_variables(lay: Layout) -> dict[str, str]:
    variables = {k: v for k, v in os.environ.items() if k not in DROPPED_VARIABLES}
    venv = lay.clone_venv_inside
    variables["PATH"] = f"{venv}/bin:{lay.venv_inside}/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    variables["VIRTUAL_ENV"] = str(venv)
    variables[IN_ENV_FLAG] = "1"
    variables.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's INFO/WARNING start-up chatter
    variables.setdefault("KERAS_BACKEND", "tensorflow")
    return variables


def _rootfs_script(rootfs: Path) -> str:
    """Shell run inside `unshare -m`: bind the root file system at its private mount point, mount there, chroot.

    The host's own directories are bound first, then /proc, /dev and /sys, so
    that the recursive binds do not copy those mounts a second time. Every
    mount is on the private mount point (mount_point), none on the cache path.
    """
    r, top = shlex.quote(str(rootfs)), shlex.quote(str(mount_point(rootfs)))
    lines = ["set -e", f"mkdir -p {top}", f"mount --bind {r} {top}"]
    for entry in sorted(os.listdir("/")):
        path = Path("/") / entry
        if entry in SYSTEM_DIRS or path.is_symlink() or not path.is_dir():
            continue
        q = shlex.quote(entry)
        lines.append(f"mkdir -p {top}/{q} && mount --rbind /{q} {top}/{q} 2>/dev/null || true")
    lines += [
        f"mount -t proc proc {top}/proc",
        f"mount --rbind /dev {top}/dev",
        f"mount --rbind /sys {top}/sys",
        f"[ -f /etc/resolv.conf ] && cp /etc/resolv.conf {top}/etc/resolv.conf || true",
        f"[ -f /etc/hosts ] && mount --bind /etc/hosts {top}/etc/hosts || true",  # the host's names (Beam: getfqdn())
        f'cd_to=$1; shift; exec chroot {top} /bin/sh -c \'cd "$0" 2>/dev/null || cd /; exec "$@"\' "$cd_to" "$@"',
    ]
    return "\n".join(lines)


def mount_point(rootfs: Path) -> Path:
    """The private mount point a root file system is entered from: under /run, outside every bound folder."""
    return MOUNT_ROOT / f"{rootfs.name}-{hashlib.sha256(str(rootfs).encode()).hexdigest()[:12]}"


def command_in_rootfs(rootfs: Path, argv: list[str], cwd: str) -> list[str]:
    """The host command that runs `argv` inside the root file system, mounts private."""
    if os.geteuid() != 0:
        raise EnvironmentError_(
            "entering the Debian 13 root file system needs root (mount, chroot); "
            "run as root (sudo -E make ...) or use a host with glibc >= 2.39"
        )
    return ["unshare", "--mount", "--propagation", "private", "/bin/sh", "-c", _rootfs_script(rootfs), "sh", cwd, *argv]


def run(argv: list[str], lay: Layout | None = None) -> int:
    """Run `argv` inside the environment (built first if needed); its exit status."""
    lay = lay or ensure()
    _mark_used(lay.venv_on_host)
    _install_this_clone(lay)
    variables = _environment_variables(lay)
    if lay.rootfs is None:
        command = argv
    else:
        variables[ROOTFS_VARIABLE] = str(lay.rootfs)
        command = command_in_rootfs(lay.rootfs, argv, os.getcwd())
    return run_child(command, env=variables)  # SIGINT / SIGTERM to this wrapper go to the command


def _run_step(command: list[str], what: str, env: dict[str, str] | None = None, quiet: bool = False) -> None:
    started = time.monotonic()
    code = subprocess.call(command, env=env)
    if code != 0:
        raise EnvironmentError_(f"{what} failed (exit {code}); see the output above, fix it, and run again")
    if not quiet:
        say(f"{what}: done in {time.monotonic() - started:.0f} s")


# --------------------------------------------------------------------------- building


@contextlib.contextmanager
def _locked(cache: Path):
    """One builder at a time per cache (two terminals, or CI beside a user)."""
    cache.mkdir(parents=True, exist_ok=True)
    with open(cache / ".lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def _build_rootfs(rootfs: Path) -> None:
    partial = rootfs.with_name(rootfs.name + ".partial")
    if os.geteuid() != 0:
        raise EnvironmentError_(
            f"this host's glibc {'.'.join(map(str, host_glibc()))} is older than 2.39, which TFX 1.21 needs; "
            "building the Debian 13 root file system that works around it needs root: run as root once, "
            "or use a host with glibc >= 2.39"
        )
    if shutil.which("debootstrap") is None:
        if shutil.which("apt-get") is None:
            raise EnvironmentError_("debootstrap is missing and there is no apt-get to install it: install debootstrap")
        say("installing debootstrap with apt-get")
        _run_step(["apt-get", "install", "-y", "-q", "debootstrap"], "apt-get install debootstrap")
    if partial.exists():
        say(f"removing an unfinished root file system at {partial}")
        _remove_tree(partial)
    say(f"[1/3] debootstrap {DEBIAN_SUITE} into {partial} (about 1 minute)")
    _run_step(
        [
            "debootstrap",
            "--variant=minbase",
            "--include=python3,python3-venv,python3-pip,ca-certificates",
            DEBIAN_SUITE,
            str(partial),
            DEBIAN_MIRROR,
        ],
        "debootstrap",
    )
    host_bundle = Path("/etc/ssl/certs/ca-certificates.crt")
    if host_bundle.exists():  # the network here needs the host's CA bundle
        shutil.copy(host_bundle, partial / "etc/ssl/certs/ca-certificates.crt")
    say(f"[2/3] apt-get install {' '.join(ROOTFS_PACKAGES)} inside it")
    _apt_install(partial, ROOTFS_PACKAGES)
    partial.rename(rootfs)


def _apt_install(rootfs: Path, packages: tuple[str, ...] | list[str]) -> None:
    apt = (
        "apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "
        + " ".join(packages)
        + " && apt-get clean"
    )
    _run_step(command_in_rootfs(rootfs, ["/bin/sh", "-c", apt], "/"), "apt-get inside the root file system")


def installed_packages(dpkg_status: Path) -> set[str]:
    """Names of the packages a dpkg status file marks `install ok installed` (read on the host, no chroot)."""
    if not dpkg_status.is_file():
        return set()
    installed = set()
    for stanza in dpkg_status.read_text(encoding="utf-8", errors="replace").split("\n\n"):
        fields = dict(line.split(": ", 1) for line in stanza.splitlines() if ": " in line and not line.startswith(" "))
        if fields.get("Status") == "install ok installed" and "Package" in fields:
            installed.add(fields["Package"])
    return installed


def missing_rootfs_packages(rootfs: Path) -> list[str]:
    """The ROOTFS_PACKAGES an existing root file system lacks (added to harflow after it was built)."""
    installed = installed_packages(rootfs / "var/lib/dpkg/status")
    return [package for package in ROOTFS_PACKAGES if package not in installed]


def _complete_rootfs(lay: Layout) -> None:
    """Install into an existing root file system the packages it lacks; quick when none are missing."""
    if lay.rootfs is None or not lay.rootfs.exists() or not missing_rootfs_packages(lay.rootfs):
        return
    with _locked(lay.cache):
        _install_missing_packages(lay.rootfs)  # another process may have installed them while we waited


def _install_missing_packages(rootfs: Path) -> None:
    missing = missing_rootfs_packages(rootfs)
    if missing:
        say(f"adding {' '.join(missing)} to the root file system {rootfs} (once)")
        _apt_install(rootfs, missing)


def _remove_tree(path: Path) -> None:
    """Remove a directory we built; refuses if anything is still mounted below it."""
    with open("/proc/self/mountinfo") as handle:
        mounted = [line.split()[4] for line in handle]
    if any(point == str(path) or point.startswith(str(path) + "/") for point in mounted):
        raise EnvironmentError_(f"{path} still has mounts below it; unmount them (umount -R) and run again")
    shutil.rmtree(path)


def _build_venv(lay: Layout, requirements: list[str]) -> None:
    venv_host = lay.venv_on_host
    if venv_host.exists():
        _remove_tree(venv_host)
    say(f"[3/3] creating {lay.venv_inside} and installing {len(requirements)} pinned packages (2-3 minutes)")
    steps = [
        ["python3", "-m", "venv", str(lay.venv_inside)],
        [str(lay.venv_inside / "bin/python"), "-m", "pip", "install", "--progress-bar", "on", *requirements],
    ]
    variables = {k: v for k, v in os.environ.items() if k not in DROPPED_VARIABLES}
    variables["PATH"] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    python = sys.executable if lay.rootfs is None else None
    for step in steps:
        if python is not None and step[0] == "python3":
            step = [python, *step[1:]]
        command = step if lay.rootfs is None else command_in_rootfs(lay.rootfs, step, "/")
        _run_step(command, " ".join(step[:4]) + " ...", env=variables)
    (venv_host / "harflow-requirements.json").write_text(json.dumps(sorted(requirements), indent=1))
    _remove_unused_venvs(venv_host)


# A venv of other pins is removed only when no command has used it for this long: two clones on
# different pins (a branch that changes pyproject.toml beside main) must not delete each other's.
UNUSED_VENV_DAYS = 7


def _mark_used(venv_host: Path) -> None:
    with contextlib.suppress(OSError):
        (venv_host / "harflow-last-used").touch()


def _remove_unused_venvs(current: Path) -> None:
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


def _install_this_clone(lay: Layout) -> None:
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
        variables = {k: v for k, v in os.environ.items() if k not in DROPPED_VARIABLES}
        variables["PATH"] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
        for step in steps:
            command = step if lay.rootfs is None else command_in_rootfs(lay.rootfs, step, "/")
            _run_step(command, f"installing this clone into {overlay}", env=variables, quiet=True)
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


def ensure() -> Layout:
    """Build whatever of the environment is missing; return where it is."""
    lay = layout()
    if is_ready(lay):
        _complete_rootfs(lay)
        return lay
    requirements = pinned_requirements()
    with _locked(lay.cache):
        if is_ready(lay):  # another process built it while we waited
            return lay
        started = time.monotonic()
        if lay.rootfs is not None and not lay.rootfs.exists():
            glibc = ".".join(map(str, host_glibc()))
            say(
                f"first run on this host: its glibc {glibc} is older than 2.39, which TFX 1.21's wheels need, "
                f"so harflow builds a Debian 13 root file system once at {lay.rootfs} "
                "and runs inside it from now on (about 5 minutes, once)"
            )
            _build_rootfs(lay.rootfs)
        else:
            if lay.rootfs is not None:
                _install_missing_packages(lay.rootfs)
            say(f"first run with these pins (pyproject.toml): building the virtual environment {lay.venv_inside} (2-3 minutes)")
        _build_venv(lay, requirements)
        say(f"environment ready in {time.monotonic() - started:.0f} s")
    return lay


def describe(lay: Layout) -> str:
    lines = [
        f"host glibc:       {'.'.join(map(str, host_glibc()))}",
        f"mode:             {'Debian 13 root file system (chroot)' if lay.rootfs else 'plain virtual environment'}",
        f"cache:            {lay.cache}",
    ]
    if lay.rootfs is not None:
        lines.append(f"root file system: {lay.rootfs} ({'present' if lay.rootfs.exists() else 'not built'})")
    lines += [
        f"venv:             {lay.venv_inside} ({'ready' if is_ready(lay) else 'not built'})",
        f"pins digest:      {lay.digest}",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """`python3 -m harflow.env [status|build|run -- CMD...]` (the harflow CLI wraps this; `harflow env clean`: env_clean)."""
    args = list(sys.argv[1:] if argv is None else argv)
    verb = args.pop(0) if args else "status"
    try:
        if verb == "status":
            print(describe(layout()))
            return 0
        if verb == "build":
            print(describe(ensure()))
            return 0
        if verb == "run":
            if args and args[0] == "--":
                args = args[1:]
            if not args:
                raise EnvironmentError_("usage: harflow env run -- COMMAND [ARGS...]")
            if os.environ.get(IN_ENV_FLAG) == "1":
                return run_child(args)
            return run(args)
        raise EnvironmentError_(f"unknown verb {verb!r}: use status, build or run (clean: `harflow env clean`)")
    except EnvironmentError_ as error:
        print(f"harflow env: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

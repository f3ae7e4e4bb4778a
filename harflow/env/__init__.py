"""The environment harflow runs in, built and entered automatically.

TFX 1.21 is the only TFX for Python >= 3.10, and its ml-metadata and
tensorflow-data-validation wheels need glibc >= 2.39. So:

* installed (`pip install harflow`, no clone) or in any interpreter where TFX
  and harflow are importable, harflow runs in **this interpreter**;
* in a clone on a host whose glibc is >= 2.39, in a **plain virtual environment**;
* in a clone on an older host (Debian 12, Ubuntu 22.04), in a **Debian 13
  ("trixie") root file system** built once, with a virtual environment inside,
  entered through `unshare` (private mounts, so no mount outlives the command)
  and `chroot`: **as root** when run by root (debootstrap), **rootless** for any
  other user (mmdebstrap and a user namespace; harflow.env.rootfs).

The venv and root file system live in a cache outside the clone
(``$HARFLOW_CACHE``, default ``~/.cache/harflow``) and are reused; the virtual
environment is rebuilt when the dependency pins in pyproject.toml change. With
an NVIDIA driver on the host it gets TensorFlow's CUDA wheels and the driver is
bound in (harflow.env.gpu). Commands run quiet (harflow.env.quiet); harflow.env.build builds.

This module runs on the host's own Python, before any dependency exists, so
it uses the standard library only.
"""


from __future__ import annotations

import hashlib
import importlib.util
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from harflow.child import run_child
from harflow.env import build as env_build, gpu as env_gpu, quiet as env_quiet, rootfs as rootfs_
from harflow.env.build import (  # noqa: F401 (re-exported: harflow.env is the one face of the environment)
    DROPPED_VARIABLES,
    REPO_ROOT,
    EnvironmentError_,
    Layout,
    _complete_rootfs,
    command_in_rootfs,
    is_ready,
    say,
)
from harflow.env.rootfs import ROOTFS_PACKAGES, installed_packages, missing_rootfs_packages  # noqa: F401 (re-exported)

MIN_GLIBC = (2, 39)
IN_ENV_FLAG = "HARFLOW_IN_ENV"
ROOTFS_VARIABLE = "HARFLOW_ROOTFS"  # set inside: the root file system's path on the host
# Bump when the way environments are built changes, so old ones are rebuilt.
RECIPE_VERSION = "1"

INTERPRETER, VENV, ROOTFS_ROOTLESS, ROOTFS_ROOT = "interpreter", "venv", "rootfs-rootless", "rootfs-root"
MODE_TITLES = {
    INTERPRETER: "this interpreter",
    VENV: "plain venv",
    ROOTFS_ROOTLESS: "Debian 13 root file system, rootless (user namespace)",
    ROOTFS_ROOT: "Debian 13 root file system, as root",
}


def inside() -> bool:
    """True in a process that harflow's environment started (or a shell inside it)."""
    return os.environ.get(IN_ENV_FLAG) == "1"


# --------------------------------------------------------------------------- facts


def host_glibc() -> tuple[int, int]:
    """The host's glibc version, e.g. (2, 36); (0, 0) when it is not glibc."""
    try:
        text = os.confstr("CS_GNU_LIBC_VERSION") or ""
    except (ValueError, OSError):
        text = ""
    match = re.search(r"(\d+)\.(\d+)", text)
    return (int(match.group(1)), int(match.group(2))) if match else (0, 0)


def glibc_text() -> str:
    return ".".join(map(str, host_glibc()))


def needs_rootfs(glibc: tuple[int, int] | None = None) -> bool:
    """True where TFX's wheels cannot load on the host's glibc."""
    if os.environ.get("HARFLOW_FORCE_ROOTFS") == "1":
        return True
    return (glibc or host_glibc()) < MIN_GLIBC


def source_checkout(root: Path = REPO_ROOT) -> bool:
    """True when harflow runs from a clone (its pyproject.toml beside the package), not from an install."""
    return (root / "pyproject.toml").is_file() and (root / "harflow" / "env" / "__init__.py").is_file()


def interpreter_has_harflow() -> bool:
    """True when this interpreter can import TFX and all of harflow (installed, or a clone installed -e)."""
    try:
        return importlib.util.find_spec("tfx") is not None and importlib.util.find_spec("harflow.cli") is not None
    except (ImportError, ValueError):
        return False


@dataclass(frozen=True)
class Mode:
    """Where harflow runs, and why."""

    kind: str  # INTERPRETER, VENV, ROOTFS_ROOTLESS or ROOTFS_ROOT
    reason: str

    @property
    def title(self) -> str:
        return MODE_TITLES[self.kind]


def choose_mode(checkout: bool | None = None, euid: int | None = None) -> Mode:
    """The environment for this process: the first of interpreter, venv, rootless, root that can work."""
    checkout = source_checkout() if checkout is None else checkout
    euid = os.geteuid() if euid is None else euid
    if interpreter_has_harflow():
        return Mode(INTERPRETER, f"TFX and harflow are importable in {sys.executable}")
    if not checkout:
        raise EnvironmentError_(
            f"harflow is installed in {sys.executable} without TFX importable there; install its dependencies "
            "(pip install harflow, on a host with glibc >= 2.39), or run harflow from a clone, "
            "which builds its own environment"
        )
    if not needs_rootfs():
        return Mode(VENV, f"glibc {glibc_text()} >= 2.39: TFX's wheels load on this host")
    old = f"glibc {glibc_text()} < 2.39, which TFX's wheels need"
    if euid == 0:
        return Mode(ROOTFS_ROOT, f"{old}; running as root: debootstrap, unshare --mount, chroot")
    blocked = rootfs_.user_namespaces_blocked()
    if blocked:
        raise EnvironmentError_(
            f"this host's {old}, and without root harflow needs unprivileged user namespaces, "
            f"but {blocked}; ask an administrator to allow them, run as root, or use a host with glibc >= 2.39"
        )
    return Mode(ROOTFS_ROOTLESS, f"{old}; not root, user namespaces allowed: mmdebstrap, unshare --user, chroot")


def pinned_requirements(pyproject: Path = REPO_ROOT / "pyproject.toml") -> list[str]:
    """The dependencies (and test extras) that pyproject.toml pins (a clone's file)."""
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


def layout(mode: Mode | None = None) -> Layout:
    """Where the environment of a clone lives (its pins are read from the clone's pyproject.toml)."""
    mode = mode or choose_mode()
    if mode.kind == INTERPRETER:
        raise EnvironmentError_("harflow runs in this interpreter: there is no environment to build or enter")
    cache = cache_dir()
    rootless = mode.kind == ROOTFS_ROOTLESS
    rootfs = cache / rootfs_.rootfs_name(rootless) if mode.kind != VENV else None
    driver = env_gpu.find_driver()
    requirements = pinned_requirements()
    if driver is not None:
        requirements = env_gpu.with_cuda(requirements)
    return Layout(cache, rootfs, requirements_digest(requirements), rootless, driver, tuple(requirements))


# --------------------------------------------------------------------------- running


def _environment_variables(lay: Layout) -> dict[str, str]:
    variables = {k: v for k, v in os.environ.items() if k not in DROPPED_VARIABLES}
    venv = lay.clone_venv_inside
    variables["PATH"] = f"{venv}/bin:{lay.venv_inside}/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    variables["VIRTUAL_ENV"] = str(venv)
    variables[IN_ENV_FLAG] = "1"
    variables.setdefault("KERAS_BACKEND", "tensorflow")
    if lay.rootfs is not None and lay.driver is not None:
        variables["LD_LIBRARY_PATH"] = env_gpu.HOST_DRIVER_DIR
    if lay.rootless and "TMPDIR" not in variables:
        variables["TMPDIR"] = str(rootless_tmpdir())
    return env_quiet.quiet_variables(variables)


def rootless_tmpdir(base: Path = Path("/tmp")) -> Path:
    """The user's own temporary folder: rootless, the user is `root` inside, and /tmp/pytest-of-root
    (or any /tmp/NAME-root) may belong to the real root of a shared machine."""
    folder = base / f"harflow-{os.getuid()}"
    folder.mkdir(mode=0o700, exist_ok=True)
    if folder.is_symlink() or folder.lstat().st_uid != os.getuid():
        raise EnvironmentError_(f"{folder} is not a folder of yours; remove it, or set TMPDIR to a folder of yours")
    return folder


def _call(command: list[str], variables: dict[str, str], filtered: bool) -> int:
    """Run `command`, passing SIGINT / SIGTERM on to it (harflow.child); harflow's own commands with
    their stderr filtered (a shell or a user's command keeps its terminal: only the variables apply)."""
    if filtered and not env_quiet.verbose(variables):
        return env_quiet.call_filtered(command, variables)
    return run_child(command, env=variables)


def is_harflow_command(argv: list[str]) -> bool:
    return argv[:3] == ["python", "-m", "harflow"]


def run(argv: list[str], lay: Layout | None = None) -> int:
    """Run `argv` inside the environment (built first if needed); its exit status."""
    if lay is None and choose_mode().kind == INTERPRETER:
        return run_here(argv)
    lay = lay or ensure()
    env_build.mark_used(lay.venv_on_host)
    env_build.install_this_clone(lay)
    variables = _environment_variables(lay)
    if lay.rootfs is None:
        command = argv
    else:
        variables[ROOTFS_VARIABLE] = str(lay.rootfs)
        command = command_in_rootfs(lay, argv, os.getcwd())
    return _call(command, variables, is_harflow_command(argv))


def run_here(argv: list[str]) -> int:
    """Run `argv` in this interpreter's environment (installed mode), quiet like the others."""
    command = [sys.executable if argv[:1] == ["python"] else argv[0], *argv[1:]]
    variables = env_quiet.quiet_variables({**os.environ, IN_ENV_FLAG: "1"})
    return _call(command, variables, is_harflow_command(argv))


def ensure() -> Layout:
    """Build whatever of this clone's environment is missing; return where it is."""
    return env_build.build(layout(), glibc_text())


# --------------------------------------------------------------------------- status


def gpu_report(lay: Layout | None) -> list[str]:
    """The GPUs TensorFlow sees in the environment, or why there are none."""
    driver = lay.driver if lay is not None else env_gpu.find_driver()
    if driver is None:
        return [f"GPU:              none: {env_gpu.no_driver_reason()}"]
    lines = [
        f"NVIDIA driver:    {driver.version}, {len(driver.libraries)} libraries, "
        f"devices {' '.join(d.name for d in driver.devices) or 'none found in /dev'}"
    ]
    if lay is not None and not is_ready(lay):
        return [*lines, "GPUs TensorFlow sees: (the environment is not built yet: harflow env build)"]
    if lay is None:
        command, variables = [sys.executable, "-c", env_gpu.LIST_GPUS], None
    else:
        command, variables = ["python", "-c", env_gpu.LIST_GPUS], _environment_variables(lay)
        command = command_in_rootfs(lay, command, "/") if lay.rootfs is not None else command
    listed = subprocess.run(command, env=variables, capture_output=True, text=True)
    found = listed.stdout.rstrip() or f"  none: TensorFlow failed ({listed.stderr.strip().splitlines()[-1:]})"
    return [*lines, "GPUs TensorFlow sees:", found]


def describe(mode: Mode, lay: Layout | None, gpus: bool = True) -> str:
    lines = [
        f"mode:             {mode.title}",
        f"why:              {mode.reason}",
        f"host glibc:       {glibc_text()}",
    ]
    if lay is None:
        lines.append(f"python:           {sys.executable}")
    else:
        lines.append(f"cache:            {lay.cache}")
        if lay.rootfs is not None:
            lines.append(f"root file system: {lay.rootfs} ({'present' if lay.rootfs.exists() else 'not built'})")
        if mode.kind == ROOTFS_ROOTLESS and not (lay.rootfs and lay.rootfs.exists()):
            missing = rootfs_.rootless_build_missing()
            lines.append(f"rootless build:   {'ready' if not missing else 'needs ' + '; '.join(missing)}")
        lines += [
            f"venv:             {lay.venv_inside} ({'ready' if is_ready(lay) else 'not built'})",
            f"pins digest:      {lay.digest}",
        ]
    if gpus:
        lines += gpu_report(lay)
    lines.append(f"logs:             {'all (HARFLOW_DEBUG=1)' if env_quiet.verbose() else 'quiet (harflow -v or HARFLOW_DEBUG=1 shows TensorFlow, absl and FFmpeg lines)'}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """`python3 -m harflow.env [status|build|run -- CMD...]` (the harflow CLI wraps this)."""
    args = list(sys.argv[1:] if argv is None else argv)
    verb = args.pop(0) if args else "status"
    try:
        if verb in ("status", "build"):
            mode = choose_mode()
            if mode.kind == INTERPRETER:
                lay = None
            else:
                lay = ensure() if verb == "build" else layout(mode)
            print(describe(mode, lay))
            return 0
        if verb == "run":
            if args and args[0] == "--":
                args = args[1:]
            if not args:
                raise EnvironmentError_("usage: harflow env run -- COMMAND [ARGS...]")
            if os.environ.get(IN_ENV_FLAG) == "1":
                return run_child(args)
            return run(args)
        raise EnvironmentError_(f"unknown verb {verb!r}: use status, build or run")
    except EnvironmentError_ as error:
        print(f"harflow env: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

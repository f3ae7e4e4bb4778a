"""NVIDIA GPUs in harflow's environment: find the host's driver, install CUDA TensorFlow, bind the driver in.

The way the NVIDIA container toolkit does it: the driver (kernel module, `libcuda.so.1`,
`libnvidia-*.so*`) belongs to the host and must match its kernel module, so it is never installed
into the environment; its user-space libraries and the `/dev/nvidia*` devices are bound into the
root file system at every entry. The CUDA toolkit libraries (cuDNN, cuBLAS, ...) come as pip wheels
with `tensorflow[and-cuda]`.

Every probe takes its paths as parameters, so the tests run it on a fake driver tree.
Standard library only: this runs on the host's own Python.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

TENSORFLOW_VERSION = "2.21.0"  # the TensorFlow that tfx's pins resolve to (a test checks it inside the env)
DRIVER_VERSION_FILE = Path("/proc/driver/nvidia/version")
LIBRARY_DIRS = (
    "/usr/lib/x86_64-linux-gnu",
    "/usr/lib/aarch64-linux-gnu",
    "/usr/lib64",
    "/usr/lib",
    "/usr/local/nvidia/lib64",
    "/usr/lib/wsl/lib",
)
DRIVER_LIBRARY = re.compile(r"^(libcuda\.so(\.[\d.]+)?|libcudadebugger\.so(\.[\d.]+)?|libnvidia-[\w.-]+\.so(\.[\d.]+)?)$")
DEVICE = re.compile(r"^nvidia(\d+|ctl|-uvm|-uvm-tools|-modeset)$")
HOST_DRIVER_DIR = "/usr/lib/harflow-host-driver"  # inside the root file system: a tmpfs holding the binds


@dataclass(frozen=True)
class Driver:
    """The host's NVIDIA driver as found: what to bind into the root file system."""

    version: str  # e.g. "550.54.14"; "unknown" when only nvidia-smi was found
    libraries: dict[str, Path] = field(default_factory=dict)  # name loaded (libcuda.so.1) -> host file
    devices: tuple[Path, ...] = ()  # /dev/nvidia0, /dev/nvidiactl, /dev/nvidia-uvm, ...


def driver_version(version_file: Path = DRIVER_VERSION_FILE) -> str | None:
    """The kernel module's version from /proc/driver/nvidia/version; None without the module."""
    try:
        text = version_file.read_text()
    except OSError:
        return None
    match = re.search(r"Kernel Module\s+(?:for \S+\s+)?([\d.]+)", text)
    return match.group(1) if match else "unknown"


def ldconfig_libraries(ldconfig_output: str) -> dict[str, Path]:
    """Driver libraries listed by `ldconfig -p` (64-bit entries first), name -> path."""
    found: dict[str, Path] = {}
    for line in ldconfig_output.splitlines():
        match = re.match(r"\s*(\S+) \(([^)]*)\) => (\S+)", line)
        if not match or not DRIVER_LIBRARY.match(match.group(1)):
            continue
        name, flags, path = match.groups()
        if "64" in flags or name not in found:  # "libc6,x86-64" wins over a 32-bit "libc6"
            found[name] = Path(path)
    return found


def directory_libraries(directories: tuple[str, ...] | list[str]) -> dict[str, Path]:
    """Driver libraries in the usual directories, for hosts whose ld.so.cache does not list them."""
    found: dict[str, Path] = {}
    for directory in directories:
        folder = Path(directory)
        if not folder.is_dir():
            continue
        for path in sorted(folder.iterdir()):
            if DRIVER_LIBRARY.match(path.name) and path.exists():
                found.setdefault(path.name, path)
    return found


def run_ldconfig() -> str:
    for ldconfig in ("ldconfig", "/sbin/ldconfig", "/usr/sbin/ldconfig"):
        try:
            return subprocess.run([ldconfig, "-p"], capture_output=True, text=True, check=False).stdout
        except OSError:
            continue
    return ""


def find_driver(
    version_file: Path = DRIVER_VERSION_FILE,
    ldconfig_output: str | None = None,
    library_dirs: tuple[str, ...] | list[str] = LIBRARY_DIRS,
    dev_dir: Path = Path("/dev"),
    nvidia_smi: str | None = None,
) -> Driver | None:
    """The host's NVIDIA driver, or None when there is none (no kernel module, no nvidia-smi)."""
    version = driver_version(version_file)
    if version is None and (nvidia_smi or shutil.which("nvidia-smi")) is None:
        return None
    libraries = directory_libraries(library_dirs)
    libraries.update(ldconfig_libraries(run_ldconfig() if ldconfig_output is None else ldconfig_output))
    devices = tuple(sorted(p for p in dev_dir.glob("nvidia*") if DEVICE.match(p.name))) if dev_dir.is_dir() else ()
    return Driver(version=version or "unknown", libraries=libraries, devices=devices)


def no_driver_reason(version_file: Path = DRIVER_VERSION_FILE) -> str:
    return f"no NVIDIA driver on this host (no {version_file}, no nvidia-smi on PATH): TensorFlow uses the CPU"


def bind_lines(driver: Driver, rootfs: Path) -> list[str]:
    """Shell lines binding the driver into the root file system (after /dev is bound).

    The libraries go into a tmpfs at HOST_DRIVER_DIR (nothing is written into the tree itself),
    each bound at the name the loader asks for; the environment puts that folder on
    LD_LIBRARY_PATH. Each device is bound at its own path, as the container toolkit does.
    """
    r = shlex.quote(str(rootfs))
    folder = f"{r}{HOST_DRIVER_DIR}"
    lines = [f"mkdir -p {folder}", f"mount -t tmpfs -o mode=0755 harflow-nvidia {folder}"]
    for name, path in sorted(driver.libraries.items()):
        target = f"{folder}/{shlex.quote(name)}"
        lines.append(f"touch {target} && mount --bind {shlex.quote(str(path))} {target}")
    for device in driver.devices:
        lines.append(f"mount --bind {shlex.quote(str(device))} {r}/dev/{shlex.quote(device.name)}")
    return lines


def with_cuda(requirements: list[str]) -> list[str]:
    """The pins plus TensorFlow's CUDA wheels at the TensorFlow version tfx brings."""
    return [*requirements, f"tensorflow[and-cuda]=={TENSORFLOW_VERSION}"]


LIST_GPUS = (
    "import tensorflow as tf\n"
    "gpus = tf.config.list_physical_devices('GPU')\n"
    "print('\\n'.join(f'  {gpu.name}: {tf.config.experimental.get_device_details(gpu).get(\"device_name\", \"?\")}'"
    " for gpu in gpus) or '  none: TensorFlow sees no GPU (see docs/environment.md, GPU)')\n"
)

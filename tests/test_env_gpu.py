"""harflow.env.gpu: finding an NVIDIA driver and binding it into the root file system, on a FAKE driver tree.

No GPU was lent to this project's test machines: these tests check the discovery and the bind script
harflow generates; they do not show that TensorFlow uses a GPU (docs/environment.md, GPU).
"""

import importlib.metadata
import os
from pathlib import Path

import pytest

from harflow import env
from harflow.env import gpu as env_gpu
from harflow.env.rootfs import entry_path

VERSION_FILE = """NVRM version: NVIDIA UNIX x86_64 Kernel Module  550.54.14  Thu Feb 22 01:44:30 UTC 2024
GCC version:  gcc version 12.2.0 (Debian 12.2.0-14)
"""


@pytest.fixture
def fake_driver(tmp_path):
    """A host with driver 550.54.14: its /proc file, libraries in a lib dir, one more only in ldconfig, devices."""
    proc = tmp_path / "proc/driver/nvidia/version"
    proc.parent.mkdir(parents=True)
    proc.write_text(VERSION_FILE)
    lib = tmp_path / "lib"
    lib.mkdir()
    for name in ("libcuda.so.550.54.14", "libnvidia-ml.so.550.54.14", "libnvidia-ptxjitcompiler.so.550.54.14"):
        (lib / name).write_bytes(b"\x7fELF fake")
    (lib / "libcuda.so.1").symlink_to("libcuda.so.550.54.14")
    (lib / "libnvidia-ml.so.1").symlink_to("libnvidia-ml.so.550.54.14")
    (lib / "libcudart.so.12").write_bytes(b"toolkit, not driver")  # comes with the pip wheels instead
    (lib / "libz.so.1").write_bytes(b"unrelated")
    other = tmp_path / "lib-other"
    other.mkdir()
    (other / "libnvidia-encode.so.1").write_bytes(b"\x7fELF fake")
    ldconfig = (
        f"3 libs found in cache `/etc/ld.so.cache'\n"
        f"\tlibnvidia-encode.so.1 (libc6) => /usr/lib32/libnvidia-encode.so.1\n"
        f"\tlibnvidia-encode.so.1 (libc6,x86-64) => {other}/libnvidia-encode.so.1\n"
        f"\tlibz.so.1 (libc6,x86-64) => /lib/x86_64-linux-gnu/libz.so.1\n"
    )
    dev = tmp_path / "dev"
    (dev / "nvidia-caps").mkdir(parents=True)
    for name in ("nvidia0", "nvidia1", "nvidiactl", "nvidia-uvm", "nvme0", "null"):
        (dev / name).write_text("")
    driver = env_gpu.find_driver(version_file=proc, ldconfig_output=ldconfig, library_dirs=[str(lib)], dev_dir=dev)
    return tmp_path, driver


def test_the_fake_driver_is_found_with_its_libraries_and_devices(fake_driver):
    tmp_path, driver = fake_driver
    assert driver.version == "550.54.14"
    assert sorted(driver.libraries) == [
        "libcuda.so.1",
        "libcuda.so.550.54.14",
        "libnvidia-encode.so.1",
        "libnvidia-ml.so.1",
        "libnvidia-ml.so.550.54.14",
        "libnvidia-ptxjitcompiler.so.550.54.14",
    ]
    assert driver.libraries["libnvidia-encode.so.1"] == tmp_path / "lib-other/libnvidia-encode.so.1"  # 64-bit entry
    assert [d.name for d in driver.devices] == ["nvidia-uvm", "nvidia0", "nvidia1", "nvidiactl"]


def test_the_bind_script_binds_the_fake_driver_into_the_root_file_system(fake_driver, monkeypatch):
    tmp_path, driver = fake_driver
    rootfs = tmp_path / "rootfs"
    for rootless, euid in ((True, 1000), (False, 0)):
        monkeypatch.setattr(os, "geteuid", lambda: euid)
        lay = env.Layout(cache=tmp_path, rootfs=rootfs, digest="x", rootless=rootless, driver=driver)
        command = env.command_in_rootfs(lay, ["python", "-c", "pass"], "/")
        script = command[command.index("-c") + 1]
        top = entry_path(rootfs, rootless)  # as root the private mount point, rootless the tree itself
        inside = f"{top}{env_gpu.HOST_DRIVER_DIR}"
        assert f"mount -t tmpfs -o mode=0755 harflow-nvidia {inside}" in script
        assert f"touch {inside}/libcuda.so.1 && mount --bind {tmp_path}/lib/libcuda.so.1 {inside}/libcuda.so.1" in script
        assert f"mount --bind {tmp_path}/lib-other/libnvidia-encode.so.1 {inside}/libnvidia-encode.so.1" in script
        for device in ("nvidia0", "nvidia1", "nvidiactl", "nvidia-uvm"):
            assert f"mount --bind {tmp_path}/dev/{device} {top}/dev/{device}" in script
        assert "libcudart" not in script and "libz" not in script and "nvme0" not in script
        assert script.index(f"mount --rbind /dev {top}/dev") < script.index("harflow-nvidia")  # after /dev
        assert env._environment_variables(lay)["LD_LIBRARY_PATH"] == env_gpu.HOST_DRIVER_DIR


def test_without_a_driver_nothing_is_bound_and_status_says_why(tmp_path, monkeypatch):
    monkeypatch.setattr(env_gpu.shutil, "which", lambda name: None)
    assert env_gpu.find_driver(version_file=tmp_path / "absent") is None
    lay = env.Layout(cache=tmp_path, rootfs=tmp_path / "rootfs", digest="x", rootless=True)
    command = env.command_in_rootfs(lay, ["true"], "/")
    assert "harflow-nvidia" not in command[command.index("-c") + 1]
    assert "LD_LIBRARY_PATH" not in env._environment_variables(lay)
    report = "\n".join(env.gpu_report(lay))
    assert "no NVIDIA driver on this host" in report


def test_nvidia_smi_alone_counts_as_a_driver(tmp_path):
    driver = env_gpu.find_driver(
        version_file=tmp_path / "absent", ldconfig_output="", library_dirs=[], dev_dir=tmp_path, nvidia_smi="/usr/bin/nvidia-smi"
    )
    assert driver is not None and driver.version == "unknown"


def test_a_driver_adds_tensorflows_cuda_wheels_and_a_venv_of_its_own():
    pins = env.pinned_requirements()
    with_cuda = env_gpu.with_cuda(pins)
    assert f"tensorflow[and-cuda]=={env_gpu.TENSORFLOW_VERSION}" in with_cuda
    assert env.requirements_digest(with_cuda) != env.requirements_digest(pins)


def test_the_cuda_pin_is_the_tensorflow_the_environment_has():
    try:
        installed = importlib.metadata.version("tensorflow")
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("only meaningful inside harflow's environment")
    assert installed == env_gpu.TENSORFLOW_VERSION

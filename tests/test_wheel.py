"""The wheel as a user gets it: one top-level package, everything it needs inside, a `harflow` command that runs anywhere.

The wheel is built from a copy of the package's sources (so no build/ or
*.egg-info lands in the clone) with the real pip and setuptools, then
installed with `--no-deps` into a fresh venv that sees this environment's
site-packages (TFX and the rest) through a .pth file, as harflow/env/build.py's
overlay venvs do; the console script runs from a directory that is no clone.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())
VERSION = PROJECT["project"]["version"]
PACKAGE_DIRS = PROJECT["tool"]["setuptools"]["package-dir"]  # "harflow.trainer" -> "trainer"


def run(command: list[str], cwd: Path, timeout: int = 300) -> subprocess.CompletedProcess:
    environment = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "PYTHONHOME")}
    return subprocess.run(command, cwd=cwd, env=environment, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """pip wheel --no-deps --no-build-isolation of a copy of the sources; the .whl's path."""
    source = tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    for folder in set(PACKAGE_DIRS.values()):
        shutil.copytree(REPO / folder, source / folder, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    out = tmp_path_factory.mktemp("wheel")
    result = run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(out), str(source)], out)
    assert result.returncode == 0, result.stderr
    (built,) = out.glob("harflow-*.whl")
    return built


@pytest.fixture(scope="module")
def console_script(wheel, tmp_path_factory) -> Path:
    """A fresh venv with the wheel installed (--no-deps) and this environment's packages visible; its bin/harflow."""
    import tfx

    venv = tmp_path_factory.mktemp("venv")
    assert run([sys.executable, "-m", "venv", "--without-pip", str(venv)], venv).returncode == 0
    python = venv / "bin" / "python"
    site_dir = Path(run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], venv).stdout.strip())
    environment_site = Path(tfx.__file__).resolve().parents[1]  # where TFX and the other dependencies are installed
    assert environment_site != Path(sysconfig.get_path("purelib")).resolve() or not (environment_site / "harflow").exists()
    (site_dir / "_environment.pth").write_text(f"import site; site.addsitedir({str(environment_site)!r})\n")
    result = run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps", str(wheel)], venv)
    assert result.returncode == 0, result.stderr
    where = run([str(python), "-c", "import harflow; print(harflow.__file__)"], venv).stdout.strip()
    assert Path(where).is_relative_to(venv), f"harflow imported from {where}, not from the wheel"
    return venv / "bin" / "harflow"


def wheel_names(wheel: Path) -> list[str]:
    with zipfile.ZipFile(wheel) as archive:
        return archive.namelist()


def test_the_wheels_only_top_level_package_is_harflow(wheel):
    tops = {name.split("/")[0] for name in wheel_names(wheel)}
    assert tops == {"harflow", f"harflow-{VERSION}.dist-info"}


def test_the_wheel_holds_every_stage_and_the_web_apps_files(wheel):
    names = set(wheel_names(wheel))
    for package, folder in PACKAGE_DIRS.items():
        assert f"{package.replace('.', '/')}/__init__.py" in names, package
        for path in (REPO / folder).rglob("*.py"):
            if "__pycache__" not in path.parts:
                assert f"{package.replace('.', '/')}/{path.relative_to(REPO / folder).as_posix()}" in names, path
    for folder in ("templates", "static"):
        for path in (REPO / "serving" / "web" / folder).iterdir():
            assert f"harflow/serving/web/{folder}/{path.name}" in names, path


def test_the_wheel_holds_no_tests_and_no_stand_ins(wheel):
    names = wheel_names(wheel)
    assert not [name for name in names if "/tests/" in f"/{name}" or "standin" in name or "stand_in" in name]


def test_the_installed_command_prints_its_help_from_any_directory(console_script, tmp_path):
    result = run([str(console_script), "--help"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert "usage: harflow" in result.stdout


def test_the_installed_command_prints_its_version(console_script, tmp_path):
    result = run([str(console_script), "--version"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"harflow {VERSION}"


def test_the_installed_runs_command_needs_no_clone(console_script, tmp_path):
    result = run([str(console_script), "runs", "--help"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    result = run([str(console_script), "runs"], tmp_path)  # no runs here: a one-line error, not a crash
    assert "Traceback" not in result.stderr and "pyproject.toml" not in result.stderr, result.stderr
    assert "no pipeline metadata yet" in result.stderr

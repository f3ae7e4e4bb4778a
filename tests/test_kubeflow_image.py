"""The Kubeflow image (kubeflow/Dockerfile) agrees with pyproject.toml and with its base, tensorflow/tfx.

Docker cannot run here, so the image is not built. What can be checked is: the Dockerfile parses
(every instruction known, every COPY source present, the build's smoke test importing real harflow
modules, among them every executor the compiled spec names), its base is the TFX of the pin, the
base's Python (3.10, read in TFX's own build files: docs/kubeflow.md) is one pyproject.toml admits,
and every pin has a wheel for that Python on PyPI.
"""

import ast
import importlib.util
import json
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = ROOT / "kubeflow" / "Dockerfile"
INSTRUCTIONS = {
    "ADD", "ARG", "CMD", "COPY", "ENTRYPOINT", "ENV", "EXPOSE", "FROM", "HEALTHCHECK", "LABEL",
    "MAINTAINER", "ONBUILD", "RUN", "SHELL", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR",
}


def instructions(path: Path = DOCKERFILE) -> list[tuple[str, str]]:
    """The Dockerfile as (INSTRUCTION, arguments), continuation lines joined and comments dropped."""
    parsed, pending = [], ""
    for line in path.read_text().splitlines():
        if line.lstrip().startswith("#") or not line.strip():
            continue  # Docker drops comment lines, also inside a continued instruction
        pending += line.rstrip()
        if pending.endswith("\\"):
            pending = pending[:-1] + " "
            continue
        keyword, _, arguments = pending.strip().partition(" ")
        parsed.append((keyword, arguments.strip()))
        pending = ""
    if pending:
        raise ValueError(f"{path}: the last instruction ends in a line continuation")
    return parsed


def arguments_of(keyword: str) -> list[str]:
    return [arguments for found, arguments in instructions() if found == keyword]


def build_args() -> dict:
    """ARG NAME=default -> {NAME: default} (the first default of each name)."""
    defaults = {}
    for argument in arguments_of("ARG"):
        name, equals, default = argument.partition("=")
        if equals:
            defaults.setdefault(name, default)
    return defaults


def pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def pinned_version(name: str) -> str:
    [requirement] = [Requirement(text) for text in pyproject()["dependencies"] if Requirement(text).name == name]
    [specifier] = requirement.specifier
    return specifier.version


def smoke_test_imports() -> set[str]:
    """The modules the build's `python -c "import ..."` step imports."""
    modules = set()
    for run in arguments_of("RUN"):
        words = shlex.split(run)
        for index, word in enumerate(words[:-2]):
            if word == "python" and words[index + 1] == "-c":
                for node in ast.walk(ast.parse(words[index + 2])):
                    if isinstance(node, ast.Import):
                        modules.update(alias.name for alias in node.names)
    return modules


def test_every_instruction_is_a_dockerfile_instruction():
    parsed = instructions()
    assert parsed and {keyword for keyword, _ in parsed} <= INSTRUCTIONS
    assert [keyword for keyword, _ in parsed if keyword != "ARG"][0] == "FROM"


def test_a_broken_dockerfile_fails_to_parse(tmp_path):
    """The parser can fail: an unfinished continuation, and an unknown instruction, are caught."""
    broken = tmp_path / "Dockerfile"
    broken.write_text("FROM python:3.10\nRUN echo \\\n")
    with pytest.raises(ValueError, match="line continuation"):
        instructions(broken)
    broken.write_text("FROM python:3.10\nRUNN echo\n")
    assert not {keyword for keyword, _ in instructions(broken)} <= INSTRUCTIONS


def test_the_base_is_the_tfx_image_of_the_pinned_tfx():
    [base] = arguments_of("FROM")
    assert base == "tensorflow/tfx:${TFX_VERSION}"
    assert build_args()["TFX_VERSION"] == pinned_version("tfx")


def test_the_base_images_python_is_one_pyproject_admits():
    image_python = build_args()["IMAGE_PYTHON"]
    assert re.fullmatch(r"3\.\d+", image_python)
    assert SpecifierSet(pyproject()["requires-python"]).contains(image_python + ".0"), image_python


def test_every_copy_source_exists_and_every_package_folder_is_copied():
    sources = set()
    for argument in arguments_of("COPY"):
        *copied, _destination = argument.split()
        sources.update(source.rstrip("/") for source in copied if not source.startswith("--"))
    assert all((ROOT / source).exists() for source in sources), sources
    package_dirs = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-dir"]
    assert set(package_dirs.values()) <= sources  # else `pip install .` in the image misses a package
    assert {"pyproject.toml", "README.md"} <= sources


def test_the_smoke_test_imports_real_modules_among_them_every_harflow_executor():
    from tfx.dsl.components.common.resolver import Resolver

    from harflow.config import PipelineConfig
    from harflow.pipeline.pipeline import create_pipeline

    imported = smoke_test_imports()
    assert all(importlib.util.find_spec(module) is not None for module in imported), imported
    executors = {
        component.executor_spec.executor_class.__module__
        for component in create_pipeline(PipelineConfig()).components
        if not isinstance(component, Resolver)
    }
    harflow_modules = {module for module in executors if module.startswith("harflow.")} | {"harflow.trainer.task"}
    assert len(harflow_modules) >= 4 and harflow_modules <= imported, harflow_modules - imported


# ---------------------------------------------------------------- the pins resolve for the image's Python

NETWORK_ERRORS = ("NewConnectionError", "Failed to establish a new connection", "Temporary failure in name resolution",
                  "Network is unreachable", "Max retries exceeded", "ProxyError", "Could not fetch URL")


def pins_for(python: str) -> list[str]:
    """pyproject.toml's dependencies whose markers hold on `python` (X.Y), markers dropped.

    pip evaluates markers against the interpreter running it, even with --python-version
    (pypa/pip#11010), so harflow's own markers are evaluated here, for the target.
    """
    environment = {"python_version": python, "python_full_version": python + ".0"}
    pins = []
    for text in pyproject()["dependencies"]:
        requirement = Requirement(text)
        if requirement.marker is None or Marker(str(requirement.marker)).evaluate(environment):
            requirement.marker = None
            pins.append(str(requirement))
    return pins


def pip(python: str, *arguments: str, cwd: Path) -> subprocess.CompletedProcess:
    result = subprocess.run([python, "-m", "pip", "--disable-pip-version-check", *arguments],
                            capture_output=True, text=True, timeout=900, cwd=cwd)
    if result.returncode != 0 and any(error in result.stdout + result.stderr for error in NETWORK_ERRORS):
        pytest.skip("PyPI cannot be reached from here: the resolution for the image's Python needs it")
    return result


def resolved(report: Path) -> dict:
    return {canonicalize_name(item["metadata"]["name"]): item["metadata"]["version"] for item in json.loads(report.read_text())["install"]}


def test_every_pin_has_a_wheel_for_the_base_images_python(tmp_path):
    """`pip install --dry-run --python-version 3.10 --only-binary=:all: --no-deps` of pyproject's pins, from PyPI.

    --no-deps: the pins themselves, with no other tool than pip; the next test resolves the tree.
    """
    python = build_args()["IMAGE_PYTHON"]
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("\n".join(pins_for(python)) + "\n")
    report = tmp_path / "report.json"
    result = pip(
        sys.executable, "install", "--dry-run", "--ignore-installed", "--no-deps", "--quiet", "--python-version", python,
        "--only-binary=:all:", "--target", str(tmp_path / "target"), "--report", str(report), "-r", str(requirements),
        cwd=tmp_path,
    )
    assert result.returncode == 0, f"a pin has no build for Python {python}:\n{result.stderr[-3000:]}"
    expected = {}
    for pin in pins_for(python):
        requirement = Requirement(pin)
        [specifier] = requirement.specifier
        expected[canonicalize_name(requirement.name)] = specifier.version
    assert resolved(report) == expected
    assert expected["matplotlib"] == "3.10.9"  # matplotlib 3.11 has no build for Python 3.10


# under tfx, packages that publish only source archives (no wheel for any Python); the TFX image has them
SOURCE_ONLY = ("pyfarmhash>=0.2.2,<0.4", "kfp-server-api>=2.16.0,<3", "rouge-score>=0.1.2,<2")


def python_interpreter(version: str) -> str | None:
    """A real interpreter of `version` (X.Y): on PATH, or one pyenv installed."""
    found = shutil.which(f"python{version}")
    if found:
        return found
    installed = sorted(Path.home().glob(f".pyenv/versions/{version}.*/bin/python{version}"))
    return str(installed[-1]) if installed else None


def test_the_whole_tree_resolves_to_wheels_for_the_base_images_python(tmp_path):
    """Every pin and everything under it: `--python-version 3.10 --only-binary=:all:`, from PyPI.

    The SOURCE_ONLY packages are first built into wheels by a real Python 3.10 (skipped without
    one), so that the dry run refuses every other source build.
    """
    version = build_args()["IMAGE_PYTHON"]
    python = python_interpreter(version)
    if python is None:
        pytest.skip(f"no Python {version} here (python{version} on PATH, or pyenv's) to build {', '.join(SOURCE_ONLY)} for it")
    wheels = tmp_path / "wheels"
    built = pip(python, "wheel", "--use-pep517", "--no-deps", "--quiet", "-w", str(wheels), *SOURCE_ONLY, cwd=tmp_path)
    assert built.returncode == 0, built.stderr[-3000:]
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("\n".join(pins_for(version)) + "\n")
    report = tmp_path / "report.json"
    result = pip(
        sys.executable, "install", "--dry-run", "--ignore-installed", "--quiet", "--python-version", version,
        "--only-binary=:all:", "--target", str(tmp_path / "target"), "--find-links", str(wheels),
        "--report", str(report), "-r", str(requirements), cwd=tmp_path,
    )
    assert result.returncode == 0, f"the pins do not resolve for Python {version}:\n{result.stderr[-3000:]}"
    versions = resolved(report)
    assert versions["tfx"] == pinned_version("tfx") and versions["ml-metadata"] == pinned_version("tfx")
    assert versions["tensorflow"].startswith("2.21.") and versions["keras"].startswith("3.")
    assert versions["matplotlib"] == "3.10.9"


def test_the_python_310_pins_differ_from_the_environments_only_where_needed():
    """One matplotlib pin per side of 3.11; every other pin is the same for the image and the environment."""
    image, environment = pins_for(build_args()["IMAGE_PYTHON"]), pins_for("3.13")
    assert sorted(set(image) ^ set(environment)) == ["matplotlib==3.10.9", "matplotlib==3.11.2"]

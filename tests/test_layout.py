"""The layering rule of docs/layout.md, checked on the source: who may import whom, no cycles, no long files.

Every module of the package (the folders pyproject.toml's package-dir maps to
harflow.*) is parsed, and every import in it is collected, those inside
functions too. An import of a harflow module from a layer that may not use it
fails, and so does any cycle among harflow's modules.
"""

from __future__ import annotations

import ast
import sys
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
MAX_LINES = 500

# Who may import whom (docs/layout.md). A layer always may import itself.
MAY_IMPORT = {
    "env": set(),  # harflow/env/: its own modules and the standard library only
    "ground": {"env"},  # harflow/ itself (config, video, features, datasets, ...)
    "trainer": {"ground", "env"},
    "serving": {"ground", "env"},
    "components": {"ground", "env", "serving", "trainer"},
    "pipeline": {"ground", "env", "trainer", "serving", "components"},
    "kubeflow": {"ground", "env", "trainer", "serving", "components", "pipeline"},
    "roof": {"ground", "env", "trainer", "serving", "components", "pipeline", "kubeflow"},
}
STAGE_PACKAGES = ("trainer", "serving", "components", "pipeline", "kubeflow")
ENV_MODULES = ("harflow.env", "harflow.child")  # harflow.child: the wrappers' child, split out of env.py
ROOF_MODULES = ("harflow.cli", "harflow.__main__")  # harflow.__main__ is the only importer of harflow.cli


def layer_of(module: str) -> str:
    """"harflow.trainer.task" -> "trainer"; the ground package's modules -> "ground"."""
    if module in ENV_MODULES or module.startswith("harflow.env."):
        return "env"
    if any(module == roof or module.startswith(roof + ".") for roof in ROOF_MODULES):
        return "roof"
    parts = module.split(".")
    if len(parts) > 1 and parts[1] in STAGE_PACKAGES:
        return parts[1]
    return "ground"


def package_folders(repo: Path) -> dict[str, Path]:
    """pyproject.toml's package-dir: "harflow.trainer" -> <repo>/trainer (and "harflow" -> <repo>/harflow)."""
    setuptools = tomllib.loads((repo / "pyproject.toml").read_text())["tool"]["setuptools"]
    return {package: repo / folder for package, folder in setuptools["package-dir"].items()}


def installed_modules(repo: Path) -> dict[str, Path]:
    """Every module of the installed package, by its installed name: "harflow.trainer.task" -> its file."""
    folders = package_folders(repo)
    modules = {}
    for package, folder in sorted(folders.items(), key=lambda item: len(item[0])):
        for path in sorted(folder.rglob("*.py")):
            relative = path.relative_to(folder).with_suffix("").parts
            if relative[-1] == "__init__":
                relative = relative[:-1]
            modules[".".join((package, *relative))] = path  # a nested package's own mapping comes later and wins
    return modules


def imported_names(path: Path, module: str, known: set[str]) -> set[str]:
    """Every module name `path` imports anywhere in it (inside functions too); relative imports resolved.

    `from package import name` counts as an import of package.name where that is one of the `known`
    modules, and of the package otherwise (then `name` is a function, class or constant of it).
    """
    tree = ast.parse(path.read_text(), filename=str(path))
    is_package = path.name == "__init__.py"
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")
                base = base[: len(base) - node.level + (1 if is_package else 0)]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            for alias in node.names:
                submodule = f"{source}.{alias.name}"
                names.add(submodule if submodule in known else source)
    return names


def import_graph(repo: Path) -> dict[str, set[str]]:
    """harflow module -> the harflow modules it imports (only names that are modules of the package)."""
    modules = installed_modules(repo)
    known = set(modules)
    return {
        module: {name for name in imported_names(path, module, known) if name in known and name != module}
        for module, path in modules.items()
    }


def layer_violations(graph: dict[str, set[str]]) -> list[str]:
    """One line per import that runs against MAY_IMPORT, or that imports the CLI from anywhere but __main__."""
    lines = []
    for module, targets in sorted(graph.items()):
        mine = layer_of(module)
        for target in sorted(targets):
            theirs = layer_of(target)
            if target.startswith("harflow.cli") and module != "harflow.__main__" and not module.startswith("harflow.cli"):
                lines.append(f"{module} imports {target}: nothing but harflow/__main__.py imports the CLI")
            elif theirs != mine and theirs not in MAY_IMPORT[mine]:
                lines.append(f"{module} ({mine}) imports {target} ({theirs})")
    return lines


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan's algorithm), each sorted."""
    index, low, on_stack, stack, cycles = {}, {}, set(), [], []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return cycles


def third_party_imports(path: Path) -> list[str]:
    """The top-level names `path` imports that are not in the standard library."""
    names = imported_names(path, "harflow.env", set())
    tops = {name.split(".")[0] for name in names if name}
    return sorted(top for top in tops if top not in sys.stdlib_module_names and top not in ("__future__", "harflow"))


def long_files(repo: Path) -> list[str]:
    """Every Python file of the package, tests and benchmarks over MAX_LINES lines: "path: N lines"."""
    folders = [*package_folders(repo).values(), repo / "tests", repo / "benchmarks"]
    paths = sorted({path for folder in folders if folder.is_dir() for path in folder.rglob("*.py")})
    counts = {path: len(path.read_text().splitlines()) for path in paths}
    return [f"{path.relative_to(repo)}: {count} lines" for path, count in counts.items() if count > MAX_LINES]


# --------------------------------------------------------------------------- the rule on this repository


def test_every_import_runs_down_the_layers():
    assert layer_violations(import_graph(REPO)) == []


def test_no_modules_import_each_other_in_a_cycle():
    assert import_cycles(import_graph(REPO)) == []


def test_the_environment_module_uses_the_standard_library_only():
    """harflow/env/ and harflow/child.py run on the host's own Python before any dependency exists:
    they import the standard library and each other only."""
    graph = import_graph(REPO)
    for path in [*sorted((REPO / "harflow" / "env").glob("*.py")), REPO / "harflow" / "child.py"]:
        assert third_party_imports(path) == [], path
    for module, targets in graph.items():
        if layer_of(module) == "env":
            assert all(layer_of(target) == "env" for target in targets), (module, targets)
    assert not set(graph["harflow.child"])


def test_no_source_file_is_over_500_lines():
    assert long_files(REPO) == []


def test_every_folder_of_the_package_is_checked():
    modules = installed_modules(REPO)
    for module in ("harflow.config", "harflow.cli", "harflow.trainer.task", "harflow.serving.web.app", "harflow.kubeflow.compile",
                   "harflow.components.video_example_gen.executor", "harflow.pipeline.pipeline"):
        assert module in modules, module


# --------------------------------------------------------------------------- the checker catches what it should


@pytest.fixture
def small_repo(tmp_path):
    """A repository with pyproject's package-dir and a few modules, for the checker's own tests."""
    (tmp_path / "pyproject.toml").write_text(
        '[tool.setuptools.package-dir]\n"harflow" = "harflow"\n"harflow.trainer" = "trainer"\n'
        '"harflow.pipeline" = "pipeline"\n"harflow.cli" = "cli"\n'
    )
    for folder in ("harflow", "trainer", "pipeline", "cli"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "__init__.py").write_text("")
    (tmp_path / "harflow" / "config.py").write_text("import json\n")
    (tmp_path / "pipeline" / "pipeline.py").write_text("from harflow.trainer import task\n")
    (tmp_path / "cli" / "__init__.py").write_text("from harflow.pipeline.pipeline import *\n")
    return tmp_path


def test_an_upward_import_inside_a_function_is_a_violation(small_repo):
    (small_repo / "trainer" / "task.py").write_text("def run():\n    from harflow.pipeline import pipeline\n")
    assert layer_violations(import_graph(small_repo)) == [
        "harflow.trainer.task (trainer) imports harflow.pipeline.pipeline (pipeline)"
    ]


def test_importing_the_cli_from_below_is_a_violation(small_repo):
    (small_repo / "harflow" / "config.py").write_text("from .cli import main\n")
    violations = layer_violations(import_graph(small_repo))
    assert violations == ["harflow.config imports harflow.cli: nothing but harflow/__main__.py imports the CLI"]


def test_two_modules_of_one_layer_importing_each_other_are_a_cycle(small_repo):
    (small_repo / "trainer" / "task.py").write_text("from harflow.trainer import data\n")
    (small_repo / "trainer" / "data.py").write_text("import harflow.trainer.task\n")
    assert layer_violations(import_graph(small_repo)) == []
    assert import_cycles(import_graph(small_repo)) == [["harflow.trainer.data", "harflow.trainer.task"]]


def test_a_long_file_is_named_with_its_length(small_repo):
    (small_repo / "trainer" / "task.py").write_text("x = 1\n" * (MAX_LINES + 1))
    assert long_files(small_repo) == [f"trainer/task.py: {MAX_LINES + 1} lines"]

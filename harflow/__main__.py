"""`python -m harflow ...`: the command line (harflow.cli), installed or from a clone.

Installed (pip install, or a clone's editable install inside harflow's environment), `harflow.cli`
is importable. In a clone run by bin/harflow or make on the host's own Python, only the ground
package `harflow/` is on the path; the command line then comes from the clone's cli/ folder (what
pyproject.toml's package-dir installs as harflow.cli), so parsing, --help and --version run on the
host, and harflow.cli.main decides where the command runs.
"""

import importlib.util
import sys


def command_line():
    """The module harflow.cli: installed, or the clone's cli/ folder under that name."""
    try:
        import harflow.cli as cli
    except ModuleNotFoundError as error:
        from harflow import env

        if error.name != "harflow.cli" or not env.source_checkout():
            raise
        folder = env.REPO_ROOT / "cli"
        spec = importlib.util.spec_from_file_location("harflow.cli", folder / "__init__.py", submodule_search_locations=[str(folder)])
        cli = importlib.util.module_from_spec(spec)
        sys.modules["harflow.cli"] = cli
        spec.loader.exec_module(cli)
    return cli


def main() -> int:
    return command_line().main(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())

"""`python -m harflow ...`: the command line.

Installed (pip install), `harflow.cli` is importable and runs the command. In a clone run by
bin/harflow or make on the host's own Python, only the ground package `harflow/` is on the path
(the stages live in the top-level folders, installed as harflow.* by pyproject.toml's package-dir):
then `harflow env ...` is answered here and every other command runs inside harflow's environment,
which installs the clone (editable) and so has all of harflow.
"""

import sys


def main() -> int:
    argv = sys.argv[1:]
    verbose = argv[:1] in (["-v"], ["--verbose"])
    if verbose:
        import os

        os.environ["HARFLOW_DEBUG"] = "1"  # every log line (harflow.env_quiet); the command line parses -v too
    if argv[verbose:][:1] == ["env"]:
        from harflow import env

        return env.main(argv[verbose + 1 :])
    try:
        from harflow.cli import main as cli_main
    except ModuleNotFoundError as error:
        from harflow import env

        if not (error.name or "").startswith("harflow.cli") or env.inside():
            raise

        return env.main(["run", "--", "python", "-m", "harflow", *argv])
    return cli_main(argv)


if __name__ == "__main__":
    sys.exit(main())

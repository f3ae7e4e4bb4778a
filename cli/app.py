"""The parser of every command, and main(): where a command runs, and how its errors read.

Parsing uses the standard library only, so `harflow --help` and `--version` are instant on any
Python. A command then runs in this interpreter when it can (TFX importable here, or harflow's
environment started it, or the command needs no TFX); from a clone on a host whose glibc is too
old, in harflow's environment (harflow.env); installed elsewhere, it says in one line what to do.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys

from harflow import __version__, env
from harflow.env import quiet
from harflow.redact import redact
from harflow.cli import data, kubeflow, pipeline, predict, runs, serve
from harflow.cli.options import EXIT_STATUS, UsageError, add_command


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="harflow",
        description="Train, gate, push and use video action classifiers with a TFX pipeline.",
        epilog="The first command that needs TFX builds harflow's environment when harflow runs from a clone "
        f"(see `harflow env --help`). {EXIT_STATUS}",
    )
    parser.add_argument("--version", action="version", version=f"harflow {__version__}")
    parser.add_argument(
        "-v", "--verbose", action="store_true",
        help="show TensorFlow's, absl's and FFmpeg's own log lines (hidden by default) and full tracebacks; "
        "the same as HARFLOW_DEBUG=1",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for group in (pipeline, data, predict, serve, runs, kubeflow):
        group.add_commands(commands)
    environment = add_command(commands, "env", run_env, "show, build or use harflow's environment")
    environment.add_argument("verb", choices=["status", "build", "clean", "run"])
    environment.add_argument("argv", nargs=argparse.REMAINDER, metavar="-- CMD", help="with run: the command")
    return parser


def run_env(args: argparse.Namespace) -> int:
    """harflow runs inside a virtual environment; on hosts with glibc < 2.39 (which TFX 1.21's wheels need)
    that venv lives in a Debian 13 root file system, entered with unshare + chroot. `status` describes it,
    `build` builds it, `run -- CMD` runs CMD inside it, `clean` removes it (the way to: refused while in use)."""
    if args.verb == "clean":
        from harflow.env.clean import clean

        try:
            print(clean(env.layout()))
        except env.EnvironmentError_ as error:
            print(f"harflow env: error: {error}", file=sys.stderr)
            return 2
        return 0
    return env.main([args.verb, *args.argv])


def needs_tfx(args: argparse.Namespace) -> bool:
    """Whether the command needs what only TFX's interpreter has. `env` and `data stats` need nothing;
    `data download` needs harflow's environment only in a clone whose environment alone has a RAR
    extractor (bsdtar, installed in its root file system); `data audit` decodes clips, as a run does."""
    if args.command == "env":
        return False
    if args.command == "data":  # audit decodes clips: OpenCV and NumPy are in the environment, as TFX is
        return args.verb == "audit" or (args.verb == "download" and data.download_needs_environment())
    return True


def runs_here(args: argparse.Namespace) -> bool:
    return env.inside() or not needs_tfx(args) or importlib.util.find_spec("tfx") is not None


def run_elsewhere(argv: list[str]) -> int:
    """From a clone: the command again, inside harflow's environment. Installed: one line saying what to do."""
    if not env.source_checkout():
        glibc = ".".join(map(str, env.host_glibc()))
        print(
            f"harflow: error: TFX is not importable in {sys.executable}; pip install harflow into a Python whose "
            f"glibc is >= 2.39 (this host has {glibc}), or run bin/harflow from a clone of harflow, which builds "
            "its own environment",
            file=sys.stderr,
        )
        return 2
    try:
        return env.run(["python", "-m", "harflow", *argv])
    except env.EnvironmentError_ as error:
        print(f"harflow: error: {error}", file=sys.stderr)
        return 2


def quiet_libraries() -> None:
    """Unless -v / HARFLOW_DEBUG=1: TensorFlow's and OpenCV's variables before they load
    (harflow.env.quiet), and the Python loggers of absl (TFX), TensorFlow and Beam at errors only
    (`WARNING:absl:ArtifactQuery.property_predicate is not supported.`, deprecation notices)."""
    if quiet.verbose():
        return
    quiet.quiet_this_process()
    import logging

    try:
        import absl.logging  # noqa: F401  (absl makes its logger of its own class: before the level is set)
    except ImportError:  # a command that needs no TFX, on a Python without it
        pass
    for name in ("absl", "tensorflow", "apache_beam"):
        logger = logging.getLogger(name)
        logger.setLevel(logging.ERROR)
        if _errors_only not in logger.filters:  # absl's --verbosity flag resets the level when a library parses flags
            logger.addFilter(_errors_only)


def _errors_only(record) -> bool:
    return record.levelno >= 40  # logging.ERROR


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    if args.verbose:
        os.environ["HARFLOW_DEBUG"] = "1"  # harflow.env.quiet reads it, here and in the environment
    if not runs_here(args):
        return run_elsewhere(argv)
    quiet_libraries()
    try:
        return args.func(args)
    except (UsageError, FileNotFoundError, FileExistsError, ValueError) as error:
        if os.environ.get("HARFLOW_DEBUG") == "1":
            raise
        print(f"harflow: error: {redact(error)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("harflow: interrupted", file=sys.stderr)
        return 130

"""The command line's structure: one default per option (the config dataclass's), --version, where a
command runs (this interpreter, harflow's environment, or one line saying what to do), the progress display."""

import argparse
import io
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import harflow
from harflow import env
from harflow.cli import build_parser, main
from harflow.config import (
    CompareConfig,
    GateConfig,
    IngestConfig,
    KubeflowConfig,
    PipelineConfig,
    ServingConfig,
    SynthConfig,
    TrainConfig,
    WebConfig,
)

PIPELINE = (PipelineConfig, IngestConfig, TrainConfig, GateConfig, CompareConfig)
# the configs each command's options fill; every command is listed, so a new one must say which
CONFIGS = {
    "demo": (*PIPELINE, SynthConfig),
    "run": PIPELINE,
    "synth": (SynthConfig,),
    "data download": (),
    "data stats": (),
    "data audit": (IngestConfig,),
    "predict": (ServingConfig, WebConfig),
    "serve": (ServingConfig, WebConfig),
    "runs": (PipelineConfig,),
    "compare": (PipelineConfig, IngestConfig),
    "kubeflow compile": (*PIPELINE, KubeflowConfig),
    "kubeflow submit": (*PIPELINE, KubeflowConfig),
    "env": (),
}
# options that must be given where they are used, so they have no default (None)
GIVEN = {("kubeflow submit", "work_dir"), ("kubeflow submit", "dataset_root"), ("compare", "dataset_root")}
REPO = Path(__file__).resolve().parent.parent


def commands(parser: argparse.ArgumentParser, prefix: str = ""):
    """(command name, its parser) for every leaf command, e.g. ("kubeflow compile", parser)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from commands(sub, f"{prefix} {name}".strip())
            return
    yield prefix, parser


def test_every_option_named_like_a_config_field_has_that_fields_default():
    checked = 0
    found = dict(commands(build_parser()))
    assert set(found) == set(CONFIGS)
    for command, parser in found.items():
        for action in parser._actions:
            if action.required or action.default is argparse.SUPPRESS:
                continue
            for config in CONFIGS[command]:
                if action.dest not in {f.name for f in config.__dataclass_fields__.values()}:
                    continue
                default = tuple(action.default) if isinstance(action.default, list) else action.default
                if default is None and (command, action.dest) in GIVEN:
                    continue
                assert default == getattr(config(), action.dest), f"harflow {command} {action.option_strings}: {config.__name__}.{action.dest}"
                checked += 1
    assert checked > 100


def test_a_run_without_options_is_the_default_pipeline_config():
    from harflow.cli.options import pipeline_config

    config = pipeline_config(build_parser().parse_args(["run", "--data", "d"]), dataset_root="d")
    assert config == PipelineConfig(ingest=IngestConfig(dataset_root="d"))
    demo = pipeline_config(build_parser().parse_args(["demo"]), dataset_root="d")
    assert demo == config


def test_demo_makes_the_dataset_the_readme_describes():
    args = build_parser().parse_args(["demo"])
    assert (args.clips_per_class_train, args.clips_per_class_test) == (64, 16) == (SynthConfig().clips_per_class_train, SynthConfig().clips_per_class_test)


def test_the_model_version_option_reaches_the_serving_config():
    from harflow.cli.options import config_from

    args = build_parser().parse_args(["predict", "clip.avi", "--model-version", "2", "--timeout", "4", "--top", "3"])
    assert config_from(ServingConfig, args) == ServingConfig(version=2, timeout_s=4.0)
    assert config_from(WebConfig, args).top_k == 3


def test_version_prints_harflows_version(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0 and capsys.readouterr().out == f"harflow {harflow.__version__}\n" == "harflow 0.1.0\n"


@pytest.mark.parametrize("argv", [["--help"], ["--version"], ["run", "--help"], ["predict", "--help"], ["kubeflow", "submit", "--help"]])
def test_help_and_version_import_neither_tensorflow_nor_tfx(argv):
    script = (
        "import sys\nfrom harflow.cli import main\ntry:\n    main(sys.argv[1:])\nexcept SystemExit:\n    pass\n"
        "heavy = sorted({m.split('.')[0] for m in sys.modules} & {'tensorflow', 'tfx', 'apache_beam', 'numpy', 'cv2'})\n"
        "print('heavy:', heavy, file=sys.stderr)"
    )
    result = subprocess.run([sys.executable, "-c", script, *argv], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and result.stderr.strip().splitlines()[-1] == "heavy: []"


def without_tfx(pythonpath: Path, *argv: str) -> subprocess.CompletedProcess:
    """`python -S -m harflow ARGV`: a Python without site-packages (so without TFX), harflow from `pythonpath`."""
    variables = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(pythonpath), "HOME": str(pythonpath)}
    return subprocess.run([sys.executable, "-S", "-m", "harflow", *argv], capture_output=True, text=True, timeout=120, env=variables, cwd=pythonpath)


def test_a_clone_answers_help_and_version_on_a_python_without_tfx():
    assert without_tfx(REPO, "--version").stdout == "harflow 0.1.0\n"
    result = without_tfx(REPO, "predict", "--help")
    assert result.returncode == 0 and "--model-version N" in result.stdout


def test_installed_without_tfx_a_command_that_needs_it_is_one_line_with_the_fix(tmp_path):
    shutil.copytree(REPO / "harflow", tmp_path / "harflow", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(REPO / "cli", tmp_path / "harflow" / "cli", ignore=shutil.ignore_patterns("__pycache__"))
    assert without_tfx(tmp_path, "--version").stdout == "harflow 0.1.0\n"
    result = without_tfx(tmp_path, "runs")
    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(f"harflow: error: TFX is not importable in {sys.executable}; pip install harflow into a Python whose glibc is >= 2.39")
    assert "or run bin/harflow from a clone" in line


def test_from_a_clone_without_tfx_a_command_runs_in_harflows_environment(monkeypatch):
    from harflow.cli import app

    ran = []
    monkeypatch.setattr(env, "inside", lambda: False)
    monkeypatch.setattr(app.importlib.util, "find_spec", lambda name: None)
    monkeypatch.setattr(env, "source_checkout", lambda: True)
    monkeypatch.setattr(env, "run", lambda argv: ran.append(argv) or 7)
    assert main(["runs", "--name", "x"]) == 7 and ran == [["python", "-m", "harflow", "runs", "--name", "x"]]
    assert main(["data", "stats", "/nonexistent"]) == 2 and len(ran) == 1  # needs no TFX: answered here


def test_rescore_takes_one_run(capsys):
    assert main(["compare", "a", "b", "--rescore", "out"]) == 2
    assert capsys.readouterr().err.strip() == "harflow: error: --rescore scores one run's models again: give one RUN, not 2"


def test_compare_finds_a_comparison_folder_or_says_what_a_run_lacks(tmp_path):
    from harflow.pipeline.comparisons import comparison_folder

    (tmp_path / "comparison.md").write_text("| variant |")
    assert comparison_folder(str(tmp_path), "harflow") == str(tmp_path)
    with pytest.raises(FileNotFoundError, match="neither a comparison folder"):
        comparison_folder(str(tmp_path / "work"), "harflow")


# --------------------------------------------------------------------------- progress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_off_a_terminal_is_a_line_per_tenth(monkeypatch):
    from harflow.cli.progress import progress

    monkeypatch.setattr(sys, "stderr", io.StringIO())
    report = progress("synth")
    for done in range(1, 41):
        report(done, 40)
    lines = sys.stderr.getvalue().splitlines()
    assert lines[0] == "synth: 1/40" and lines[-1] == "synth: 40/40" and len(lines) == 11


def test_progress_on_a_terminal_is_a_tqdm_bar(monkeypatch):
    from harflow.cli.progress import progress

    monkeypatch.setattr(sys, "stderr", Terminal())
    report = progress("predict")
    report(1, 2, "a.avi")
    report(2, 2, "b.avi")
    assert "predict: 100%" in sys.stderr.getvalue() and "2/2" in sys.stderr.getvalue()


def test_progress_without_tqdm_falls_back_to_lines(monkeypatch):
    from harflow.cli.progress import progress

    monkeypatch.setattr(sys, "stderr", Terminal())
    monkeypatch.setitem(sys.modules, "tqdm", None)  # import tqdm -> ModuleNotFoundError
    report = progress("annotate")
    report(3, 3)
    assert sys.stderr.getvalue() == "annotate: 3/3\n"


def test_ingest_beam_args_reach_video_example_gen_only():
    """`harflow run --ingest-beam-arg=...` (issue 16): ingestion on another runner, the other Beam steps left as they are."""
    from harflow.cli.options import pipeline_config
    from harflow.pipeline.pipeline import create_pipeline

    dask = "--runner=apache_beam.runners.dask.dask_runner.DaskRunner"
    args = build_parser().parse_args(["run", "--data", "d", f"--ingest-beam-arg={dask}", "--ingest-beam-arg=--dask_client_address=127.0.0.1:8786"])
    config = pipeline_config(args, dataset_root="d")
    assert config.ingest_beam_args == (dask, "--dask_client_address=127.0.0.1:8786")
    assert PipelineConfig.from_json(config.to_json()).ingest_beam_args == config.ingest_beam_args
    assert pipeline_config(build_parser().parse_args(["run", "--data", "d"]), dataset_root="d").ingest_beam_args == ()

    components = {c.id: c for c in create_pipeline(config).components}
    assert dask in components["VideoExampleGen"].executor_spec.beam_pipeline_args
    others = [c for name, c in components.items() if name != "VideoExampleGen" and hasattr(c.executor_spec, "beam_pipeline_args")]
    assert others and all(dask not in c.executor_spec.beam_pipeline_args for c in others)


@pytest.mark.parametrize("command", [["run", "--data", "d"], ["demo"], ["kubeflow", "compile", "--work-dir", "gs://b/w", "--data", "gs://b/d"]])
def test_prune_grace_and_keep_versions_reach_the_pushers_exec_properties(command):
    """`--prune-grace` (issue 17, point 6): from the command line into the built pipeline's Pusher."""
    import json

    from harflow.cli.options import pipeline_config
    from harflow.components.pusher.executor import GATE_KEY, KEEP_VERSIONS_KEY
    from harflow.pipeline.pipeline import create_pipeline

    args = build_parser().parse_args([*command, "--prune-grace", "2.5", "--keep-versions", "1"])
    config = pipeline_config(args, dataset_root="d")
    assert (config.gate.prune_grace_s, config.gate.keep_versions) == (2.5, 1)
    pusher = {c.id: c for c in create_pipeline(config).components}["Pusher"]
    custom = json.loads(pusher.exec_properties["custom_config"])
    assert custom[KEEP_VERSIONS_KEY] == 1 and json.loads(custom[GATE_KEY])["prune_grace_s"] == 2.5
    default = pipeline_config(build_parser().parse_args(command), dataset_root="d")
    assert default.gate.prune_grace_s == GateConfig().prune_grace_s == 60.0


def test_a_negative_prune_grace_is_a_usage_error(capsys):
    assert main(["run", "--data", "d", "--prune-grace", "-1"]) == 2
    assert "prune_grace_s must be >= 0, not -1.0" in capsys.readouterr().err

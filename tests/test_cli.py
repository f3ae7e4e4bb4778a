"""The harflow command line: help for every command, one-line errors for bad paths."""

import subprocess
import sys

import pytest

from harflow.cli import build_parser

COMMANDS = ["demo", "run", "synth", "data", "predict", "serve", "runs", "compare", "kubeflow", "env"]


def harflow(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "harflow", *args], capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_explains_itself(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args([command, "--help"])
    assert exit_info.value.code == 0
    assert f"usage: harflow {command}" in capsys.readouterr().out


def test_a_missing_video_is_a_one_line_error_naming_it(tmp_path):
    missing = tmp_path / "no such clip.avi"
    result = harflow("predict", str(missing), "--model", str(tmp_path))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [f"harflow: error: {missing}: no such file"]


def test_a_missing_model_is_a_one_line_error_naming_it(tmp_path):
    clip = tmp_path / "clip.avi"
    clip.write_bytes(b"not a video")
    result = harflow("predict", str(clip), "--model", str(tmp_path / "models"))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and str(tmp_path / "models") in lines[0] and "Traceback" not in result.stderr


def test_a_missing_dataset_is_a_one_line_error_naming_it(tmp_path):
    result = harflow("run", "--data", str(tmp_path / "ucf101"), "--work-dir", str(tmp_path / "work"))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"harflow: error: {tmp_path / 'ucf101'}: no such dataset folder (make one with `harflow synth {tmp_path / 'ucf101'}`)"
    ]


def test_a_dataset_without_class_index_is_a_one_line_error_naming_the_file(tmp_path):
    (tmp_path / "data").mkdir()
    result = harflow("run", "--data", str(tmp_path / "data"), "--work-dir", str(tmp_path / "work"))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and str(tmp_path / "data" / "classInd.txt") in lines[0] and "not found" in lines[0]
    assert not (tmp_path / "work").exists()  # refused before the pipeline started


def test_a_missing_split_list_is_a_one_line_error_naming_the_file(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "classInd.txt").write_text("1 Walk\r\n")
    (data / "trainlist02.txt").write_text("Walk/v_Walk_g08_c01.avi 1\r\n")
    result = harflow("run", "--data", str(data), "--split", "2", "--work-dir", str(tmp_path / "work"))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"harflow: error: {data / 'testlist02.txt'}: split file not found "
        "(a UCF101-layout dataset needs classInd.txt and its split lists)"
    ]


def test_variants_and_training_options_reach_the_config_and_survive_json():
    from harflow.cli.options import pipeline_config
    from harflow.config import PipelineConfig

    args = build_parser().parse_args(
        ["run", "--data", "d", "--variants", "small+gru, mobilenet+lstm", "--alpha", "0.75", "--trainable-layers", "0",
         "--augment", "crop,zoom", "--class-weights", "--bidirectional", "--weights-dir", "w"]
    )
    config = pipeline_config(args, dataset_root="d")
    assert config.train.variants == ("small+gru", "mobilenet+lstm")
    assert [t.variant for t in config.train.variant_configs()] == ["small+gru", "mobilenet+lstm"]
    assert config.train.augment == ("crop", "zoom") and config.train.class_weights and config.train.bidirectional
    assert PipelineConfig.from_json(config.to_json()) == config


def test_a_misspelt_variant_is_a_one_line_error(tmp_path):
    result = harflow("run", "--data", str(tmp_path), "--variants", "small+gru,mobilenet+rnn", "--work-dir", str(tmp_path / "w"))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "mobilenet+rnn" in lines[0] and "BACKBONE+HEAD" in lines[0]


def test_a_bad_demo_option_is_a_one_line_error_before_any_clip_is_made(tmp_path):
    result = harflow("demo", "--train-segments", "0", "--work-dir", str(tmp_path / "work"))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == "harflow: error: train_segments must be >= 1, not 0"
    assert not (tmp_path / "work" / "data").exists()


def test_compare_without_a_run_is_a_one_line_error(tmp_path):
    result = harflow("compare", str(tmp_path))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and str(tmp_path) in lines[0] and "comparison" in lines[0]

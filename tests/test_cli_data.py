"""The ingestion side of the command line: `harflow data`, the dataset options of `harflow run`, one-line errors."""

import subprocess
import sys

import pytest

from harflow.cli import build_parser
from harflow.cli.options import pipeline_config


def harflow(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "harflow", *args], capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("argv", [["data"], ["data", "download"], ["data", "stats"]])
def test_data_commands_explain_themselves(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args([*argv, "--help"])
    assert exit_info.value.code == 0
    assert f"usage: harflow {' '.join(argv)}" in capsys.readouterr().out


def test_run_options_reach_the_ingest_config_and_beam():
    args = build_parser().parse_args(
        ["run", "--data", "d", "--dataset", "folder", "--groups", "g.csv", "--random-split", "--test-fraction", "0.3",
         "--color", "gray", "--jpeg-quality", "75", "--workers", "3", "--beam-arg=--runner=FlinkRunner",
         "--beam-arg=--flink_master=localhost:8081"]
    )
    config = pipeline_config(args, dataset_root="d")
    ingest = config.ingest
    assert (ingest.dataset, ingest.groups, ingest.random_split, ingest.test_fraction) == ("folder", "g.csv", True, 0.3)
    assert (ingest.color, ingest.jpeg_quality) == ("gray", 75)
    assert config.beam_args[-2:] == ("--runner=FlinkRunner", "--flink_master=localhost:8081")
    assert "--direct_num_workers=3" in config.beam_args


def test_a_folder_dataset_without_groups_is_a_one_line_error_with_the_fix(tmp_path):
    for cls in ("jump", "wave"):
        (tmp_path / "data" / cls).mkdir(parents=True)
        (tmp_path / "data" / cls / "clip1.mp4").write_bytes(b"")
    result = harflow("run", "--data", str(tmp_path / "data"), "--work-dir", str(tmp_path / "work"))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "has no group" in lines[0] and "--random-split" in lines[0]
    assert not (tmp_path / "work").exists()


def test_a_split_without_some_class_is_refused_before_the_pipeline_starts(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "classInd.txt").write_text("1 Walk\r\n2 Run\r\n")
    (data / "trainlist01.txt").write_text("Walk/v_Walk_g08_c01.avi 1\r\nRun/v_Run_g08_c01.avi 2\r\n")
    (data / "testlist01.txt").write_text("Walk/v_Walk_g01_c01.avi\r\n")
    result = harflow("run", "--data", str(data), "--work-dir", str(tmp_path / "work"), "--dataset", "ucf101")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"harflow: error: {data}: split eval has no clips of Run (add clips, change the split, or pass --allow-missing-classes)"
    ]


def test_stats_without_a_run_is_a_one_line_error(tmp_path):
    result = harflow("data", "stats", str(tmp_path))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"harflow: error: {tmp_path}: no statistics.md here or under */VideoExampleGen/examples/ (run the pipeline first)"
    ]


def test_download_of_a_missing_archive_is_a_one_line_error(tmp_path):
    result = harflow("data", "download", "ucf101", str(tmp_path / "ucf101"), "--archive", str(tmp_path / "UCF101.rar"))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [f"harflow: error: {tmp_path / 'UCF101.rar'}: no such archive"]

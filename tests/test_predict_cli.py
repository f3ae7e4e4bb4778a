"""`harflow predict` on folders, as a table, --json, --csv, --annotate and --stream.

Most tests call harflow.cli.main in this process (the same code the command
runs, without a second TensorFlow start-up); one runs the real command as a
separate process. There is no webcam here: --stream reads a video file, which
OpenCV opens the same way as a stream URL.
"""

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import cv2
import pytest
from web_fixtures import claim_frames, export_untrained_model, frame_count, write_clip

from harflow.cli import main
from harflow.serving.predictor import open_predictor, predict_file


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    root = tmp_path_factory.mktemp("predict-model")
    return export_untrained_model(root / "harflow" / "1", seed=3).parent


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("predict-clips")
    write_clip(root / "a.avi", seed=1)
    write_clip(root / "nested" / "b clip.mp4", seed=2)
    (root / "notes.txt").write_text("not a clip")
    return root


def predict(capsys, *args):
    code = main(["predict", *map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


def test_a_folder_gives_a_table_row_per_clip_inside_it(capsys, model, folder):
    code, out, _ = predict(capsys, folder, "--model", model)
    assert code == 0
    rows = [line for line in out.splitlines() if line.startswith(str(folder))]
    assert [row.split("  ")[0] for row in rows] == [str(folder / "a.avi"), str(folder / "nested" / "b clip.mp4")]


def test_json_gives_each_clips_top_classes_as_the_model_ranks_them(capsys, model, folder):
    code, out, _ = predict(capsys, folder / "a.avi", "--model", model, "--json", "--top", "3")
    answer = json.loads(out)
    expected = predict_file(open_predictor(model=model), folder / "a.avi", top=3)
    assert code == 0 and len(answer) == 1
    assert [(e["class"], round(e["probability"], 4)) for e in answer[0]["top"]] == [(n, round(p, 4)) for n, p in expected]


def test_csv_has_a_header_and_one_row_per_clip(capsys, model, folder):
    code, out, _ = predict(capsys, folder, "--model", model, "--csv", "--top", "2")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert code == 0 and [row["file"] for row in rows] == [str(folder / "a.avi"), str(folder / "nested" / "b clip.mp4")]
    assert all(row["class_1"] and 0 <= float(row["probability_1"]) <= 1 and row["error"] == "" for row in rows)


def test_several_clips_show_progress_on_stderr(capsys, model, folder):
    _, _, err = predict(capsys, folder, "--model", model, "--csv")
    assert "predict: 2/2" in err


def test_a_bad_clip_among_good_ones_is_reported_and_the_rest_answered(capsys, model, folder, tmp_path):
    bad = tmp_path / "broken.avi"
    bad.write_bytes(b"\x00" * 100)
    code, out, err = predict(capsys, folder / "a.avi", bad, "--model", model, "--json")
    answer = json.loads(out)
    assert code == 1 and "top" in answer[0] and answer[1]["file"] == str(bad) and "error" in answer[1]
    assert f"harflow: {bad}: " in err


def test_a_folder_without_videos_is_a_one_line_error(capsys, model, tmp_path):
    (tmp_path / "readme.txt").write_text("x")
    code, _, err = predict(capsys, tmp_path, "--model", model)
    assert code == 2 and err.startswith(f"harflow: error: {tmp_path}: no video files inside")


def test_a_folder_is_searched_for_exactly_the_suffixes_the_folder_reader_and_web_app_take(capsys, model, tmp_path):
    from harflow.video import VIDEO_SUFFIXES

    for suffix in VIDEO_SUFFIXES:
        (tmp_path / f"clip{suffix}").write_bytes(b"not a video")  # each answered with an error, but found
    (tmp_path / "notes.txt").write_text("x")
    code, out, _ = predict(capsys, tmp_path, "--model", model, "--json")
    assert code == 1 and sorted(Path(row["file"]).suffix for row in json.loads(out)) == sorted(VIDEO_SUFFIXES)


def test_annotate_writes_a_playable_video_with_as_many_frames_as_the_input(capsys, model, tmp_path):
    clip = write_clip(tmp_path / "in.avi", seed=4, frames=40)
    out = tmp_path / "out" / "annotated.mp4"
    code, stdout, _ = predict(capsys, clip, "--model", model, "--annotate", out)
    assert code == 0 and f"wrote {out}: 40 frames" in stdout
    capture = cv2.VideoCapture(str(out))
    assert capture.isOpened() and capture.get(cv2.CAP_PROP_FPS) == 25.0  # the input's rate
    capture.release()
    assert frame_count(out) == frame_count(clip) == 40


def test_annotate_draws_on_the_frames(capsys, model, tmp_path):
    clip = write_clip(tmp_path / "in.avi", seed=4, frames=10)
    out = tmp_path / "annotated.avi"
    predict(capsys, clip, "--model", model, "--annotate", out)
    original, annotated = (cv2.VideoCapture(str(p)).read()[1] for p in (clip, out))
    assert original.shape == annotated.shape
    assert abs(original[:8].astype(int) - annotated[:8].astype(int)).mean() > 10  # the label band


def test_annotate_refuses_a_format_it_cannot_write(capsys, model, folder, tmp_path):
    code, _, err = predict(capsys, folder / "a.avi", "--model", model, "--annotate", tmp_path / "out.gif")
    assert code == 2 and "--annotate writes .avi, .mp4, .webm files" in err


def test_stream_prints_a_prediction_every_step_on_a_rolling_window(capsys, model, tmp_path):
    clip = write_clip(tmp_path / "stream.avi", seed=6, frames=50)  # 2 s at 25 fps
    code, out, _ = predict(capsys, "--stream", clip, "--model", model, "--step-seconds", "0.4", "--window-seconds", "1")
    lines = [line.split() for line in out.splitlines()[1:]]
    assert code == 0
    # a prediction on frames 1, 11, 21, 31, 41 (every 10 frames), stamped with the seconds seen
    assert [float(line[0]) for line in lines] == [0.04, 0.44, 0.84, 1.24, 1.64]
    assert all(line[2] in open_predictor(model=model).classes for line in lines)


def test_a_stream_that_cannot_be_opened_is_a_one_line_error(capsys, model, tmp_path):
    code, _, err = predict(capsys, "--stream", tmp_path / "nothing-here.avi", "--model", model)
    assert code == 2 and "cannot be opened as a video" in err


def test_predict_as_a_separate_process_prints_csv(model, folder):
    result = subprocess.run(
        [sys.executable, "-m", "harflow", "predict", str(folder), "--model", str(model), "--csv"],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0].startswith("file,class_1,probability_1") and len(result.stdout.splitlines()) == 3


@pytest.mark.parametrize("command", ["predict", "serve"])
def test_predict_and_serve_explain_themselves(capsys, command):
    from harflow.cli import build_parser

    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args([command, "--help"])
    assert exit_info.value.code == 0 and f"usage: harflow {command}" in capsys.readouterr().out


def test_predict_without_clips_or_a_stream_says_what_to_give(capsys):
    code, _, err = predict(capsys)
    assert code == 2 and err.strip() == "harflow: error: give VIDEO files or folders, --webcam [N] or --stream URL (see harflow predict --help)"



# --------------------------------------------------------------------------- one exit-status rule (issue 17, point 9)


@pytest.mark.parametrize("output", [[], ["--json"], ["--csv"]])
def test_a_refused_video_given_alone_exits_2(capsys, model, tmp_path, output):
    bad = tmp_path / "broken.avi"
    bad.write_bytes(b"\x00" * 100)
    code, _, err = predict(capsys, bad, "--model", model, *output)
    assert code == 2 and str(bad) in err and "harflow: " in err


def test_a_folder_with_one_bad_clip_among_good_ones_exits_1(capsys, model, folder, tmp_path):
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    for clip in ("a.avi", "nested/b clip.mp4"):
        (mixed / Path(clip).name).write_bytes((folder / clip).read_bytes())
    (mixed / "broken.avi").write_bytes(b"\x00" * 100)
    code, out, _ = predict(capsys, mixed, "--model", model, "--json")
    assert code == 1 and sum("error" in row for row in json.loads(out)) == 1


@pytest.mark.parametrize("argv", [["--help"], ["predict", "--help"], ["data", "download", "--help"]])
def test_help_states_the_exit_status_rule(capsys, argv):
    with pytest.raises(SystemExit):
        main(argv)
    text = " ".join(capsys.readouterr().out.split())
    assert "Exit status: 0 ok; 1 the command ran but some inputs failed" in text and "2 a usage or input error" in text


def test_predict_reports_the_decoded_duration_when_the_avi_header_claims_ten_million_frames(capsys, model, tmp_path):
    """Issue 17, point 7, from the command line: 30 frames at 25 fps whose avih/strh say 10,000,000."""
    liar = claim_frames(write_clip(tmp_path / "liar.avi", seed=6, frames=30), 10_000_000)
    code, out, _ = predict(capsys, liar, "--model", model, "--json")
    [row] = json.loads(out)
    assert code == 0 and row["duration_s"] == 1.2 and row["truncated"] is False


def test_predict_past_the_cap_reports_a_lower_bound_not_the_lying_headers_length(capsys, model, tmp_path):
    """The same liar with --max-clip-seconds 0.4: 11 frames counted, then reading stops; the header's 400,000 s are labelled."""
    liar = claim_frames(write_clip(tmp_path / "liar.avi", seed=6, frames=30), 10_000_000)
    code, out, _ = predict(capsys, liar, "--model", model, "--json", "--max-clip-seconds", "0.4")
    [row] = json.loads(out)
    assert code == 0 and row["truncated"] is True and row["analysed_s"] == 0.4
    assert row["duration_s"] == 0.44 and row["duration_complete"] is False and row["header_duration_s"] == 400_000.0
    code, out, _ = predict(capsys, liar, "--model", model, "--csv", "--max-clip-seconds", "0.4")
    [line] = csv.DictReader(io.StringIO(out))
    assert code == 0 and (line["duration_s"], line["duration_complete"], line["error"]) == ("0.44", "false", "")

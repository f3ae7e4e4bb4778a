"""harflow.env.quiet: TensorFlow's, absl's and FFmpeg's lines stay off the user's terminal unless -v asks."""

import os
import sys

import pytest

from harflow import env
from harflow.env import quiet as env_quiet

ABSL_LINES = [
    b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n",
    b"I0000 00:00:1795981641.586674   31098 port.cc:153] oneDNN custom operations are on.\n",
    b"I0000 00:00:1795981641.586948   31098 cudart_stub.cc:31] Could not find cuda drivers on your machine, GPU will not be used.\n",
    b"E0000 00:00:1795981650.317188   31098 cuda_platform.cc:52] failed call to cuInit: INTERNAL: CUDA error\n",
    b"W1129 19:55:57.123456   31098 gpu_device.cc:2345] Cannot dlopen some GPU libraries.\n",
    b"[mov,mp4,m4a,3gp,3g2,mj2 @ 0x43f72ac0] moov atom not found\n",
]
KEPT_LINES = [
    b"harflow: error: /tmp/x.mp4: cannot be opened as a video (is it a video file?)\n",
    b"F0000 00:00:1795981650.317188   31098 cuda_dnn.cc:52] Check failed: fatal lines always reach the user\n",
    b"Epoch 1/3\n",
    b"[harflow] a bracketed line that is not FFmpeg's\n",
]


def test_log_lines_are_noise_and_harflows_lines_are_not():
    assert all(env_quiet.is_noise(line) for line in ABSL_LINES)
    assert not any(env_quiet.is_noise(line) for line in KEPT_LINES)


def test_progress_passes_at_once_and_a_maybe_log_line_waits_for_its_end():
    kept, held = env_quiet.split_noise(b"synth: 3/24\rsynth: 4/24")
    assert (kept, held) == (b"synth: 3/24\rsynth: 4/24", b"")
    kept, held = env_quiet.split_noise(ABSL_LINES[1] + b"Epoch 1/3\n" + b"I0000 00:00:17959")
    assert (kept, held) == (b"Epoch 1/3\n", b"I0000 00:00:17959")
    kept, held = env_quiet.split_noise(held + ABSL_LINES[1][len(held) :])
    assert (kept, held) == (b"", b"")


def test_a_commands_stderr_reaches_us_without_the_noise(tmp_path):
    lines = [*ABSL_LINES, *KEPT_LINES]
    script = "import os\n" + "".join(f"os.write(2, {line!r})\n" for line in lines)
    sink = tmp_path / "stderr"
    with open(sink, "wb") as handle:
        code = env_quiet.call_filtered([sys.executable, "-c", script + "raise SystemExit(3)"], dict(os.environ), handle.fileno())
    assert code == 3
    assert sink.read_bytes() == b"".join(KEPT_LINES)


def test_quiet_variables_yield_to_the_users_and_to_verbose():
    assert env_quiet.quiet_variables({"TF_CPP_MIN_LOG_LEVEL": "1"})["TF_CPP_MIN_LOG_LEVEL"] == "1"
    assert env_quiet.quiet_variables({})["OPENCV_FFMPEG_LOGLEVEL"] == "-8"
    assert "OPENCV_FFMPEG_LOGLEVEL" not in env_quiet.quiet_variables({"HARFLOW_DEBUG": "1"})


@pytest.fixture(scope="module")
def model_and_clips(tmp_path_factory):
    pytest.importorskip("tensorflow")
    from serving_fixtures import export_untrained_model, write_clip

    folder = tmp_path_factory.mktemp("quiet")
    model = export_untrained_model(folder / "serving/harflow/1")
    good = write_clip(folder / "good.avi", seed=1)
    bad = folder / "bad.mp4"
    bad.write_bytes(os.urandom(2000))  # not a video: FFmpeg says `moov atom not found`
    return model.parent, good, bad


def _predict(model, clip, tmp_path, **variables):
    environ = env_quiet.quiet_variables({**os.environ, **variables})
    sink = tmp_path / "stderr"
    with open(sink, "wb") as handle:
        command = [sys.executable, "-m", "harflow", "predict", "--model", str(model), str(clip)]
        code = env_quiet.call_filtered(command, environ, handle.fileno())
    return code, sink.read_text()


def test_predict_on_a_good_clip_prints_nothing_on_stderr(model_and_clips, tmp_path, monkeypatch):
    monkeypatch.delenv("HARFLOW_DEBUG", raising=False)
    monkeypatch.delenv("TF_CPP_MIN_LOG_LEVEL", raising=False)
    model, good, _ = model_and_clips
    code, stderr = _predict(model, good, tmp_path)
    assert code == 0 and stderr == ""


def test_predict_on_a_bad_file_prints_only_harflows_line(model_and_clips, tmp_path, monkeypatch):
    monkeypatch.delenv("HARFLOW_DEBUG", raising=False)
    monkeypatch.delenv("TF_CPP_MIN_LOG_LEVEL", raising=False)
    model, _, bad = model_and_clips
    code, stderr = _predict(model, bad, tmp_path)
    assert code == 2
    assert stderr.splitlines() == [f"harflow: error: {bad}: cannot be opened as a video (is it a video file?)"]


def test_only_harflows_own_commands_are_filtered():
    """A shell (make shell) must keep its terminal: its prompt and echo go to stderr."""
    assert env.is_harflow_command(["python", "-m", "harflow", "predict", "x.avi"])
    assert not env.is_harflow_command(["bash"])
    assert not env.is_harflow_command(["python", "-m", "pytest"])

"""The web app served for real: waitress on loopback (in a thread, or `harflow serve` as its own process),
concurrent uploads, and TF Serving as the backend.

TF Serving's binary cannot run here: the gRPC backend is tested against
tests/tf_serving_standin.py (GrpcStandIn), an in-process stand-in that speaks TF Serving's
PredictionService protocol.
"""

import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from web_fixtures import export_untrained_model, write_clip

from benchmarks.web_load import upload_all
from harflow.config import ServingConfig, WebConfig
from harflow.serving.predictor import open_predictor, predict_file
from tests.tf_serving_standin import GrpcStandIn
from harflow.serving.web.server import BackgroundServer


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    root = tmp_path_factory.mktemp("served-model")
    return export_untrained_model(root / "harflow" / "1", seed=11).parent


@pytest.fixture(scope="module")
def predictor(model):
    return open_predictor(model=model)


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    root = tmp_path_factory.mktemp("served-clips")
    return [write_clip(root / f"clip{i}.avi", seed=i, frames=30 + 20 * i) for i in range(3)]


def test_concurrent_uploads_are_all_answered_and_leave_no_files(predictor, clips, tmp_path):
    config = WebConfig(host="127.0.0.1", port=0, threads=4, upload_dir=str(tmp_path / "uploads"))
    with BackgroundServer(predictor, config) as server:
        statuses, latencies, _ = upload_all(server.url, clips, uploads=8, clients=4)
        left = list(Path(server.upload_dir).iterdir())
    assert statuses == [200] * 8 and len(latencies) == 8 and left == []


def test_an_oversized_upload_through_waitress_is_413_json(predictor, clips, tmp_path):
    config = WebConfig(host="127.0.0.1", port=0, max_upload_mb=0.001, upload_dir=str(tmp_path / "uploads"))
    with BackgroundServer(predictor, config) as server:
        response = requests.post(f"{server.url}api/predict", files={"clip": ("big.avi", clips[2].read_bytes())}, timeout=60)
        left = list(Path(server.upload_dir).iterdir())
    assert response.status_code == 413 and "upload too large" in response.json()["error"] and left == []


def test_a_temporary_upload_folder_is_removed_when_the_server_stops(predictor):
    with BackgroundServer(predictor, WebConfig(host="127.0.0.1", port=0)) as server:
        folder = Path(server.upload_dir)
        assert folder.is_dir() and requests.get(f"{server.url}healthz", timeout=30).json()["status"] == "ok"
    assert not folder.exists()


def test_with_tf_serving_as_backend_the_page_answers_what_the_model_answers(model, clips, tmp_path):
    expected = predict_file(open_predictor(model=model), clips[0], top=1)[0][0]
    with GrpcStandIn("harflow", model) as standin:
        backend = open_predictor(server=standin.target, serving=ServingConfig())
        config = WebConfig(host="127.0.0.1", port=0, upload_dir=str(tmp_path / "uploads"))
        with BackgroundServer(backend, config) as server:
            answer = requests.post(f"{server.url}api/predict", files={"clip": ("a.avi", clips[0].read_bytes())}, timeout=60).json()
            health = requests.get(f"{server.url}healthz", timeout=30).json()
        backend.close()
    assert answer["top"][0]["class"] == expected
    assert health["model"].startswith(f"TF Serving {standin.target}, model harflow")


def as_from_a_terminal() -> None:
    """Ctrl-C's SIGINT at its default in the child, as a terminal leaves it: a suite started in the
    background of a script (`make test &`) inherits SIGINT ignored, and Python then never raises
    KeyboardInterrupt."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_harflow_serve_loads_the_model_serves_and_stops_on_ctrl_c(model, tmp_path):
    uploads = tmp_path / "uploads"
    process = subprocess.Popen(
        [sys.executable, "-m", "harflow", "serve", "--model", str(model), "--port", "0", "--upload-dir", str(uploads)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, preexec_fn=as_from_a_terminal,
    )
    try:
        url = next(m.group(1) for line in process.stdout if (m := re.search(r"page: (http://\S+)", line)))
        health = requests.get(f"{url}healthz", timeout=30).json()
        page = requests.get(url, timeout=30)
    finally:
        process.send_signal(signal.SIGINT)
        code = process.wait(timeout=60)
    assert health["classes"] == 6 and page.status_code == 200 and "harflow" in page.headers["Server"]
    assert code == 0 and uploads.is_dir() and list(uploads.iterdir()) == []


def test_harflow_serve_without_a_model_is_a_one_line_error(tmp_path):
    result = subprocess.run([sys.executable, "-m", "harflow", "serve", "--model", str(tmp_path / "none")],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith(f"harflow: error: {tmp_path / 'none'}: no such model directory")

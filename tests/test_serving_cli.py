"""`harflow predict --server/--rest` and `harflow runs` on the command line.

The model server is tests/tf_serving_standin.py's in-process STAND-IN for TF Serving (its
binary cannot run here), started by the test; the command runs as a separate
process, as a user would run it.
"""

import socket
import subprocess
import sys

import pytest
from serving_fixtures import CLASS_NAMES, export_untrained_model, write_clip

from harflow.serving.predictor import open_predictor, predict_file
from tests.tf_serving_standin import GrpcStandIn, RestStandIn


def harflow(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "harflow", *args], capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    base = root / "harflow"
    export_untrained_model(base / "1", seed=4)
    return base, write_clip(root / "clip.avi", seed=5)


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.parametrize("transport", ["grpc", "rest"])
def test_predict_asks_the_server_and_prints_the_models_top_class(served, transport):
    base, clip = served
    expected = predict_file(open_predictor(model=base), clip, top=1)[0][0]
    server_class, option = (GrpcStandIn, "--server") if transport == "grpc" else (RestStandIn, "--rest")
    with server_class("harflow", base) as server:
        address = server.target if transport == "grpc" else server.url
        result = harflow("predict", str(clip), option, address, "--top", "3")
    assert result.returncode == 0, result.stderr
    ranked = [line.split()[1] for line in result.stdout.splitlines() if line.strip().startswith(("1.", "2.", "3."))]
    assert ranked[0] == expected and set(ranked) <= set(CLASS_NAMES)


def test_predict_with_the_server_down_is_one_line_naming_the_address(served):
    _, clip = served
    address = f"127.0.0.1:{closed_port()}"
    result = harflow("predict", str(clip), "--server", address, "--timeout", "3")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith(f"harflow: error: {address}: no model server answers over gRPC")
    assert "Traceback" not in result.stderr


def test_runs_without_metadata_is_one_line_naming_the_file(tmp_path):
    result = harflow("runs", "--work-dir", str(tmp_path))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == (
        f"harflow: error: {tmp_path / 'metadata' / 'harflow.sqlite'}: no pipeline metadata yet "
        "(run `harflow demo` or `harflow run` first)"
    )


def test_runs_explains_itself(capsys):
    from harflow.cli import build_parser

    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args(["runs", "--help"])
    assert exit_info.value.code == 0
    assert "usage: harflow runs" in capsys.readouterr().out

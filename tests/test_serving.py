"""harflow's TF Serving clients against stand-ins of TF Serving's gRPC and REST APIs.

TF Serving's binary cannot run here (no registry carries it, no Docker), so the
servers are serving.standin's in-process stand-ins: real grpc with
tensorflow_serving.apis' PredictionService, and an HTTP server with TF
Serving's REST shapes, both reading a versioned model base path. Each client's
answer is compared with the same model's in-process prediction on the same clip.
"""

import socket

import numpy as np
import pytest
from serving_fixtures import CLASS_NAMES, export_untrained_model, write_clip

from harflow.config import ServingConfig
from harflow.serving.clients import GrpcClient, RestClient, ServerError, ServerUnavailable
from harflow.serving.predict import load_model
from harflow.serving.standin import GrpcStandIn, RestStandIn


@pytest.fixture(scope="module")
def base_path(tmp_path_factory):
    """A TF Serving model base path with two versions of different weights."""
    base = tmp_path_factory.mktemp("serving") / "harflow"
    export_untrained_model(base / "1", seed=1)
    export_untrained_model(base / "2", seed=2)
    return base


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return write_clip(tmp_path_factory.mktemp("clips") / "clip.avi", seed=3)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def assert_same_answer(answer, expected_top):
    assert answer.class_names == CLASS_NAMES
    top = answer.top(len(CLASS_NAMES))
    assert top[0][0] == expected_top[0][0]
    np.testing.assert_allclose([p for _, p in top], [p for _, p in expected_top], rtol=1e-5, atol=1e-6)


def test_grpc_client_answers_as_the_model_does_in_process(base_path, clip):
    expected = load_model(base_path).predict_clip(clip, top=len(CLASS_NAMES))
    with GrpcStandIn("harflow", base_path) as server:
        client = GrpcClient(server.target)
        answer = client.predict_clip(clip)
        client.close()
    assert answer.model_version == 2
    assert_same_answer(answer, expected)


def test_grpc_client_reads_the_frame_count_and_size_from_the_model_metadata(base_path):
    with GrpcStandIn("harflow", base_path) as server:
        client = GrpcClient(server.target)
        assert client.input_size() == (4, 32)
        client.close()


def test_grpc_client_asks_for_a_specific_version(base_path, clip):
    expected = load_model(base_path / "1").predict_clip(clip, top=len(CLASS_NAMES))
    with GrpcStandIn("harflow", base_path) as server:
        client = GrpcClient(server.target, ServingConfig(version=1))
        answer = client.predict_clip(clip)
        client.close()
    assert answer.model_version == 1
    assert_same_answer(answer, expected)


def test_rest_client_answers_as_the_model_does_in_process(base_path, clip):
    expected = load_model(base_path).predict_clip(clip, top=len(CLASS_NAMES))
    with RestStandIn("harflow", base_path) as server:
        client = RestClient(server.url)
        answer = client.predict_clip(clip)
        client.close()
    assert_same_answer(answer, expected)


def test_an_unknown_model_name_is_a_server_error_naming_it(base_path, clip):
    with GrpcStandIn("harflow", base_path) as server:
        client = GrpcClient(server.target, ServingConfig(model_name="other"))
        with pytest.raises(ServerError, match="NOT_FOUND.*other"):
            client.predict_clip(clip)
        client.close()
    with RestStandIn("harflow", base_path) as server:
        with pytest.raises(ServerError, match="404.*other"):
            RestClient(server.url, ServingConfig(model_name="other")).predict_clip(clip)


def test_a_server_that_is_down_is_one_clear_error(clip):
    port = free_port()
    config = ServingConfig(timeout_s=2.0)
    with pytest.raises(ServerUnavailable, match=f"127.0.0.1:{port}: no model server answers over gRPC"):
        GrpcClient(f"127.0.0.1:{port}", config).predict_clip(clip)
    with pytest.raises(ServerUnavailable, match=f"127.0.0.1:{port}: no model server answers over REST"):
        RestClient(f"http://127.0.0.1:{port}", config).predict_clip(clip)

"""harflow's TF Serving clients against stand-ins of TF Serving's gRPC and REST APIs.

TF Serving's binary cannot run here (no registry carries it, no Docker), so the
servers are tests/tf_serving_standin.py's in-process stand-ins: real grpc with
tensorflow_serving.apis' PredictionService, and an HTTP server with TF
Serving's REST shapes, both reading a versioned model base path. Each client's
answer is compared with the same model's in-process prediction on the same clip.
"""

import socket

import numpy as np
import pytest
from serving_fixtures import CLASS_NAMES, export_untrained_model, write_clip

from harflow.config import ServingConfig
from harflow.serving.clients import GrpcClient, ServerError, ServerUnavailable
from harflow.serving.inputs import clip_input
from harflow.serving.predictor import Predictor, open_predictor, predict_file
from tests.tf_serving_standin import GrpcStandIn, RestStandIn


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


def assert_same_top(top, expected_top):
    assert top[0][0] == expected_top[0][0]
    np.testing.assert_allclose([p for _, p in top], [p for _, p in expected_top], rtol=1e-5, atol=1e-6)


def test_the_three_predictors_give_the_same_probabilities_for_one_clip(base_path, clip):
    in_process = open_predictor(model=base_path)
    with GrpcStandIn("harflow", base_path) as grpc_server, RestStandIn("harflow", base_path) as rest_server:
        over_grpc = open_predictor(server=grpc_server.target)
        over_rest = open_predictor(rest=rest_server.url)
        predictors = [in_process, over_grpc, over_rest]
        assert all(isinstance(predictor, Predictor) for predictor in predictors)
        assert {(p.num_frames, p.image_size) for p in predictors} == {(4, 32)}
        assert all(p.classes == CLASS_NAMES for p in predictors)
        frames = clip_input(clip, in_process.num_frames, in_process.image_size)  # [1, T, S, S, 3]
        expected = in_process.predict(frames)
        assert expected.shape == (1, len(CLASS_NAMES))
        np.testing.assert_allclose(over_grpc.predict(frames), expected, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(over_rest.predict(frames), expected, rtol=1e-5, atol=1e-6)
        for predictor in predictors:
            predictor.close()


def test_grpc_predictor_answers_as_the_model_does_in_process(base_path, clip):
    expected = predict_file(open_predictor(model=base_path), clip, top=len(CLASS_NAMES))
    with GrpcStandIn("harflow", base_path) as server:
        predictor = open_predictor(server=server.target)
        top = predict_file(predictor, clip, top=len(CLASS_NAMES))
        predictor.close()
    assert predictor.model_version == 2 and "version 2" in predictor.description
    assert_same_top(top, expected)


def test_grpc_client_reads_the_frame_count_and_size_from_the_model_metadata(base_path):
    with GrpcStandIn("harflow", base_path) as server:
        client = GrpcClient(server.target)
        assert client.input_size() == (4, 32)
        client.close()


def test_grpc_predictor_asks_for_a_specific_version(base_path, clip):
    expected = predict_file(open_predictor(model=base_path / "1"), clip, top=len(CLASS_NAMES))
    with GrpcStandIn("harflow", base_path) as server:
        predictor = open_predictor(server=server.target, serving=ServingConfig(version=1))
        top = predict_file(predictor, clip, top=len(CLASS_NAMES))
        predictor.close()
    assert predictor.model_version == 1
    assert_same_top(top, expected)


def test_rest_predictor_answers_as_the_model_does_in_process(base_path, clip):
    expected = predict_file(open_predictor(model=base_path), clip, top=len(CLASS_NAMES))
    with RestStandIn("harflow", base_path) as server:
        predictor = open_predictor(rest=server.url)
        top = predict_file(predictor, clip, top=len(CLASS_NAMES))
        predictor.close()
    assert_same_top(top, expected)


def test_an_unknown_model_name_is_a_server_error_naming_it(base_path):
    with GrpcStandIn("harflow", base_path) as server:
        with pytest.raises(ServerError, match="NOT_FOUND.*other"):
            open_predictor(server=server.target, serving=ServingConfig(model_name="other"))
    with RestStandIn("harflow", base_path) as server:
        with pytest.raises(ServerError, match="404.*other"):
            open_predictor(rest=server.url, serving=ServingConfig(model_name="other"))


def test_a_server_that_is_down_is_one_clear_error():
    port = free_port()
    config = ServingConfig(timeout_s=2.0)
    with pytest.raises(ServerUnavailable, match=f"127.0.0.1:{port}: no model server answers over gRPC"):
        open_predictor(server=f"127.0.0.1:{port}", serving=config)
    with pytest.raises(ServerUnavailable, match=f"127.0.0.1:{port}: no model server answers over REST"):
        open_predictor(rest=f"http://127.0.0.1:{port}", serving=config)


def test_open_predictor_wants_one_source():
    with pytest.raises(ValueError, match="not both"):
        open_predictor(server="127.0.0.1:1", rest="http://127.0.0.1:1")
    with pytest.raises(ValueError, match="give a model"):
        open_predictor()

"""The compact request: the serving_jpeg signature takes T JPEG frames and answers as serving_default does.

The gRPC and REST clients call it by default (ServingConfig.signature), through
the TF Serving stand-ins (tests/tf_serving_standin.py), which run the
SavedModel's own signature. Exact check: serving_jpeg's probabilities equal
serving_default's fed the very frames the JPEGs decode to. Tolerance check:
against the original frames, within what JPEG at quality 95 changes.
"""

import base64
import json

import numpy as np
import pytest
from serving_fixtures import CLASS_NAMES, export_untrained_model, write_clip

from harflow.artifacts import JPEG_FRAMES_INPUT, JPEG_SIGNATURE, SERVING_SIGNATURE
from harflow.config import ServingConfig
from harflow.serving.clients import GrpcClient, RestClient, ServerError, jpeg_frames
from harflow.serving.inputs import clip_input
from harflow.serving.predictor import open_predictor
from tests.tf_serving_standin import GrpcStandIn, RestStandIn


@pytest.fixture(scope="module")
def base_path(tmp_path_factory):
    base = tmp_path_factory.mktemp("serving") / "harflow"
    export_untrained_model(base / "1", seed=4)
    return base


@pytest.fixture(scope="module")
def frames(tmp_path_factory):
    clip = write_clip(tmp_path_factory.mktemp("clips") / "clip.avi", seed=5)
    return clip_input(clip, 4, 32)  # [1, 4, 32, 32, 3] uint8


def decoded(frames: np.ndarray, quality: int) -> np.ndarray:
    """What the serving_jpeg graph sees: the client's JPEGs decoded by TF, [1, T, S, S, 3] uint8."""
    import tensorflow as tf

    return np.stack([[tf.io.decode_jpeg(jpeg, channels=3).numpy() for jpeg in clip] for clip in jpeg_frames(frames, quality)])


def test_the_clients_send_jpeg_frames_by_default():
    assert ServingConfig().signature == JPEG_SIGNATURE


def test_serving_jpeg_equals_serving_default_fed_the_decoded_frames_over_grpc_and_rest(base_path, frames):
    uint8 = open_predictor(model=base_path)  # in process: serving_default
    quality = ServingConfig().jpeg_quality
    exact = uint8.predict(decoded(frames, quality))
    with GrpcStandIn("harflow", base_path) as grpc_server, RestStandIn("harflow", base_path) as rest_server:
        for predictor in (open_predictor(server=grpc_server.target), open_predictor(rest=rest_server.url)):
            assert (predictor.num_frames, predictor.image_size) == (4, 32) and predictor.classes == CLASS_NAMES
            np.testing.assert_allclose(predictor.predict(frames), exact, rtol=1e-5, atol=1e-6)
            # and close to the uint8 request of the original frames: JPEG at quality 95 moves pixels by a few levels
            np.testing.assert_allclose(predictor.predict(frames), uint8.predict(frames), atol=2e-2)
            predictor.close()


def test_the_jpeg_request_is_tens_of_times_smaller_than_the_uint8_one(base_path, frames):
    jpeg_body = RestClient("http://127.0.0.1:1").request_body(frames)
    uint8_body = RestClient("http://127.0.0.1:1", ServingConfig(signature=SERVING_SIGNATURE)).request_body(frames)
    rows = json.loads(jpeg_body)["instances"]
    assert len(rows) == 1 and len(rows[0]) == 4 and base64.b64decode(rows[0][0]["b64"])[:2] == b"\xff\xd8"  # JPEG's SOI
    assert len(uint8_body) > 5 * len(jpeg_body)
    grpc_request = GrpcClient("127.0.0.1:1").request(frames)
    assert list(grpc_request.inputs) == [JPEG_FRAMES_INPUT]
    assert [d.size for d in grpc_request.inputs[JPEG_FRAMES_INPUT].tensor_shape.dim] == [1, 4]


def test_a_frame_of_the_wrong_size_is_refused_by_the_signature(base_path, frames):
    with GrpcStandIn("harflow", base_path) as server:
        client = GrpcClient(server.target)
        with pytest.raises(ServerError, match="INVALID_ARGUMENT"):
            client.predict_frames(np.zeros((1, 4, 16, 16, 3), np.uint8))
        client.close()

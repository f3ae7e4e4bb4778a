"""The TF Serving Predictor (serving.predictor's protocol), over gRPC (PredictionService) or REST.

GrpcClient and RestClient speak the two protocols; ServerPredictor turns
either into a Predictor. Both ask the server for the model's signature
(GetModelMetadata, or GET /v1/models/NAME/metadata) and read the frame count
and size from the shape of its frames input; the class names come from the
model's class names output. A server that does not answer is one clear error
(ServerUnavailable), as is a request that runs past the timeout.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np

from harflow.artifacts import CLASS_NAMES_OUTPUT, FRAMES_INPUT, PROBABILITIES_OUTPUT
from harflow.config import ServingConfig


class ServerUnavailable(ConnectionError):
    """No model server answered (down, wrong address, or too slow)."""


class ServerError(ValueError):
    """The server answered with an error (unknown model, version or signature; bad input)."""


@dataclass
class Answer:
    """One clip's prediction by a server."""

    probabilities: np.ndarray  # [C]
    class_names: list[str]
    model_version: int | None


def input_size(shape: list[int]) -> tuple[int, int]:
    """The frames input's shape [B, T, H, W, 3] -> (num_frames, image_size)."""
    if len(shape) != 5 or shape[4] != 3 or shape[2] != shape[3] or min(shape[1:]) < 1:
        raise ServerError(f"the model's {FRAMES_INPUT!r} input has shape {shape}, not [batch, T, S, S, 3]")
    return int(shape[1]), int(shape[2])


# --------------------------------------------------------------------------- gRPC


def to_tensor_proto(array: np.ndarray):
    """A uint8 numpy array -> tensorflow.TensorProto (what tf.make_tensor_proto makes, without TF ops)."""
    from tensorflow.core.framework import tensor_pb2, tensor_shape_pb2, types_pb2

    array = np.ascontiguousarray(array, dtype=np.uint8)
    shape = tensor_shape_pb2.TensorShapeProto(dim=[tensor_shape_pb2.TensorShapeProto.Dim(size=n) for n in array.shape])
    return tensor_pb2.TensorProto(dtype=types_pb2.DT_UINT8, tensor_shape=shape, tensor_content=array.tobytes())


def probabilities_from_proto(proto) -> np.ndarray:
    shape = [d.size for d in proto.tensor_shape.dim]
    if proto.tensor_content:
        values = np.frombuffer(proto.tensor_content, dtype=np.float32)
    else:
        values = np.asarray(proto.float_val, dtype=np.float32)
    return values.reshape(shape)


class GrpcClient:
    """TF Serving's PredictionService over gRPC (tensorflow_serving.apis)."""

    def __init__(self, target: str, config: ServingConfig = ServingConfig()):
        import grpc
        from tensorflow_serving.apis import prediction_service_pb2_grpc

        if ":" not in target:
            raise ValueError(f"--server {target!r}: give HOST:PORT (TF Serving's gRPC port is 8500)")
        self.target, self.config = target, config
        self._channel = grpc.insecure_channel(target)
        self._stub = prediction_service_pb2_grpc.PredictionServiceStub(self._channel)
        self._size: tuple[int, int] | None = None

    def close(self) -> None:
        self._channel.close()

    def _model_spec(self, spec) -> None:
        spec.name = self.config.model_name
        spec.signature_name = self.config.signature
        if self.config.version is not None:
            spec.version.value = self.config.version

    def _call(self, method, request):
        import grpc

        try:
            return method(request, timeout=self.config.timeout_s)
        except grpc.RpcError as error:
            code = error.code()
            if code == grpc.StatusCode.UNAVAILABLE:
                raise ServerUnavailable(
                    f"{self.target}: no model server answers over gRPC ({error.details()}); "
                    "start TF Serving (docs/serving.md) or fix --server HOST:PORT"
                ) from None
            if code == grpc.StatusCode.DEADLINE_EXCEEDED:
                raise ServerUnavailable(
                    f"{self.target}: no answer within {self.config.timeout_s:g} s; raise --timeout or check the server"
                ) from None
            raise ServerError(f"{self.target}: {code.name}: {error.details()}") from None

    def input_size(self) -> tuple[int, int]:
        """(num_frames, image_size) from GetModelMetadata's signature_def."""
        if self._size is None:
            from tensorflow.core.protobuf import meta_graph_pb2
            from tensorflow_serving.apis import get_model_metadata_pb2

            request = get_model_metadata_pb2.GetModelMetadataRequest(metadata_field=["signature_def"])
            self._model_spec(request.model_spec)
            request.model_spec.ClearField("signature_name")
            response = self._call(self._stub.GetModelMetadata, request)
            signatures = get_model_metadata_pb2.SignatureDefMap()
            response.metadata["signature_def"].Unpack(signatures)
            signature = signatures.signature_def.get(self.config.signature)
            if signature is None:
                raise ServerError(f"{self.target}: model {self.config.model_name!r} has no signature {self.config.signature!r}")
            frames: meta_graph_pb2.TensorInfo = signature.inputs[FRAMES_INPUT]
            self._size = input_size([d.size for d in frames.tensor_shape.dim])
        return self._size

    def predict_frames(self, frames: np.ndarray) -> Answer:
        """frames [1, T, S, S, 3] uint8 -> the server's Answer."""
        from tensorflow_serving.apis import predict_pb2

        request = predict_pb2.PredictRequest()
        self._model_spec(request.model_spec)
        request.inputs[FRAMES_INPUT].CopyFrom(to_tensor_proto(frames))
        request.output_filter.extend([PROBABILITIES_OUTPUT, CLASS_NAMES_OUTPUT])
        response = self._call(self._stub.Predict, request)
        probabilities = probabilities_from_proto(response.outputs[PROBABILITIES_OUTPUT])[0]
        names = [n.decode() for n in response.outputs[CLASS_NAMES_OUTPUT].string_val][: probabilities.shape[0]]
        version = response.model_spec.version.value if response.model_spec.HasField("version") else None
        return Answer(probabilities, names, version)


# --------------------------------------------------------------------------- REST


class RestClient:
    """TF Serving's REST API: GET /v1/models/NAME/metadata, POST /v1/models/NAME[/versions/N]:predict."""

    def __init__(self, url: str, config: ServingConfig = ServingConfig()):
        import requests

        if not url.startswith(("http://", "https://")):
            raise ValueError(f"--rest {url!r}: give a URL like http://HOST:8501 (TF Serving's REST port)")
        self.url, self.config = url.rstrip("/"), config
        self._session = requests.Session()
        self._size: tuple[int, int] | None = None

    def close(self) -> None:
        self._session.close()

    def _model_url(self) -> str:
        url = f"{self.url}/v1/models/{self.config.model_name}"
        return url if self.config.version is None else f"{url}/versions/{self.config.version}"

    def _request(self, method: str, url: str, **kwargs) -> dict:
        import requests

        try:
            response = self._session.request(method, url, timeout=self.config.timeout_s, **kwargs)
        except requests.Timeout:
            raise ServerUnavailable(f"{url}: no answer within {self.config.timeout_s:g} s; raise --timeout or check the server") from None
        except requests.ConnectionError as error:
            raise ServerUnavailable(
                f"{self.url}: no model server answers over REST ({type(error).__name__}); "
                "start TF Serving (docs/serving.md) or fix --rest URL"
            ) from None
        try:
            body = response.json()
        except ValueError:
            body = {"error": response.text[:200]}
        if response.status_code != 200:
            raise ServerError(f"{url}: HTTP {response.status_code}: {body.get('error', body)}")
        return body

    def input_size(self) -> tuple[int, int]:
        if self._size is None:
            body = self._request("GET", f"{self._model_url()}/metadata")
            signatures = body["metadata"]["signature_def"]["signature_def"]
            if self.config.signature not in signatures:
                raise ServerError(f"{self.url}: model {self.config.model_name!r} has no signature {self.config.signature!r}")
            dims = signatures[self.config.signature]["inputs"][FRAMES_INPUT]["tensor_shape"]["dim"]
            self._size = input_size([int(d["size"]) for d in dims])
        return self._size

    def predict_frames(self, frames: np.ndarray) -> Answer:
        """frames [1, T, S, S, 3] uint8 -> the server's Answer (REST's row format, "instances")."""
        payload = {"signature_name": self.config.signature, "instances": frames.astype(int).tolist()}
        body = self._request("POST", f"{self._model_url()}:predict", data=json.dumps(payload))
        prediction = body["predictions"][0]
        probabilities = np.asarray(prediction[PROBABILITIES_OUTPUT], dtype=np.float32)
        return Answer(probabilities, list(prediction[CLASS_NAMES_OUTPUT]), self.config.version)


# --------------------------------------------------------------------------- the Predictor


class ServerPredictor:
    """A model server through GrpcClient or RestClient, as a Predictor; one request per clip."""

    def __init__(self, client: GrpcClient | RestClient, address: str, config: ServingConfig = ServingConfig()):
        self.client = client
        self.num_frames, self.image_size = client.input_size()
        # one warm-up request: it builds the server's graph and tells the class names
        answer = client.predict_frames(np.zeros((1, self.num_frames, self.image_size, self.image_size, 3), np.uint8))
        self.classes = answer.class_names
        self.model_version = answer.model_version
        self.description = f"TF Serving {address}, model {config.model_name}" + (
            f" version {answer.model_version}" if answer.model_version is not None else ""
        )

    def predict(self, clips: np.ndarray) -> np.ndarray:
        """clips [B, T, S, S, 3] uint8 -> probabilities [B, C]: one request per clip."""
        return np.stack([self.client.predict_frames(clip[np.newaxis]).probabilities for clip in clips])

    def close(self) -> None:
        self.client.close()

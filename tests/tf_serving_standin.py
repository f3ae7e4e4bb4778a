"""STAND-INS for TensorFlow Serving, for tests and benchmarks: its binary cannot be installed here.

No package registry carries the `tensorflow_model_server` binary and this
project has no Docker, so tests talk to these in-process servers instead. They
speak TF Serving's protocols faithfully enough for harflow's clients, and read
the same model base path layout (`BASE/<integer version>/saved_model.pb`):

- `GrpcStandIn`: a grpc.server implementing tensorflow_serving.apis'
  PredictionService `Predict` and `GetModelMetadata` (signature_def), with
  TF Serving's model spec (name, version or newest, signature) and status codes
  (NOT_FOUND, INVALID_ARGUMENT).
- `RestStandIn`: an http.server with TF Serving's REST shapes:
  GET /v1/models/NAME[/versions/N]/metadata and
  POST /v1/models/NAME[/versions/N]:predict ({"signature_name", "instances"|"inputs"}).

They are not TF Serving: no batching, no model config file, no version
polling policies; the newest version is looked up on each request.
"""

from __future__ import annotations

import json
import re
import threading
from concurrent import futures
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np

from harflow.artifacts import SERVING_SIGNATURE
from harflow.serving import versions


class ModelStore:
    """The SavedModels of one TF Serving model base path, loaded on first use."""

    def __init__(self, name: str, base_path: str | Path):
        self.name, self.base = name, Path(base_path)
        self._loaded: dict[int, object] = {}
        self._lock = threading.Lock()

    def resolve(self, name: str, version: int | None) -> int:
        if name != self.name:
            raise LookupError(f"Servable not found for request: Latest({name})")
        available = versions.versions(self.base)
        if version is None:
            if not available:
                raise LookupError(f"Servable not found for request: Latest({name})")
            return available[-1]
        if version not in available:
            raise LookupError(f"Servable not found for request: Specific({name}, {version})")
        return version

    def load_newest(self) -> None:
        """Load the newest version before serving, as TF Serving does (the first request is not the slow one)."""
        available = versions.versions(self.base)
        if available:
            self.model(available[-1])

    def model(self, version: int):
        import tensorflow as tf

        with self._lock:
            if version not in self._loaded:
                self._loaded[version] = tf.saved_model.load(str(self.base / str(version)))
            return self._loaded[version]

    def signature_defs(self, version: int):
        """The MetaGraphDef's signature_def map, read from saved_model.pb as TF Serving reports it."""
        from tensorflow.core.protobuf import saved_model_pb2

        saved = saved_model_pb2.SavedModel.FromString((self.base / str(version) / "saved_model.pb").read_bytes())
        return saved.meta_graphs[0].signature_def

    def run(self, version: int, signature: str, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        import tensorflow as tf

        signatures = self.model(version).signatures
        if signature not in signatures:
            raise ValueError(f"Serving signature key \"{signature}\" not found.")
        function = signatures[signature]
        specs = function.structured_input_signature[1]
        if set(inputs) != set(specs):
            raise ValueError(f"inputs {sorted(inputs)} do not match the signature's {sorted(specs)}")
        tensors = {key: tf.constant(value, dtype=specs[key].dtype) for key, value in inputs.items()}
        return {key: value.numpy() for key, value in function(**tensors).items()}


# --------------------------------------------------------------------------- gRPC


class GrpcStandIn:
    """STAND-IN for TF Serving's gRPC API (PredictionService: Predict, GetModelMetadata)."""

    def __init__(self, name: str, base_path: str | Path, port: int = 0, workers: int = 8):
        import grpc
        from tensorflow_serving.apis import prediction_service_pb2_grpc

        self.store = ModelStore(name, base_path)
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=workers))
        prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(_PredictionService(self.store), self.server)
        self.port = self.server.add_insecure_port(f"127.0.0.1:{port}")
        self.target = f"127.0.0.1:{self.port}"

    def __enter__(self) -> "GrpcStandIn":
        self.store.load_newest()
        self.server.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.stop(grace=None)


def _servicer_base():
    from tensorflow_serving.apis import prediction_service_pb2_grpc

    return prediction_service_pb2_grpc.PredictionServiceServicer


class _PredictionService(_servicer_base()):
    def __init__(self, store: ModelStore):
        self.store = store

    def _version(self, spec, context) -> int:
        import grpc

        try:
            return self.store.resolve(spec.name, spec.version.value if spec.HasField("version") else None)
        except LookupError as error:
            context.abort(grpc.StatusCode.NOT_FOUND, str(error))

    def Predict(self, request, context):
        import grpc
        import tensorflow as tf
        from tensorflow_serving.apis import predict_pb2

        version = self._version(request.model_spec, context)
        signature = request.model_spec.signature_name or SERVING_SIGNATURE
        inputs = {key: tf.make_ndarray(proto) for key, proto in request.inputs.items()}
        try:
            outputs = self.store.run(version, signature, inputs)
        except (ValueError, tf.errors.InvalidArgumentError) as error:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(error).splitlines()[0])
        wanted = set(request.output_filter) or set(outputs)
        response = predict_pb2.PredictResponse()
        response.model_spec.name = request.model_spec.name
        response.model_spec.version.value = version
        response.model_spec.signature_name = signature
        for key in sorted(wanted & set(outputs)):
            response.outputs[key].CopyFrom(tf.make_tensor_proto(outputs[key]))
        return response

    def GetModelMetadata(self, request, context):
        import grpc
        from tensorflow_serving.apis import get_model_metadata_pb2

        if list(request.metadata_field) != ["signature_def"]:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "Metadata field signature_def is the only one supported")
        version = self._version(request.model_spec, context)
        signatures = get_model_metadata_pb2.SignatureDefMap()
        for key, value in self.store.signature_defs(version).items():
            signatures.signature_def[key].CopyFrom(value)
        response = get_model_metadata_pb2.GetModelMetadataResponse()
        response.model_spec.name = request.model_spec.name
        response.model_spec.version.value = version
        response.metadata["signature_def"].Pack(signatures)
        return response


# --------------------------------------------------------------------------- REST

_ROUTE = re.compile(r"^/v1/models/(?P<name>[^/:]+)(?:/versions/(?P<version>\d+))?(?P<verb>/metadata|:predict)?$")


class RestStandIn:
    """STAND-IN for TF Serving's REST API (model metadata and :predict, row and columnar formats)."""

    def __init__(self, name: str, base_path: str | Path, port: int = 0):
        store = self.store = ModelStore(name, base_path)
        self.server = ThreadingHTTPServer(("127.0.0.1", port), _rest_handler(store))
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "RestStandIn":
        self.store.load_newest()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join()


def _jsonable(array: np.ndarray):
    if array.dtype.kind in "SO":
        return np.vectorize(lambda b: b.decode() if isinstance(b, bytes) else b, otypes=[object])(array).tolist()
    return array.tolist()


def _rest_handler(store: ModelStore):
    from google.protobuf import json_format

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:  # quiet, like a test server should be
            pass

        def _send(self, status: int, body: dict) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _route(self):
            match = _ROUTE.match(self.path)
            if not match:
                self._send(404, {"error": f"Malformed request: {self.command} {self.path}"})
                return None
            try:
                version = store.resolve(match["name"], int(match["version"]) if match["version"] else None)
            except LookupError as error:
                self._send(404, {"error": str(error)})
                return None
            return match, version

        def do_GET(self) -> None:
            routed = self._route()
            if routed is None:
                return
            match, version = routed
            if match["verb"] != "/metadata":
                self._send(200, {"model_version_status": [{"version": str(version), "state": "AVAILABLE", "status": {"error_code": "OK", "error_message": ""}}]})
                return
            signatures = {key: json_format.MessageToDict(value, preserving_proto_field_name=True) for key, value in store.signature_defs(version).items()}
            self._send(200, {
                "model_spec": {"name": match["name"], "signature_name": "", "version": str(version)},
                "metadata": {"signature_def": {"signature_def": signatures}},
            })

        def do_POST(self) -> None:
            routed = self._route()
            if routed is None:
                return
            match, version = routed
            if match["verb"] != ":predict":
                self._send(404, {"error": f"Malformed request: POST {self.path}"})
                return
            try:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                signature = body.get("signature_name", SERVING_SIGNATURE)
                row_format = "instances" in body
                data = body["instances"] if row_format else body["inputs"]
                if isinstance(data, dict):
                    inputs = {key: np.asarray(value) for key, value in data.items()}
                else:  # a list of instances, or one unnamed input: the signature's only input
                    specs = store.model(version).signatures[signature].structured_input_signature[1]
                    if len(specs) != 1:
                        raise ValueError("a signature with several inputs needs named inputs")
                    inputs = {next(iter(specs)): np.asarray(data)}
                outputs = store.run(version, signature, inputs)
            except (KeyError, ValueError) as error:
                self._send(400, {"error": str(error).splitlines()[0]})
                return
            if not row_format:
                self._send(200, {"outputs": {key: _jsonable(value) for key, value in outputs.items()}})
                return
            rows = [{key: _jsonable(value[i]) for key, value in outputs.items()} for i in range(len(next(iter(outputs.values()))))]
            self._send(200, {"predictions": rows})

    return Handler

"""The model behind the web app and the live predictions: in process, or TF Serving over gRPC (or REST).

Both expose the same small interface, loaded (or connected) once:

    predictor.class_names, predictor.num_frames, predictor.image_size, predictor.description
    predictor.probabilities(frames [B, T, S, S, 3] uint8) -> [B, C] float
"""

from __future__ import annotations

import numpy as np

from harflow.config import ServingConfig


class InProcessPredictor:
    """An exported SavedModel (or the newest version of a TF Serving base path), loaded here once."""

    def __init__(self, model_path: str):
        from harflow.serving.predict import load_model

        self.model = load_model(model_path)
        self.class_names = self.model.class_names
        self.num_frames, self.image_size = self.model.num_frames, self.model.image_size
        self.description = f"SavedModel {self.model.directory}"
        self.probabilities(np.zeros((1, self.num_frames, self.image_size, self.image_size, 3), np.uint8))  # warm up

    def probabilities(self, frames: np.ndarray) -> np.ndarray:
        return self.model.probabilities(frames)

    def close(self) -> None:
        pass


class ServerPredictor:
    """A model server through serving.clients (GrpcClient or RestClient); one request per clip."""

    def __init__(self, client, address: str, config: ServingConfig = ServingConfig()):
        self.client = client
        self.num_frames, self.image_size = client.input_size()
        # one warm-up request: it builds the server's graph and tells the class names
        answer = client.predict_frames(np.zeros((1, self.num_frames, self.image_size, self.image_size, 3), np.uint8))
        self.class_names = answer.class_names
        self.description = f"TF Serving {address}, model {config.model_name}" + (
            f" version {answer.model_version}" if answer.model_version is not None else ""
        )

    def probabilities(self, frames: np.ndarray) -> np.ndarray:
        return np.stack([self.client.predict_frames(clip[np.newaxis]).probabilities for clip in frames])

    def close(self) -> None:
        self.client.close()


def open_predictor(model_path: str, server: str | None = None, rest: str | None = None, serving: ServingConfig = ServingConfig()):
    """--server HOST:PORT (gRPC) or --rest URL -> ServerPredictor; else the model at model_path, in process."""
    from harflow.serving.clients import GrpcClient, RestClient

    if server and rest:
        raise ValueError("give --server HOST:PORT (gRPC) or --rest URL, not both")
    if server:
        return ServerPredictor(GrpcClient(server, serving), server, serving)
    if rest:
        return ServerPredictor(RestClient(rest, serving), rest, serving)
    return InProcessPredictor(model_path)

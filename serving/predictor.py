"""One way to predict: the `Predictor` protocol, and `open_predictor`, its one factory.

    predictor = open_predictor(model="serving/harflow")          # in process (serving.predict)
    predictor = open_predictor(server="localhost:8500")          # TF Serving over gRPC (serving.clients)
    predictor = open_predictor(rest="http://localhost:8501")     # TF Serving over REST (serving.clients)
    predictor.predict(clips [B, T, S, S, 3] uint8) -> probabilities [B, C] float32
    predict_file(predictor, "clip.avi", top=5) -> [(class name, probability), ...]

The CLI, the web app, live prediction and the model comparison all go
through it; serving.inputs.clip_input is the one function that turns a clip
file into model input.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from harflow.config import ServingConfig
from harflow.serving.inputs import clip_input, top_classes


@runtime_checkable
class Predictor(Protocol):
    """A model that maps clips to class probabilities, wherever it runs."""

    classes: list[str]  # class i's name: column i of predict's output
    num_frames: int  # T: frames per clip the model takes
    image_size: int  # S: frames are S x S
    description: str  # one line for people: which model, where

    def predict(self, clips: np.ndarray) -> np.ndarray:
        """clips [B, T, S, S, 3] uint8 RGB -> probabilities [B, C] float32."""
        ...

    def close(self) -> None:
        """Release the model or the connection."""
        ...


def predict_file(predictor: Predictor, path: str | Path, top: int = 5, max_frames: int | None = None) -> list[tuple[str, float]]:
    """The `top` most likely classes of one clip file, most likely first."""
    scores = predictor.predict(clip_input(path, predictor.num_frames, predictor.image_size, max_frames=max_frames))[0]
    return top_classes(scores, predictor.classes, top)


def warmed_up(predictor: Predictor) -> Predictor:
    """The predictor after one call on a black clip: a first call builds the graph (seconds), not a user's."""
    predictor.predict(np.zeros((1, predictor.num_frames, predictor.image_size, predictor.image_size, 3), np.uint8))
    return predictor


def open_predictor(
    model: str | Path | None = None, server: str | None = None, rest: str | None = None, serving: ServingConfig = ServingConfig()
) -> Predictor:
    """--server HOST:PORT (gRPC) or --rest URL: TF Serving; else the model at `model`, in process."""
    if server and rest:
        raise ValueError("give --server HOST:PORT (gRPC) or --rest URL, not both")
    if server or rest:
        from harflow.serving.clients import GrpcClient, RestClient, ServerPredictor

        client = GrpcClient(server, serving) if server else RestClient(rest, serving)
        return ServerPredictor(client, server or rest, serving)
    if not model:
        raise ValueError("give a model (--model DIR), a gRPC server (--server HOST:PORT) or a REST server (--rest URL)")
    from harflow.serving.predict import SavedModelPredictor

    return warmed_up(SavedModelPredictor(model))

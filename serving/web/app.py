"""The Flask app: an upload page, `POST /api/predict` and `GET /healthz`.

`create_app(predictor, config)` takes a model that is already loaded
(a serving.predictor.Predictor: in process, or TF Serving over gRPC or REST), so the model is
loaded once per process, never per request. `harflow serve` runs the app
under waitress (a production WSGI server; never Flask's debug server).

Uploads: at most WebConfig.max_upload_mb (413 and a JSON error beyond),
written to a private upload folder outside the web root under a generated
name (the client's file name is only echoed back, never used as a path),
judged by decoding (serving.analysis) and deleted once answered.

Limits (serving.web.limits): a clip whose frames, or whose analysed part, hold
more pixels than WebConfig allows is refused with 413 after its header is read;
at most max_analyses uploads are analysed at once, a few more wait briefly, the
rest get 503 with Retry-After. While the server stops (SIGTERM, SIGINT:
serving.web.server), every new request gets 503.
"""

from __future__ import annotations

import math
import os
import re
import tempfile
import threading
import unicodedata
from pathlib import Path

from flask import Flask, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from harflow.config import WebConfig
from harflow.video import VIDEO_SUFFIXES, ClipError
from harflow.serving.analysis import analyse_clip
from harflow.serving.predictor import Predictor
from harflow.serving.web.limits import Admission, Busy, pixel_refusal

UPLOAD_FIELD = "clip"  # the multipart form field of POST /api/predict


def create_app(predictor: Predictor, config: WebConfig = WebConfig()) -> Flask:
    """The app around a loaded predictor. Its upload folder: config.upload_dir, else a new temp dir."""
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = config.max_upload_bytes
    app.config["UPLOAD_DIR"] = upload_dir = _private_dir(config.upload_dir)
    app.config["UPLOAD_DIR_IS_TEMPORARY"] = not config.upload_dir
    app.config["STOPPING"] = stopping = threading.Event()  # set by serving.web.server on SIGTERM / SIGINT
    app.json.sort_keys = False
    admission = Admission.for_config(config)
    retry_after = str(max(1, math.ceil(config.analysis_wait_s)))

    @app.before_request
    def refuse_while_stopping():
        if stopping.is_set():
            return _error(503, "the server is stopping; try again in a moment", {"Retry-After": retry_after})
        return None

    @app.get("/")
    def page():
        return render_template(
            "index.html", config=config, model=predictor.description, classes=predictor.classes, accept=accepted_files()
        )

    @app.get("/healthz")
    def health():
        return jsonify(
            status="ok",
            model=predictor.description,
            classes=len(predictor.classes),
            num_frames=predictor.num_frames,
            image_size=predictor.image_size,
            max_upload_mb=config.max_upload_mb,
            max_clip_seconds=config.max_clip_seconds,
        )

    @app.post("/api/predict")
    def predict():
        try:
            with admission.slot():
                return judge_upload()
        except Busy as reason:
            return _error(503, f"the server is busy ({reason}); try again in {retry_after} s", {"Retry-After": retry_after})

    def judge_upload():
        upload = request.files.get(UPLOAD_FIELD)
        if upload is None:
            return _error(400, f"send the clip as the multipart/form-data field {UPLOAD_FIELD!r}")
        name = display_name(upload.filename or "")
        handle, path = tempfile.mkstemp(dir=upload_dir, prefix="upload-", suffix=_suffix(name))
        try:
            with os.fdopen(handle, "wb") as out:
                upload.save(out)
            if os.path.getsize(path) == 0:
                return _error(400, f"{name}: empty file; choose a video clip")
            try:
                too_large = pixel_refusal(path, config)
                if too_large:
                    return _error(413, f"{name}: {too_large}")
                analysis = analyse_clip(path, predictor, config)
            except ClipError as error:
                reason = str(error).replace(f"{path}: ", "")
                return _error(415, f"{name}: not a video that can be decoded ({reason}); upload a video clip such as MP4 or AVI")
            return jsonify(analysis.to_json(name, thumbnails=True))
        finally:
            os.unlink(path)

    @app.errorhandler(413)
    def too_large(_):
        return _error(413, f"upload too large: the limit is {config.max_upload_mb:g} MB (harflow serve --max-upload-mb)")

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        return _error(error.code or 500, f"{error.name}: {error.description}")

    return app


def display_name(filename: str) -> str:
    """The client's file name, safe to echo: its last path part, no control characters, at most 120 characters.

    "../../etc/passwd" -> "passwd"; "C:\\\\clips\\\\a b.mp4" -> "a b.mp4"; unicode stays. Never used as a path.
    """
    name = re.split(r"[\\/]", filename)[-1]
    name = "".join(ch for ch in unicodedata.normalize("NFC", name) if unicodedata.category(ch)[0] != "C").strip()
    if name in ("", ".", ".."):
        return "upload"
    return name[:120]


def accepted_files() -> str:
    """The upload field's `accept`: any video type, and every suffix harflow.video.VIDEO_SUFFIXES names."""
    return ",".join(("video/*", *VIDEO_SUFFIXES))


def _suffix(name: str) -> str:
    """A known video suffix of the client's name (helps FFmpeg's probing), else .video; never anything else."""
    suffix = Path(name).suffix.lower()
    return suffix if suffix in VIDEO_SUFFIXES else ".video"


def _private_dir(path: str) -> str:
    """The upload folder, made private to this user; a new temp dir when none is configured."""
    if not path:
        return tempfile.mkdtemp(prefix="harflow-uploads-")
    Path(path).mkdir(parents=True, exist_ok=True)
    os.chmod(path, 0o700)
    return str(Path(path).resolve())


def _error(status: int, message: str, headers: dict[str, str] | None = None):
    return jsonify(error=message), status, headers or {}

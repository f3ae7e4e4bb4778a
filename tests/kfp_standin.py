"""A stand-in of the Kubeflow Pipelines REST API (v2beta1) on loopback, for tests.

There is no Kubernetes here, so no real Kubeflow Pipelines. This server speaks
the part of its REST API that `kfp.Client` uses to upload a pipeline and start
a run (the routes and JSON field names of kfp_server_api's v2beta1 models):

    GET  /apis/v2beta1/healthz
    GET  /apis/v2beta1/pipelines?filter=...            list (by display_name)
    POST /apis/v2beta1/pipelines/upload?name=...       multipart "uploadfile": a new pipeline + its first version
    POST /apis/v2beta1/pipelines/upload_version?name=...&pipelineid=...
    GET  /apis/v2beta1/pipelines/{id}/versions
    GET  /apis/v2beta1/experiments?filter=...          list (by display_name)
    POST /apis/v2beta1/experiments
    POST /apis/v2beta1/runs

It records every request (method, path, query, headers, body; uploads with the
uploaded file's text) so tests can check what the client sent; `healthz_error` makes its
first health check fail (503), as a server that is not ready yet answers. It does not run
anything. Other routes answer 404, like the real server for unknown paths.
"""

from __future__ import annotations

import itertools
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

PREFIX = "/apis/v2beta1"


@dataclass
class Recorded:
    method: str
    path: str
    query: dict
    headers: dict  # names in lower case
    body: object  # JSON for JSON requests; {"file": text, "filename": name} for uploads


@dataclass
class KfpStandIn:
    """The server's state: pipelines, versions, experiments, runs, and every request received."""

    requests: list = field(default_factory=list)
    pipelines: dict = field(default_factory=dict)  # id -> pipeline JSON
    versions: dict = field(default_factory=dict)  # pipeline id -> [version JSON]
    experiments: dict = field(default_factory=dict)
    runs: dict = field(default_factory=dict)
    healthz_error: str = ""  # when set, the first health check answers 503 with this error text (then it is cleared)
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))

    def new_id(self, kind: str) -> str:
        return f"{kind}-{next(self._ids):04d}"

    def uploads(self) -> list:
        return [r for r in self.requests if r.path.startswith(PREFIX + "/pipelines/upload")]

    def run_requests(self) -> list:
        return [r for r in self.requests if r.method == "POST" and r.path == PREFIX + "/runs"]


def _by_display_name(items, query: dict) -> list:
    """The list filtered as the server does for {"predicates": [{"key": "display_name", "stringValue": ...}]}."""
    text = query.get("filter", [""])[0]
    if not text:
        return list(items)
    wanted = [p["stringValue"] for p in json.loads(text)["predicates"] if p["key"] == "display_name"]
    return [item for item in items if not wanted or item["display_name"] in wanted]


def _multipart_file(content_type: str, body: bytes) -> dict:
    """The "uploadfile" part of a multipart/form-data body: its file name and text."""
    boundary = content_type.split("boundary=", 1)[1].strip('"').encode()
    for part in body.split(b"--" + boundary):
        head, _, content = part.partition(b"\r\n\r\n")
        if b'name="uploadfile"' in head:
            filename = head.split(b'filename="', 1)[1].split(b'"', 1)[0].decode()
            return {"filename": filename, "file": content.rstrip(b"\r\n").decode()}
    return {}


class _Handler(BaseHTTPRequestHandler):
    state: KfpStandIn  # set on the subclass made per server

    def log_message(self, format, *args):  # quiet
        pass

    def _reply(self, status: int, payload: dict) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _record(self, body) -> tuple[str, dict]:
        url = urlparse(self.path)
        query = parse_qs(url.query)
        self.state.requests.append(Recorded(self.command, url.path, query, {name.lower(): value for name, value in self.headers.items()}, body))
        return url.path, query

    def do_GET(self) -> None:
        path, query = self._record(None)
        state = self.state
        if path == PREFIX + "/healthz":
            if state.healthz_error:
                error, state.healthz_error = state.healthz_error, ""
                return self._reply(503, {"error": error, "code": 14})
            return self._reply(200, {"multi_user": False})
        if path == PREFIX + "/pipelines":
            found = _by_display_name(state.pipelines.values(), query)
            return self._reply(200, {"pipelines": found, "total_size": len(found)} if found else {})
        if path.startswith(PREFIX + "/pipelines/") and path.endswith("/versions"):
            pipeline_id = path.split("/")[-2]
            versions = sorted(state.versions.get(pipeline_id, []), key=lambda v: v["created_at"], reverse=True)
            return self._reply(200, {"pipeline_versions": versions, "total_size": len(versions)})
        if path == PREFIX + "/experiments":
            found = _by_display_name(state.experiments.values(), query)
            return self._reply(200, {"experiments": found, "total_size": len(found)} if found else {})
        return self._reply(404, {"error": f"no route {path}", "code": 5})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        content_type = self.headers.get("Content-Type", "")
        body = _multipart_file(content_type, raw) if content_type.startswith("multipart/") else json.loads(raw or b"{}")
        path, query = self._record(body)
        state = self.state
        now = f"2026-01-01T00:00:{len(state.requests):02d}Z"
        if path == PREFIX + "/pipelines/upload":
            name = query["name"][0]
            if any(p["display_name"] == name for p in state.pipelines.values()):
                return self._reply(409, {"error": f"pipeline {name} already exists", "code": 6})
            pipeline = {"pipeline_id": state.new_id("pipeline"), "display_name": name, "created_at": now}
            state.pipelines[pipeline["pipeline_id"]] = pipeline
            version = {"pipeline_id": pipeline["pipeline_id"], "pipeline_version_id": state.new_id("version"), "display_name": name, "created_at": now}
            state.versions[pipeline["pipeline_id"]] = [version]
            return self._reply(200, pipeline)
        if path == PREFIX + "/pipelines/upload_version":
            pipeline_id = query["pipelineid"][0]
            if pipeline_id not in state.pipelines:
                return self._reply(404, {"error": f"no pipeline {pipeline_id}", "code": 5})
            version = {"pipeline_id": pipeline_id, "pipeline_version_id": state.new_id("version"), "display_name": query["name"][0], "created_at": now}
            state.versions[pipeline_id].append(version)
            return self._reply(200, version)
        if path == PREFIX + "/experiments":
            experiment = {**body, "experiment_id": state.new_id("experiment"), "created_at": now}
            state.experiments[experiment["experiment_id"]] = experiment
            return self._reply(200, experiment)
        if path == PREFIX + "/runs":
            run = {**body, "run_id": state.new_id("run"), "state": "PENDING", "created_at": now}
            state.runs[run["run_id"]] = run
            return self._reply(200, run)
        return self._reply(404, {"error": f"no route {path}", "code": 5})


class running_standin:
    """`with running_standin() as (url, state):` a stand-in server on 127.0.0.1, stopped on exit."""

    def __init__(self, token: str = "", healthz_error: str = "") -> None:
        self.state = KfpStandIn(healthz_error=healthz_error)
        self.token = token

    def __enter__(self):
        handler = type("Handler", (_Handler,), {"state": self.state})
        if self.token:
            handler = _requiring_token(handler, self.token)
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return f"http://127.0.0.1:{self.server.server_address[1]}", self.state

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


def _requiring_token(handler, token: str):
    """The handler, answering 401 (as Kubeflow's auth proxy does) unless `Authorization: Bearer <token>`."""

    def guard(method):
        def checked(self):
            if self.headers.get("Authorization") != f"Bearer {token}":
                self._record(None)
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                return self._reply(401, {"error": "Unauthenticated", "code": 16})
            return method(self)

        return checked

    return type("GuardedHandler", (handler,), {"do_GET": guard(handler.do_GET), "do_POST": guard(handler.do_POST)})

"""Run the web app under waitress, a production WSGI server (never Flask's debug server)."""

from __future__ import annotations

import shutil
import threading

from harflow.config import WebConfig
from harflow.serving.predictor import Predictor
from harflow.serving.web.app import create_app


def make_server(predictor: Predictor, config: WebConfig = WebConfig()):
    """A waitress server for the app, bound to config.host:config.port (port 0: any free port).

    Waitress reads a whole request before the app sees it, so its own body limit is set a little
    above the app's (multipart overhead); the app answers uploads over max_upload_mb with 413.
    """
    from waitress import create_server

    app = create_app(predictor, config)
    server = create_server(
        app,
        host=config.host,
        port=config.port,
        threads=config.threads,
        max_request_body_size=2 * config.max_upload_bytes + (1 << 20),
        ident="harflow",
        clear_untrusted_proxy_headers=True,
    )
    server.app = app
    return server


def shutdown(server) -> None:
    """Close the server's sockets; remove the upload folder when it was a temp dir made for it."""
    server.close()
    if server.app.config["UPLOAD_DIR_IS_TEMPORARY"]:
        shutil.rmtree(server.app.config["UPLOAD_DIR"], ignore_errors=True)


def url_of(server) -> str:
    return f"http://{server.effective_host}:{server.effective_port}/"


class BackgroundServer:
    """The app served by waitress in a thread (tests, benchmarks): `with BackgroundServer(p, c) as s: s.url`."""

    def __init__(self, predictor: Predictor, config: WebConfig = WebConfig(host="127.0.0.1", port=0)):
        self.server = make_server(predictor, config)
        self.url = url_of(self.server)
        self.upload_dir = self.server.app.config["UPLOAD_DIR"]
        self._thread = threading.Thread(target=self.server.run, name="harflow-web", daemon=True)

    def __enter__(self) -> "BackgroundServer":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        shutdown(self.server)
        self._thread.join(timeout=10)

"""Run the web app under waitress, a production WSGI server (never Flask's debug server).

`make_server` binds the port with waitress's connection limits and timeouts from WebConfig,
and a deadline for receiving a whole request (serving.web.deadline), so slow or idle clients
cannot hold every connection. `serve_until_signalled` answers
requests until SIGTERM or SIGINT, then stops gracefully (`drain`): new requests get 503,
the port is closed, requests in flight get up to WebConfig.shutdown_grace_s to finish,
and `shutdown` removes the uploads and the temp upload folder.
"""

from __future__ import annotations

import resource
import shutil
import signal
import threading
import time
from pathlib import Path

from harflow.config import WebConfig
from harflow.serving.predictor import Predictor
from harflow.serving.web.app import create_app

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def make_server(predictor: Predictor, config: WebConfig = WebConfig()):
    """A waitress server for the app, bound to config.host:config.port (port 0: any free port).

    Waitress reads a whole request before the app sees it (bodies over 512 KB spill to a temp file),
    so its own body limit is set a little above the app's (multipart overhead); the app answers
    uploads over max_upload_mb with 413. A request not fully received within request_timeout_s of its
    first byte gets 408 and its connection is closed, looked for every cleanup_interval_s (at most a
    quarter of the deadline).
    """
    from waitress.adjustments import Adjustments

    from harflow.serving.web.deadline import DeadlineServer

    app = create_app(predictor, config)
    _allow_open_files(config.connection_limit + 64)
    adjustments = Adjustments(
        host=config.host,
        port=config.port,
        threads=config.threads,
        max_request_body_size=2 * config.max_upload_bytes + (1 << 20),
        max_request_header_size=config.max_header_kb * 1024,
        connection_limit=config.connection_limit,
        channel_timeout=config.channel_timeout_s,
        cleanup_interval=min(config.cleanup_interval_s, max(1, config.request_timeout_s // 4)),
        ident="harflow",
        clear_untrusted_proxy_headers=True,
    )
    if len(adjustments.listen) != 1:
        raise ValueError(f"--host {config.host} names {len(adjustments.listen)} addresses; give one address, e.g. 127.0.0.1 or 0.0.0.0")
    server = DeadlineServer(app, adj=adjustments, request_timeout_s=config.request_timeout_s)
    server.app = app
    return server


def _allow_open_files(wanted: int) -> None:
    """Raise this process's open-file limit towards `wanted` (one descriptor per connection), within the hard limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted if hard == resource.RLIM_INFINITY else min(wanted, hard), hard))


def serve_until_signalled(server, grace_s: float, say=None) -> None:
    """Answer requests until SIGTERM or SIGINT (a repeat while stopping is ignored), then `drain`.

    SIGINT is left alone when this process was started with it ignored (a background job).
    """
    say = say or _say
    stop = threading.Event()

    def on_signal(number, _frame):
        if stop.is_set():
            say(f"harflow serve: {signal.Signals(number).name} again: still stopping (at most {grace_s:g} s)")
        stop.set()

    previous = {number: signal.getsignal(number) for number in STOP_SIGNALS}
    for number, handler in previous.items():
        if handler is not signal.SIG_IGN:
            signal.signal(number, on_signal)
    try:
        while not stop.is_set():
            _poll(server, timeout=server.adj.asyncore_loop_timeout)
        say("harflow serve: stopping: new requests get 503, requests in flight may finish")
        unfinished = drain(server, grace_s)
        if unfinished:
            say(f"harflow serve: {unfinished} request(s) still unanswered after {grace_s:g} s were cut off")
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def _say(message: str) -> None:
    print(message, flush=True)


def drain(server, grace_s: float) -> int:
    """Stop taking work: 503 for new requests, the listening socket closed (the port is free), then keep
    answering until no connection has a request in flight or grace_s has passed. Returns the requests cut off."""
    from waitress import wasyncore

    server.app.config["STOPPING"].set()
    wasyncore.dispatcher.close(server)  # the listening socket only; open connections stay
    deadline = time.monotonic() + grace_s
    while _requests_in_flight(server) and time.monotonic() < deadline:
        _poll(server, timeout=0.05)
    unfinished = _requests_in_flight(server)
    server.task_dispatcher.shutdown(cancel_pending=True, timeout=max(0.0, deadline - time.monotonic()))
    wasyncore.close_all(server._map)
    return unfinished


def _poll(server, timeout: float) -> None:
    """One round of waitress's event loop: accept, read, write what its threads answered."""
    server.asyncore.loop(timeout=timeout, map=server._map, use_poll=server.adj.asyncore_use_poll, count=1)


def _requests_in_flight(server) -> int:
    """Connections with a request being received, waiting for a thread, being answered or being sent."""
    from waitress.channel import HTTPChannel

    return sum(
        1 for channel in list(server._map.values())
        if isinstance(channel, HTTPChannel) and (channel.request is not None or channel.requests or channel.total_outbufs_len)
    )


def shutdown(server) -> None:
    """Close the server's sockets; remove the uploads left, and the upload folder when it was a temp dir made for it."""
    server.close()
    upload_dir = Path(server.app.config["UPLOAD_DIR"])
    if server.app.config["UPLOAD_DIR_IS_TEMPORARY"]:
        shutil.rmtree(upload_dir, ignore_errors=True)
        return
    for left in upload_dir.glob("upload-*"):  # only the app's own generated names
        left.unlink(missing_ok=True)


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

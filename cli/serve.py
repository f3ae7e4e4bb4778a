"""`harflow serve`: the web app under waitress (an upload page, POST /api/predict, /healthz; docs/web.md)."""

from __future__ import annotations

import argparse

from harflow.cli.options import add_command, add_model_options, add_window_options, field_option
from harflow.cli.predict import open_predictor, web_config
from harflow.config import WebConfig


def add_commands(commands) -> None:
    serve = add_command(commands, "serve", cmd_serve, "the web app: upload a clip in a browser, or POST it to /api/predict")
    add_model_options(serve)
    web = WebConfig()
    group = serve.add_argument_group("web server")
    field_option(group, web, "host", help="address to listen on; 0.0.0.0 for every interface")
    field_option(group, web, "port", help="the port to listen on")
    field_option(group, web, "threads", help="waitress worker threads")
    field_option(group, web, "max_upload_mb", help="larger uploads get 413")
    field_option(group, web, "upload_dir", help="where uploads wait while analysed (made private; default: a new temp dir, removed at exit)")
    add_window_options(group, live=False)


def cmd_serve(args: argparse.Namespace) -> int:
    """Serve a page where people drop a video clip and read the top-5 actions (with confidence bars, the time
    it took and, for clips longer than one window, a timeline), a JSON API (POST /api/predict, multipart
    field 'clip') and GET /healthz, under waitress (a production WSGI server), until Ctrl-C or SIGTERM.
    The model is loaded once: the pushed SavedModel in process (--model, default), or TF Serving
    (--server HOST:PORT over gRPC, or --rest URL). Uploads are limited in size, judged by decoding them,
    stored outside the web root under generated names and deleted after the answer (docs/web.md)."""
    from harflow.serving.web.server import make_server, shutdown, url_of

    config = web_config(args)
    predictor = open_predictor(args)
    server = make_server(predictor, config)
    url = url_of(server)
    print(f"model: {predictor.description} ({len(predictor.classes)} classes, {predictor.num_frames} frames of {predictor.image_size}px)")
    print(f"page: {url}   API: POST {url}api/predict   health: {url}healthz")
    print(f"limits: {config.max_upload_mb:g} MB per upload, the first {config.max_clip_seconds:g} s of a clip; "
          f"{config.threads} threads; uploads wait in {server.app.config['UPLOAD_DIR']}   (Ctrl-C stops)", flush=True)
    try:
        server.run()  # until Ctrl-C (waitress returns) or SIGTERM
    finally:
        shutdown(server)
        predictor.close()
    print("harflow serve: stopped", flush=True)
    return 0

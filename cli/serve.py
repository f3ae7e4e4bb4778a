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
    limits = serve.add_argument_group("limits (docs/web.md)")
    field_option(limits, web, "max_frame_pixels", metavar="N", help="width x height of a clip's frames; larger clips get 413 before decoding")
    field_option(limits, web, "max_clip_pixels", metavar="N", help="width x height x frames analysed; more gets 413")
    field_option(limits, web, "max_analyses", metavar="N", help="uploads analysed at once, below --threads")
    field_option(limits, web, "analysis_wait_s", "--analysis-wait", metavar="SECONDS", help="seconds an upload waits for a slot before 503 + Retry-After")
    field_option(limits, web, "connection_limit", metavar="N", help="open connections at most")
    field_option(limits, web, "channel_timeout_s", "--channel-timeout", metavar="SECONDS", help="seconds before an idle connection is closed")
    field_option(limits, web, "request_timeout_s", "--request-timeout", metavar="SECONDS",
                 help="seconds a request may take to arrive, from its first byte; slower ones get 408 and are closed")
    field_option(limits, web, "cleanup_interval_s", "--cleanup-interval", metavar="SECONDS", help="how often idle and slow connections are looked for")
    field_option(limits, web, "max_header_kb", metavar="KB", help="larger request headers are refused")
    field_option(limits, web, "shutdown_grace_s", "--shutdown-grace", metavar="SECONDS", help="SIGTERM/SIGINT: seconds requests in flight get to finish")
    who = serve.add_argument_group("privileges: started as root, serve drops root before it accepts a request (docs/web.md)")
    field_option(who, web, "user", metavar="NAME", help="started as root: become this user once the port is bound and the model loaded "
                 f"(default inside harflow's root file system: {web.run_as_default}; elsewhere root is refused)")
    field_option(who, web, "allow_root", help="stay root while decoding uploads (not recommended)")


def cmd_serve(args: argparse.Namespace) -> int:
    """Serve a page where people drop a video clip and read the top-5 actions (with confidence bars, the time
    it took and, for clips longer than one window, a timeline), a JSON API (POST /api/predict, multipart
    field 'clip') and GET /healthz, under waitress (a production WSGI server), until Ctrl-C or SIGTERM.
    The model is loaded once: the pushed SavedModel in process (--model, default), or TF Serving
    (--server HOST:PORT over gRPC, or --rest URL). Uploads are limited in size, judged by decoding them,
    stored outside the web root under generated names and deleted after the answer (docs/web.md).
    Started as root, it becomes an unprivileged user once the port is bound and the model loaded
    (--user; nobody inside harflow's root file system; elsewhere root is refused unless --allow-root).
    SIGTERM or SIGINT stop it gracefully: requests in flight finish, uploads are removed, exit status 0."""
    import os
    import pwd

    from harflow.serving.web.privileges import account_to_become, become
    from harflow.serving.web.server import make_server, serve_until_signalled, shutdown, url_of

    config = web_config(args)
    account = account_to_become(config)  # a refusal comes before the model is loaded
    predictor = open_predictor(args)
    server = make_server(predictor, config)
    try:
        if account is not None:
            become(account, server.app.config["UPLOAD_DIR"])
        url = url_of(server)
        print(f"model: {predictor.description} ({len(predictor.classes)} classes, {predictor.num_frames} frames of {predictor.image_size}px)")
        print(f"page: {url}   API: POST {url}api/predict   health: {url}healthz")
        print(f"limits: {config.max_upload_mb:g} MB per upload, the first {config.max_clip_seconds:g} s of a clip, "
              f"{config.max_frame_pixels / 1e6:g} megapixels per frame; {config.max_analyses} analyses at once, {config.threads} threads; "
              f"running as {pwd.getpwuid(os.geteuid()).pw_name}; uploads wait in {server.app.config['UPLOAD_DIR']}   (Ctrl-C stops)", flush=True)
        serve_until_signalled(server, config.shutdown_grace_s)
    finally:
        shutdown(server)
        predictor.close()
    print("harflow serve: stopped", flush=True)
    return 0

"""Load on the web app: uploads from concurrent clients against `harflow serve` on loopback.

    bin/harflow env run -- python benchmarks/web_load.py            # full: 50 uploads, 8 clients (and 1 client beside it)
    bin/harflow env run -- python benchmarks/web_load.py --quick    # a smoke run: 8 uploads, 4 clients; no report written

The server is the real command, `harflow serve` (waitress, its default threads
and limits, the model loaded once, in process), started as its own process on
127.0.0.1 with a free port and a temp upload folder of its own (benchmarks.web_attack.ServeProcess). Each client is a thread with its own
HTTP session that takes the next upload from a shared queue and POSTs it to
/api/predict as multipart/form-data, as the page does. A latency is one
upload's wall-clock time at the client: sending the file, the server writing
it, decoding and sampling it, the model, the timeline of a long clip, the JSON.
Then: every upload answered 200, and no file left in the upload folder.

Model: harflow's default model (small CNN + GRU, 8 frames of 64x64; random
weights, which do not change the time), exported by trainer/export.py, or
--model DIR. Clips: 10 different 320x240 MJPG clips of --seconds at 25 fps
(longer than one 2-s window, so every answer includes a timeline), cycled.
"""

from __future__ import annotations

import argparse
import queue
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.report import markdown_table, write_section  # noqa: E402
from benchmarks.serving import default_model, export, percentile, write_clips  # noqa: E402
from benchmarks.web_attack import ServeProcess  # noqa: E402

NAME = "web-load"


def upload_all(url: str, clips: list[Path], uploads: int, clients: int) -> tuple[list[int], list[float], float]:
    """`uploads` POSTs of the clips (cycled) from `clients` threads; (status codes, latencies in s, wall s)."""
    import requests

    jobs: queue.Queue[Path] = queue.Queue()
    for i in range(uploads):
        jobs.put(clips[i % len(clips)])
    statuses, latencies, lock = [], [], threading.Lock()
    barrier = threading.Barrier(clients + 1)

    def client() -> None:
        session = requests.Session()
        barrier.wait()
        while True:
            try:
                clip = jobs.get_nowait()
            except queue.Empty:
                break
            started = time.perf_counter()
            with open(clip, "rb") as handle:
                response = session.post(f"{url}api/predict", files={"clip": (clip.name, handle)}, timeout=300)
            elapsed = time.perf_counter() - started
            with lock:
                statuses.append(response.status_code)
                latencies.append(elapsed)
        session.close()

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    return statuses, latencies, time.perf_counter() - started


def measure(model: Path, clips: list[Path], uploads: int, clients: int) -> list[object]:
    with ServeProcess(model) as server:
        upload_all(server.url, clips[:1], 1, 1)  # warm-up: the first request of each path
        statuses, latencies, wall = upload_all(server.url, clips, uploads, clients)
        left = sorted(p.name for p in server.upload_dir.iterdir())
    answered = sum(status == 200 for status in statuses)
    row = [clients, uploads, f"{answered}/{uploads}", f"{statistics.median(latencies):.3f}", f"{percentile(latencies, 95):.3f}",
           f"{max(latencies):.3f}", f"{uploads / wall:.2f}", len(left)]
    print(" | ".join(str(c) for c in row), flush=True)
    if answered != uploads or left:
        raise SystemExit(f"FAILED: {answered}/{uploads} answered 200, files left in the upload folder: {left}")
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--uploads", type=int, default=50, help="(default: %(default)s)")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients (default: %(default)s)")
    parser.add_argument("--seconds", type=float, default=4.0, help="length of each clip (default: %(default)s)")
    parser.add_argument("--model", help="a SavedModel or TF Serving base path (default: harflow's default model, exported here)")
    parser.add_argument("--quick", action="store_true", help="8 uploads, 4 clients, 3-s clips; no report written")
    args = parser.parse_args()
    if args.quick:
        args.uploads, args.clients, args.seconds = 8, 4, 3.0

    import os

    with tempfile.TemporaryDirectory(prefix="harflow-bench-web-") as tmp:
        tmp = Path(tmp)
        clips = write_clips(tmp / "clips", 10, args.seconds)
        if args.model:
            model = Path(args.model)
        else:
            keras_model, ingest = default_model(8)
            model = export(keras_model, tmp / "model", ingest)
        rows = [measure(model, clips, args.uploads, clients) for clients in (1, args.clients)]

    header = ["clients", "uploads", "answered 200", "median s", "p95 s", "max s", "uploads/s", "files left"]
    print(markdown_table(header, rows))
    if args.quick:
        return
    speedup = float(rows[1][6]) / float(rows[0][6])
    body = (
        f"`harflow serve` (waitress, its default threads and limits, the model loaded once in process) on 127.0.0.1, in its own process; "
        f"{args.uploads} uploads of 10 different {args.seconds:g}-s 320x240 MJPG clips (25 fps, so each answer has a "
        f"timeline of 2-s windows) POSTed to /api/predict by 1 client, then by {args.clients} concurrent clients "
        "(threads, one HTTP session each). A latency is one upload at the client: send, store, decode and sample, "
        "predict the clip and each window, answer JSON. Model: harflow's default (small CNN + GRU, 8 frames of 64x64, "
        f"random weights). Every upload was answered 200 and no file was left in the upload folder (checked by the script). "
        f"The machine has {os.cpu_count()} cores, shared by server and clients.\n\n"
        + markdown_table(header, rows)
        + f"\n\n{args.clients} clients vs 1: {speedup:.2f}x the uploads per second; the latency grows as requests queue "
        "for the server's threads and cores."
    )
    write_section(NAME, "Web app: concurrent uploads", "bin/harflow env run -- python benchmarks/web_load.py", body)


if __name__ == "__main__":
    main()

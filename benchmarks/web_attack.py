"""The attacks of issue 17 on `harflow serve`, on loopback: huge-frame uploads and slow connections.

    bin/harflow env run -- python benchmarks/web_attack.py            # 3 runs of 20 s; writes docs/benchmarks.md
    bin/harflow env run -- python benchmarks/web_attack.py --quick    # 1 run of 8 s; no report written

The server is the real command, `harflow serve` with its default limits, started as its
own process on 127.0.0.1 (as root it becomes `nobody` before accepting a request). While
it runs, for --seconds:

- 4 clients upload, again and again, a 1-frame 12000x12000 MJPG clip (a few MB; 144
  megapixels per frame, 432 MB per decoded frame): each is refused with 413 after its header
  is read (WebConfig.max_frame_pixels);
- 120 slow clients each open a connection, send half a request header and then one byte
  every 2 s, as a slowloris does;
- a prober asks GET /healthz every 0.2 s on a new connection, as a load balancer does.

Measured: the server process's peak resident memory (VmHWM in /proc/PID/status, model
included) and /healthz's latency (median, p95, max). Nothing leaves the loopback interface.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.report import markdown_table, write_section  # noqa: E402
from benchmarks.serving import default_model, export, percentile  # noqa: E402

NAME = "web-attack"


def huge_clip(path: Path, side: int = 12000, frames: int = 1) -> Path:
    """A `frames`-frame side x side MJPG clip (stripes compress to a few MB; each frame decodes to side*side*3 bytes)."""
    import numpy as np

    from harflow.video import write_video

    row = np.zeros((side, 1, 3), np.uint8)
    row[::64] = 255
    write_video(path, np.broadcast_to(row, (frames, side, side, 3)))
    return path


class ServeProcess:
    """`harflow serve` as its own process on a free loopback port; `.url`, `.pid`, `.upload_dir` once it is serving.

    command: what runs `serve` (e.g. through the `harflow env run --` wrapper; then `.pid` is the wrapper's).
    Stopped with SIGTERM by default (a suite started in the background ignores SIGINT, and so do its children).
    """

    def __init__(self, model: Path, *options: str, command: list[str] | None = None, preexec_fn=None):
        command = [sys.executable, "-m", "harflow", *(command or ["serve"])]
        self.command = [*command, "--model", str(model), "--host", "127.0.0.1", "--port", "0", *options]
        if os.geteuid() == 0 and "--user" not in options and "--allow-root" not in options:
            self.command += ["--user", "nobody"]
        self.preexec_fn = preexec_fn
        self.lines: list[str] = []

    def __enter__(self) -> "ServeProcess":
        self.process = subprocess.Popen(self.command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, preexec_fn=self.preexec_fn)
        self.pid = self.process.pid
        for line in self.process.stdout:
            self.lines.append(line)
            if match := re.search(r"page: (http://\S+)", line):
                self.url = match.group(1)
            if match := re.search(r"uploads wait in (\S+)", line):
                self.upload_dir = Path(match.group(1))
                threading.Thread(target=self._keep_reading, daemon=True).start()
                return self
        raise RuntimeError(f"harflow serve exited ({self.process.wait()}) before serving:\n{''.join(self.lines)}")

    def _keep_reading(self) -> None:
        for line in self.process.stdout:
            self.lines.append(line)

    def stop(self, number: int = signal.SIGTERM, timeout: float = 60) -> int:
        self.process.send_signal(number)
        return self.process.wait(timeout=timeout)

    def __exit__(self, *exc) -> None:
        if self.process.poll() is None:
            self.stop()


def peak_memory_mb(pid: int) -> float:
    """The process's peak resident memory so far (VmHWM), in MB."""
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1)) / 1024


class SlowClients:
    """`count` connections that each send half a request header, then one more byte every `interval` s."""

    def __init__(self, url: str, count: int, interval: float = 2.0):
        host, port = re.match(r"http://([^:/]+):(\d+)", url).groups()
        self.address, self.count, self.interval = (host, int(port)), count, interval
        self.stop = threading.Event()

    def __enter__(self) -> "SlowClients":
        self.sockets = []
        for _ in range(self.count):
            sock = socket.create_connection(self.address, timeout=5)
            sock.sendall(b"POST /api/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100000\r\nX-Slow: ")
            self.sockets.append(sock)
        self.thread = threading.Thread(target=self._trickle, daemon=True)
        self.thread.start()
        return self

    def _trickle(self) -> None:
        while not self.stop.wait(self.interval):
            for sock in self.sockets:
                try:
                    sock.sendall(b"a")
                except OSError:  # the server closed it (idle or too slow): fine
                    pass

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join()
        for sock in self.sockets:
            sock.close()


def attack(server: ServeProcess, clip: Path, seconds: float, uploaders: int = 4, slow: int = 120) -> dict:
    """Run the attacks for `seconds` while probing /healthz; the statuses, the latencies and the memory peak."""
    import requests

    statuses, health, errors = [], [], []
    deadline = time.monotonic() + seconds

    def upload() -> None:
        while time.monotonic() < deadline:
            with open(clip, "rb") as handle:
                response = requests.post(f"{server.url}api/predict", files={"clip": ("huge.avi", handle)}, timeout=120)
            statuses.append(response.status_code)

    def probe() -> None:
        while time.monotonic() < deadline:
            started = time.perf_counter()
            try:
                ok = requests.get(f"{server.url}healthz", timeout=30).status_code == 200
            except requests.RequestException as error:
                ok = False
                errors.append(str(error))
            health.append((time.perf_counter() - started) if ok else float("inf"))
            time.sleep(0.2)

    with SlowClients(server.url, slow):
        threads = [threading.Thread(target=upload) for _ in range(uploaders)] + [threading.Thread(target=probe)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    return {"statuses": statuses, "health": health, "errors": errors, "peak_mb": peak_memory_mb(server.pid)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="(default: %(default)s)")
    parser.add_argument("--seconds", type=float, default=20.0, help="attack length per run (default: %(default)s)")
    parser.add_argument("--quick", action="store_true", help="1 run of 8 s; no report written")
    args = parser.parse_args()
    if args.quick:
        args.runs, args.seconds = 1, 8.0

    rows = []
    with tempfile.TemporaryDirectory(prefix="harflow-bench-attack-") as tmp:
        tmp = Path(tmp)
        clip = huge_clip(tmp / "huge.avi")
        clip_mb = clip.stat().st_size / 1e6
        keras_model, ingest = default_model(8)
        model = export(keras_model, tmp / "model", ingest)
        for run in range(1, args.runs + 1):
            with ServeProcess(model) as server:
                result = attack(server, clip, args.seconds)
                code = server.stop()
            health = result["health"]
            rows.append([run, len(result["statuses"]), " ".join(f"{s}x{result['statuses'].count(s)}" for s in sorted(set(result["statuses"]))),
                         f"{result['peak_mb']:.0f}", len(health), f"{statistics.median(health):.3f}", f"{percentile(health, 95):.3f}",
                         f"{max(health):.3f}", code])
            print(" | ".join(str(cell) for cell in rows[-1]), flush=True)
    header = ["run", "huge uploads", "answers", "server peak MB (VmHWM)", "/healthz probes", "median s", "p95 s", "max s", "exit status"]
    print(markdown_table(header, rows))
    if args.quick:
        return
    body = (
        f"`harflow serve` with its default limits (WebConfig: {os.cpu_count()}-core machine shared with other work), on 127.0.0.1 in "
        f"its own process, as `nobody`. For {args.seconds:g} s per run: 4 clients upload a 1-frame 12000x12000 MJPG clip "
        f"({clip_mb:.1f} MB, 432 MB per decoded frame) again and again; 120 slow clients each hold a connection with half a "
        "request header and send a byte every 2 s; a prober asks GET /healthz every 0.2 s on a new connection. The server's peak "
        "memory includes TensorFlow and the model (harflow's default, small CNN + GRU). Then SIGTERM.\n\n"
        + markdown_table(header, rows)
        + "\n\nBefore the limits (issue 17, measured on the earlier main): 4 such uploads took the server to 6.55 GB, and "
        "/healthz stalled 43 s behind 4 heavy uploads and 40 s behind 120 slow connections."
    )
    write_section(NAME, "Web app under attack: huge frames and slow connections", "bin/harflow env run -- python benchmarks/web_attack.py", body)


if __name__ == "__main__":
    main()

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

    bin/harflow env run -- python benchmarks/web_attack.py --trickle  # 3 runs of 40 s each way; writes docs/benchmarks.md

--trickle: connections that trickle their request fill the connection limit. `harflow serve
--connection-limit 100` runs with a whole-request deadline (--request-timeout 10) and, in turn,
without one (a deadline of 10**6 s: as before WebConfig.request_timeout_s). 100 clients each send a
request header (Content-Length 1 MB), then one body byte every 1 s, so waitress's idle timeout never
closes them; a client that is cut off connects again at once, as an attacker would. A prober asks
GET /healthz one at a time (15-s timeout, then 0.2 s pause). Measured: the probes answered, their
latency, and how long the trickling connections lived.
"""

from __future__ import annotations

import argparse
import os
import re
import select
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


class Tricklers:
    """`count` connections that each send a request header, then one body byte every `interval` s; one that the
    server ends (408, a close or a reset) is replaced by a new one at once. `.lifetimes`: seconds each ended one lived."""

    HEADER = b"POST /api/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/octet-stream\r\nContent-Length: 1000000\r\n\r\n"

    def __init__(self, url: str, count: int, interval: float = 1.0):
        host, port = re.match(r"http://([^:/]+):(\d+)", url).groups()
        self.address, self.count, self.interval = (host, int(port)), count, interval
        self.lifetimes: list[float] = []
        self.stop = threading.Event()

    def _connect(self) -> tuple[socket.socket, float]:
        sock = socket.create_connection(self.address, timeout=5)  # completes in the listen backlog even when the server is full
        sock.sendall(self.HEADER)
        return sock, time.monotonic()

    def __enter__(self) -> "Tricklers":
        self.open = [self._connect() for _ in range(self.count)]
        self.thread = threading.Thread(target=self._trickle, daemon=True)
        self.thread.start()
        return self

    def _trickle(self) -> None:
        while not self.stop.wait(self.interval):
            for index, (sock, opened) in enumerate(self.open):
                if not self._still_open(sock):
                    self.lifetimes.append(time.monotonic() - opened)
                    sock.close()
                    self.open[index] = self._connect()

    @staticmethod
    def _still_open(sock: socket.socket) -> bool:
        """Sends one more byte; False when the server has answered, closed or reset the connection."""
        try:
            if select.select([sock], [], [], 0)[0]:
                return False  # a 408 or the end of the stream: either way the server is done with it
            sock.sendall(b"a")
            return True
        except OSError:
            return False

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join()
        for sock, _ in self.open:
            sock.close()


def probe_health(url: str, seconds: float, timeout: float = 15.0) -> list[float]:
    """GET /healthz one at a time for `seconds`: each probe's latency, inf for one not answered within `timeout`."""
    import requests

    latencies = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        started = time.perf_counter()
        try:
            ok = requests.get(f"{url}healthz", timeout=timeout).status_code == 200
        except requests.RequestException:
            ok = False
        latencies.append(time.perf_counter() - started if ok else float("inf"))
        time.sleep(0.2)
    return latencies


def trickle_run(model: Path, deadline_s: int, seconds: float, clients: int = 100) -> dict:
    """One run of --trickle: serve with a connection limit of `clients` and this request deadline, trickle, probe."""
    with ServeProcess(model, "--connection-limit", str(clients), "--request-timeout", str(deadline_s)) as server:
        with Tricklers(server.url, clients) as tricklers:
            health = probe_health(server.url, seconds)
            lifetimes = list(tricklers.lifetimes)
        code = server.stop()
    return {"health": health, "lifetimes": lifetimes, "code": code}


def trickle_main(args, model: Path) -> None:
    """--trickle: runs with and without the deadline, alternating; a table per run and the medians side by side."""
    settings = [("10 s", 10), ("none", 10**6)]
    rows, answered = [], {label: [] for label, _ in settings}
    for run in range(1, args.runs + 1):
        for label, deadline_s in settings:
            result = trickle_run(model, deadline_s, args.seconds)
            health, lifetimes = result["health"], result["lifetimes"]
            good = [latency for latency in health if latency != float("inf")]
            answered[label].append(len(good) / len(health))
            rows.append([label, run, len(health), len(good), f"{statistics.median(good):.2f}" if good else "-",
                         f"{max(good):.2f}" if good else "-", len(lifetimes),
                         f"{statistics.median(lifetimes):.1f}" if lifetimes else "-", result["code"]])
            print(" | ".join(str(cell) for cell in rows[-1]), flush=True)
    header = ["request deadline", "run", "/healthz probes", "answered", "median s", "max s", "trickling connections ended", "their median life s", "exit status"]
    with_deadline, without = statistics.median(answered["10 s"]), statistics.median(answered["none"])
    summary = markdown_table(["", "deadline 10 s", "no deadline", "ratio"], [[
        "/healthz probes answered (median of runs)", f"{with_deadline:.0%}", f"{without:.0%}",
        f"{with_deadline / without:.1f}x" if without else "- (none answered without)"]])
    print(markdown_table(header, rows) + "\n\n" + summary)
    if args.quick:
        return
    body = (
        f"`harflow serve --connection-limit 100` on 127.0.0.1 in its own process ({os.cpu_count()}-core machine shared with other work), "
        f"with `--request-timeout 10` and, alternating, without a deadline (10**6 s). For {args.seconds:g} s per run, 100 clients each send a "
        "request header (Content-Length 1 MB) and then one body byte every 1 s, so they are never idle (waitress's idle timeout, 30 s, "
        "never closes them); a client that is cut off connects again at once. A prober asks GET /healthz one at a time (15-s timeout, "
        "then 0.2 s pause); an unanswered probe waited in the listen backlog for a free connection.\n\n"
        + markdown_table(header, rows) + "\n\n" + summary
        + "\n\nWith the deadline a probe waits at most until the next round of cut-offs (10 s, looked for every 2 s), since it queued "
        "before the reconnecting tricklers; without it, no trickling connection ever ends and no probe gets in. Attackers that "
        "reconnect still hold most of the connection limit: for a server on the internet, a reverse proxy in front limits connections per client."
    )
    write_section("web-trickle", "Web app under attack: trickling clients against the connection limit",
                  "bin/harflow env run -- python benchmarks/web_attack.py --trickle", body)


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
    parser.add_argument("--trickle", action="store_true", help="trickling clients against the connection limit, with and without "
                        "the request deadline (default --seconds: 40)")
    args = parser.parse_args()
    if args.quick:
        args.runs, args.seconds = 1, 8.0 if not args.trickle else 25.0
    elif args.trickle and args.seconds == parser.get_default("seconds"):
        args.seconds = 40.0
    if args.trickle:
        with tempfile.TemporaryDirectory(prefix="harflow-bench-trickle-") as tmp:
            keras_model, ingest = default_model(8)
            trickle_main(args, export(keras_model, Path(tmp) / "model", ingest))
        return

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

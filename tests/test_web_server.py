"""The web app served for real: waitress on loopback (in a thread, or `harflow serve` as its own process),
concurrent uploads, and TF Serving as the backend.

TF Serving's binary cannot run here: the gRPC backend is tested against
tests/tf_serving_standin.py (GrpcStandIn), an in-process stand-in that speaks TF Serving's
PredictionService protocol.
"""

import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import pytest
import requests
from web_fixtures import export_untrained_model, write_clip

from benchmarks.web_attack import ServeProcess
from benchmarks.web_load import upload_all
from harflow import env
from harflow.child import run_child
from harflow.config import ServingConfig, WebConfig
from harflow.serving.predictor import open_predictor, predict_file
from harflow.serving.web.privileges import PrivilegeError, account_to_become, host_uid
from harflow.serving.web.server import BackgroundServer
from tests.tf_serving_standin import GrpcStandIn


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    root = tmp_path_factory.mktemp("served-model")
    return export_untrained_model(root / "harflow" / "1", seed=11).parent


@pytest.fixture(scope="module")
def predictor(model):
    return open_predictor(model=model)


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    root = tmp_path_factory.mktemp("served-clips")
    return [write_clip(root / f"clip{i}.avi", seed=i, frames=30 + 20 * i) for i in range(3)]


@pytest.fixture(scope="module")
def long_clip(tmp_path_factory):
    """A 30-s clip: its analysis (the whole clip and 15 windows) takes long enough for a signal to arrive meanwhile."""
    return write_clip(tmp_path_factory.mktemp("served-long") / "long.avi", seed=5, frames=750, size=160)


@pytest.fixture
def reachable_upload_dir():
    """An upload folder that `nobody` can reach (tmp_path's parents are private to root): the server makes it and gives it to its user."""
    folder = Path(tempfile.gettempdir()) / f"harflow-test-uploads-{uuid.uuid4().hex[:8]}"
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def test_concurrent_uploads_are_all_answered_and_leave_no_files(predictor, clips, tmp_path):
    config = WebConfig(host="127.0.0.1", port=0, upload_dir=str(tmp_path / "uploads"))
    with BackgroundServer(predictor, config) as server:
        statuses, latencies, _ = upload_all(server.url, clips, uploads=8, clients=4)
        left = list(Path(server.upload_dir).iterdir())
    assert statuses == [200] * 8 and len(latencies) == 8 and left == []


def test_an_oversized_upload_through_waitress_is_413_json(predictor, clips, tmp_path):
    config = WebConfig(host="127.0.0.1", port=0, max_upload_mb=0.001, upload_dir=str(tmp_path / "uploads"))
    with BackgroundServer(predictor, config) as server:
        response = requests.post(f"{server.url}api/predict", files={"clip": ("big.avi", clips[2].read_bytes())}, timeout=60)
        left = list(Path(server.upload_dir).iterdir())
    assert response.status_code == 413 and "upload too large" in response.json()["error"] and left == []


def test_a_temporary_upload_folder_is_removed_when_the_server_stops(predictor):
    with BackgroundServer(predictor, WebConfig(host="127.0.0.1", port=0)) as server:
        folder = Path(server.upload_dir)
        assert folder.is_dir() and requests.get(f"{server.url}healthz", timeout=30).json()["status"] == "ok"
    assert not folder.exists()


def test_with_tf_serving_as_backend_the_page_answers_what_the_model_answers(model, clips, tmp_path):
    expected = predict_file(open_predictor(model=model), clips[0], top=1)[0][0]
    with GrpcStandIn("harflow", model) as standin:
        backend = open_predictor(server=standin.target, serving=ServingConfig())
        config = WebConfig(host="127.0.0.1", port=0, upload_dir=str(tmp_path / "uploads"))
        with BackgroundServer(backend, config) as server:
            answer = requests.post(f"{server.url}api/predict", files={"clip": ("a.avi", clips[0].read_bytes())}, timeout=60).json()
            health = requests.get(f"{server.url}healthz", timeout=30).json()
        backend.close()
    assert answer["top"][0]["class"] == expected
    assert health["model"].startswith(f"TF Serving {standin.target}, model harflow")


def as_from_a_terminal() -> None:
    """Ctrl-C's SIGINT at its default in the child, as a terminal leaves it: a suite started in the
    background of a script (`make test &`) inherits SIGINT ignored, and Python then never raises
    KeyboardInterrupt."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_harflow_serve_loads_the_model_serves_and_stops_on_ctrl_c(model, reachable_upload_dir):
    uploads = reachable_upload_dir
    process = subprocess.Popen(
        [sys.executable, "-m", "harflow", "serve", "--model", str(model), "--port", "0", "--upload-dir", str(uploads)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, preexec_fn=as_from_a_terminal,
    )
    try:
        url = next(m.group(1) for line in process.stdout if (m := re.search(r"page: (http://\S+)", line)))
        health = requests.get(f"{url}healthz", timeout=30).json()
        page = requests.get(url, timeout=30)
    finally:
        process.send_signal(signal.SIGINT)
        code = process.wait(timeout=60)
    assert health["classes"] == 6 and page.status_code == 200 and "harflow" in page.headers["Server"]
    assert code == 0 and uploads.is_dir() and list(uploads.iterdir()) == []


def test_harflow_serve_without_a_model_is_a_one_line_error(tmp_path):
    result = subprocess.run([sys.executable, "-m", "harflow", "serve", "--model", str(tmp_path / "none")],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith(f"harflow: error: {tmp_path / 'none'}: no such model directory")


# --------------------------------------------------------------------------- privileges (issue 17, point 2)


def uid_and_gid_of(pid: int, task: str | None = None) -> tuple[list[int], list[int], str]:
    """(real, effective, saved, fs uids), the same for gids, and the supplementary groups of a process (or one thread)."""
    path = Path(f"/proc/{pid}") / (f"task/{task}" if task else "") / "status"
    fields = dict(line.split(":", 1) for line in path.read_text().splitlines())
    return [int(x) for x in fields["Uid"].split()], [int(x) for x in fields["Gid"].split()], fields["Groups"].strip()


needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="runs harflow serve as root (as the suite does in CI)")


@needs_root
def test_started_as_root_the_server_decodes_uploads_as_nobody(model, clips):
    nobody = pwd.getpwnam("nobody")
    with ServeProcess(model, "--user", "nobody") as server:
        folder = server.upload_dir.stat()
        answer = requests.post(f"{server.url}api/predict", files={"clip": ("a.avi", clips[0].read_bytes())}, timeout=60)
        threads = [uid_and_gid_of(server.pid, task) for task in os.listdir(f"/proc/{server.pid}/task")]
        code = server.stop()
    assert answer.status_code == 200 and code == 0
    assert "running as nobody" in "".join(server.lines)
    assert len(threads) > 1  # waitress's and TensorFlow's threads: every one has dropped root
    assert all(uids == [nobody.pw_uid] * 4 and gids == [nobody.pw_gid] * 4 and groups == "" for uids, gids, groups in threads)
    assert (folder.st_uid, folder.st_mode & 0o777) == (nobody.pw_uid, 0o700)


@needs_root
def test_as_root_outside_harflows_root_file_system_serve_refuses_without_user_or_allow_root(model):
    environment = {k: v for k, v in os.environ.items() if k != env.ROOTFS_VARIABLE}
    result = subprocess.run([sys.executable, "-m", "harflow", "serve", "--model", str(model), "--port", "0"],
                            capture_output=True, text=True, timeout=120, env=environment)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith("harflow: error: harflow serve refuses to run as root")
    assert "--user NAME" in result.stderr and "--allow-root" in result.stderr


def test_who_serve_runs_as():
    assert account_to_become(WebConfig(), euid=0, in_rootfs=True).name == "nobody"  # the root file system: dropped by default
    assert account_to_become(WebConfig(user="nobody"), euid=0, in_rootfs=False).name == "nobody"
    assert account_to_become(WebConfig(allow_root=True), euid=0, in_rootfs=False) is None  # stays root, as asked
    assert account_to_become(WebConfig(), euid=1000, in_rootfs=True) is None  # not root: nothing to drop
    with pytest.raises(PrivilegeError, match="refuses to run as root"):
        account_to_become(WebConfig(), euid=0, in_rootfs=False)
    with pytest.raises(PrivilegeError, match="no such user"):
        account_to_become(WebConfig(user="no-such-user-here"), euid=0, in_rootfs=True)
    with pytest.raises(ValueError, match="not both"):
        WebConfig(user="nobody", allow_root=True)


def test_root_of_a_rootless_namespace_is_the_invoking_user_on_the_host():
    assert host_uid(0, "         0          0 4294967295\n") == 0  # no user namespace: root is root
    assert host_uid(0, "         0       1000          1\n") == 1000  # rootless: root here is uid 1000 there
    assert host_uid(5, "         0       1000          1\n         1     100000      65536\n") == 100004


# --------------------------------------------------------------------------- stopping (issue 17, point 4)


def port_is_free(url: str) -> bool:
    """A new server can listen on the port (with SO_REUSEADDR, as waitress binds: the closed connections'
    TIME_WAIT does not hold the port) and nothing answers on it."""
    port = int(re.search(r":(\d+)/", url).group(1))
    with socket.socket() as probe:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=5).close()
            return False
        except ConnectionRefusedError:
            pass
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
            probe.listen()
        except OSError:
            return False
    return True


def upload_in_background(url: str, clip: Path) -> tuple[threading.Thread, list]:
    answers: list = []

    def send():
        response = requests.post(f"{url}api/predict", files={"clip": (clip.name, clip.read_bytes())}, timeout=120)
        answers.append((response, time.monotonic()))

    thread = threading.Thread(target=send)
    thread.start()
    return thread, answers


def wait_for_an_upload_in(folder: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not any(folder.iterdir()):
        if time.monotonic() > deadline:
            raise TimeoutError(f"no upload reached {folder}")
        time.sleep(0.005)


def children_of(pid: int) -> list[int]:
    return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


@pytest.mark.parametrize("number", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_stops_serve_gracefully_an_upload_in_flight_is_answered(model, long_clip, number):
    with ServeProcess(model, preexec_fn=as_from_a_terminal) as server:
        thread, answers = upload_in_background(server.url, long_clip)
        wait_for_an_upload_in(server.upload_dir)
        signalled_at = time.monotonic()
        code = server.stop(number)
        thread.join(timeout=60)
    (answer, answered_at), = answers
    assert code == 0 and answer.status_code == 200 and answer.json()["top"] and answered_at > signalled_at  # it was in flight
    assert not server.upload_dir.exists() and port_is_free(server.url)
    assert "harflow serve: stopped" in "".join(server.lines)


@pytest.mark.parametrize("number", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_to_the_wrapper_reaches_serve_and_the_wrapper_waits_for_it(model, long_clip, number):
    wrapper = ["env", "run", "--", sys.executable, "-m", "harflow", "serve"]  # harflow env run: the wrapper's child handling
    with ServeProcess(model, command=wrapper, preexec_fn=as_from_a_terminal) as server:
        serve_pid = children_of(server.pid)[0]
        thread, answers = upload_in_background(server.url, long_clip)
        wait_for_an_upload_in(server.upload_dir)
        signalled_at = time.monotonic()
        code = server.stop(number)  # to the wrapper alone, not its process group
        thread.join(timeout=60)
    (answer, answered_at), = answers
    assert code == 0 and answer.status_code == 200 and answered_at > signalled_at
    assert not Path(f"/proc/{serve_pid}").exists() and not server.upload_dir.exists() and port_is_free(server.url)


def test_a_request_while_stopping_gets_503_with_retry_after(predictor, tmp_path):
    with BackgroundServer(predictor, WebConfig(host="127.0.0.1", port=0, upload_dir=str(tmp_path / "uploads"))) as server:
        server.server.app.config["STOPPING"].set()
        response = requests.get(f"{server.url}healthz", timeout=30)
    assert response.status_code == 503 and response.headers["Retry-After"] and "stopping" in response.json()["error"]


def test_the_wrapper_passes_its_exit_status_and_a_signals_on(tmp_path):
    assert run_child([sys.executable, "-c", "raise SystemExit(3)"]) == 3
    assert run_child([sys.executable, "-c", "import os, signal; os.kill(os.getpid(), signal.SIGKILL)"]) == 128 + 9


# --------------------------------------------------------------------------- limits under load (issue 17, point 5)


def test_healthz_is_answered_while_every_analysis_slot_and_place_in_line_is_taken(predictor, clips, tmp_path):
    from test_web_api import HeldPredictor

    held = HeldPredictor(predictor)
    config = WebConfig(host="127.0.0.1", port=0, threads=4, max_analyses=2, analysis_wait_s=30, upload_dir=str(tmp_path / "uploads"))
    with BackgroundServer(held, config) as server:
        uploads = [upload_in_background(server.url, clips[0]) for _ in range(3)]  # 2 analysing, 1 waiting: 3 of 4 threads
        for _ in range(2):
            assert held.entered.acquire(timeout=60)
        time.sleep(0.2)
        health = requests.get(f"{server.url}healthz", timeout=10)
        turned_away = requests.post(f"{server.url}api/predict", files={"clip": ("b.avi", clips[0].read_bytes())}, timeout=10)
        held.go.set()
        for thread, _ in uploads:
            thread.join(timeout=60)
    assert health.status_code == 200 and turned_away.status_code == 503 and turned_away.headers["Retry-After"]
    assert [answers[0][0].status_code for _, answers in uploads] == [200, 200, 200]


@pytest.fixture(scope="module")
def huge_clip_file(tmp_path_factory):
    from benchmarks.web_attack import huge_clip

    return huge_clip(tmp_path_factory.mktemp("huge") / "huge.avi")  # 12000x12000, 1 frame: 2.7 MB, 432 MB decoded


def test_under_huge_frame_uploads_and_slow_connections_memory_stays_bounded_and_healthz_answers(model, huge_clip_file):
    from benchmarks.web_attack import attack

    with ServeProcess(model) as server:
        result = attack(server, huge_clip_file, seconds=8, uploaders=4, slow=120)
        code = server.stop()
    assert result["statuses"] and set(result["statuses"]) == {413}, result["statuses"]
    assert result["errors"] == [] and len(result["health"]) >= 10
    assert max(result["health"]) < 1.0, sorted(result["health"])[-5:]
    assert result["peak_mb"] < 3 * 1024 and code == 0


class Trickler:
    """A client that sends a request's header, then its body one byte every `interval` s, reading whatever comes back;
    `.ended` is how many seconds after its first byte the server ended the connection (None: it never did)."""

    def __init__(self, url: str, interval: float, give_up_s: float):
        host, port = re.match(r"http://([^:/]+):(\d+)", url).groups()
        self.address, self.interval, self.give_up_s = (host, int(port)), interval, give_up_s
        self.answer, self.ended = b"", None
        self.thread = threading.Thread(target=self._run)

    def _run(self) -> None:
        with socket.create_connection(self.address, timeout=5) as sock:
            began = time.monotonic()
            try:
                sock.sendall(b"POST /api/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100000\r\n\r\n")
                while time.monotonic() - began < self.give_up_s:
                    sock.settimeout(self.interval)
                    try:
                        data = sock.recv(4096)
                    except TimeoutError:
                        sock.sendall(b"a")
                        continue
                    self.answer += data
                    if not data:
                        break
            except (ConnectionResetError, BrokenPipeError):
                pass
            else:
                if time.monotonic() - began >= self.give_up_s:
                    return
            self.ended = time.monotonic() - began


def test_a_client_that_trickles_its_upload_is_cut_off_at_the_request_deadline_while_others_are_served(predictor, clips, tmp_path):
    """Each byte resets waitress's idle timeout (30 s), so without the deadline the trickler would hold its connection for good."""
    config = WebConfig(host="127.0.0.1", port=0, request_timeout_s=2, upload_dir=str(tmp_path / "uploads"))
    with BackgroundServer(predictor, config) as server:
        trickler, silent = Trickler(server.url, interval=0.5, give_up_s=15), Trickler(server.url, interval=60, give_up_s=15)
        trickler.thread.start()
        silent.thread.start()  # sends its header and nothing more: answered 408 (nothing of its own left unread)
        health = []
        while trickler.thread.is_alive() and len(health) < 100:
            health.append(requests.get(f"{server.url}healthz", timeout=5).status_code)
            time.sleep(0.1)
        upload = requests.post(f"{server.url}api/predict", files={"clip": ("a.avi", clips[0].read_bytes())}, timeout=60)
        trickler.thread.join(timeout=20)
        silent.thread.join(timeout=20)
    assert trickler.ended is not None and 1.9 < trickler.ended < 8, trickler.ended  # 2-s deadline, looked for every 1 s
    assert silent.ended is not None and 1.9 < silent.ended < 8, silent.ended
    assert silent.answer.startswith(b"HTTP/1.1 408 Request Timeout\r\n") and b"not received within 2 s" in silent.answer
    assert len(health) >= 10 and set(health) == {200}
    assert upload.status_code == 200 and upload.json()["top"]

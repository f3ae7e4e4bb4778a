"""harflow.datasets.download: resumable fetching, unpacking zip and RAR (archives the tests make), the readers' layout.

The HTTP server is a local http.server that honours Range requests, as the
official hosts do; RAR archives come from tests/rar5.py (stored RAR5), unpacked
by the real bsdtar that harflow's environment installs (skipped where none is).
"""

import http.server
import io
import threading
import zipfile
from pathlib import Path

import pytest

from harflow.datasets.detect import read_dataset
from harflow.datasets.records import EVAL
from harflow.datasets import download
from harflow.datasets.download import DownloadError
from rar5 import write_rar5

needs_rar_tool = pytest.mark.skipif(download.rar_extractor() is None, reason="no bsdtar, 7z, unrar or unar on PATH")
PAYLOAD = bytes(range(256)) * 4096  # 1 MiB


class RangeServer:
    """A local HTTP server for one file that answers `Range: bytes=N-` with 206, and logs the requests."""

    def __init__(self, payload: bytes):
        ranges = self.ranges = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                ranges.append(self.headers.get("Range"))
                start = int(self.headers["Range"][6:-1]) if self.headers.get("Range") else 0
                self.send_response(206 if start else 200)
                self.send_header("Content-Length", str(len(payload) - start))
                if start:
                    self.send_header("Content-Range", f"bytes {start}-{len(payload) - 1}/{len(payload)}")
                self.end_headers()
                self.wfile.write(payload[start:])

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/UCF101.rar"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


def test_an_interrupted_download_resumes_from_where_it_stopped(tmp_path):
    (tmp_path / "UCF101.rar.part").write_bytes(PAYLOAD[:300_000])
    with RangeServer(PAYLOAD) as server:
        path = download.fetch(server.url, tmp_path, progress=lambda line: None)
    assert server.ranges == ["bytes=300000-"]
    assert path == tmp_path / "UCF101.rar" and path.read_bytes() == PAYLOAD
    assert not (tmp_path / "UCF101.rar.part").exists()


def test_a_finished_download_is_not_fetched_again(tmp_path):
    (tmp_path / "UCF101.rar").write_bytes(b"done")
    with RangeServer(PAYLOAD) as server:
        download.fetch(server.url, tmp_path, progress=lambda line: None)
    assert server.ranges == []


def test_no_network_is_a_clear_message_naming_the_url_and_the_way_out(tmp_path):
    with pytest.raises(DownloadError, match=r"http://127\.0\.0\.1:9/x\.zip: cannot download .*--archive FILE"):
        download.fetch("http://127.0.0.1:9/x.zip", tmp_path, progress=lambda line: None, timeout=5)


def test_rar_without_an_extractor_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setattr(download.shutil, "which", lambda tool: None)
    archive = write_rar5(tmp_path / "UCF101.rar", {"UCF-101/Walk/v_Walk_g01_c01.avi": b"x"})
    with pytest.raises(DownloadError, match=r"UCF101\.rar: unpacking RAR needs bsdtar.*libarchive-tools"):
        download.extract(archive, tmp_path / "out")


def zip_bytes(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


UCF_SPLITS = {
    "ucfTrainTestlist/classInd.txt": b"1 Walk\r\n2 Run\r\n",
    "ucfTrainTestlist/trainlist01.txt": b"Walk/v_Walk_g08_c01.avi 1\r\nRun/v_Run_g08_c01.avi 2\r\n",
    "ucfTrainTestlist/testlist01.txt": b"Walk/v_Walk_g01_c01.avi\r\nRun/v_Run_g01_c01.avi\r\n",
}
UCF_VIDEOS = {f"UCF-101/{c}/v_{c}_g{g}_c01.avi": f"{c}{g}".encode() for c in ("Walk", "Run") for g in ("01", "08")}


@needs_rar_tool
def test_ucf101_archives_unpack_into_the_layout_the_reader_reads(tmp_path):
    """The official pair: the videos as RAR (UCF-101/<Class>/...), the split lists as zip (ucfTrainTestlist/)."""
    videos = write_rar5(tmp_path / "UCF101.rar", UCF_VIDEOS)
    (tmp_path / "splits.zip").write_bytes(zip_bytes(UCF_SPLITS))

    root = download.download("ucf101", tmp_path / "ucf101", [str(videos), str(tmp_path / "splits.zip")], progress=lambda line: None)

    index = read_dataset("auto", root)
    assert index.class_names == ("Walk", "Run")
    assert {c.clip_id: c.split == EVAL for c in index.clips} == {
        "Walk/v_Walk_g01_c01.avi": True, "Run/v_Run_g01_c01.avi": True,
        "Walk/v_Walk_g08_c01.avi": False, "Run/v_Run_g08_c01.avi": False,
    }
    assert (root / "Run" / "v_Run_g08_c01.avi").read_bytes() == b"Run08"
    assert not (root / ".harflow-unpack").exists()


@needs_rar_tool
def test_hmdb51_rar_of_per_class_rars_unpacks_into_the_layout_the_reader_reads(tmp_path):
    inner = {}
    for name in ("clap", "wave"):
        clips = {f"{name}/{source}_{name}_f_nm_np1_fr_med_{n}.avi": f"{name}{source}{n}".encode() for source in ("A", "B") for n in (0, 1)}
        inner[f"{name}.rar"] = write_rar5(tmp_path / "inner" / f"{name}.rar", clips).read_bytes()
    videos = write_rar5(tmp_path / "hmdb51_org.rar", inner)
    split_files = {
        f"testTrainMulti_7030_splits/{name}_test_split1.txt": (
            f"A_{name}_f_nm_np1_fr_med_0.avi 1 \r\nA_{name}_f_nm_np1_fr_med_1.avi 1 \r\n"
            f"B_{name}_f_nm_np1_fr_med_0.avi 2 \r\nB_{name}_f_nm_np1_fr_med_1.avi 0 \r\n"
        ).encode()
        for name in ("clap", "wave")
    }
    splits = write_rar5(tmp_path / "test_train_splits.rar", split_files)

    root = download.download("hmdb51", tmp_path / "hmdb51", [str(videos), str(splits)], progress=lambda line: None)

    index = read_dataset("auto", root)
    assert index.class_names == ("clap", "wave")
    assert {c.clip_id for c in index.clips if c.split == EVAL} == {"clap/B_clap_f_nm_np1_fr_med_0.avi", "wave/B_wave_f_nm_np1_fr_med_0.avi"}
    assert len(index.clips) == 6  # the 0 (unused) lines are left out
    assert all(Path(c.path).is_file() for c in index.clips)


def test_archives_without_split_files_are_refused_naming_them(tmp_path):
    (tmp_path / "other.zip").write_bytes(zip_bytes({"readme.txt": b"hello"}))
    with pytest.raises(DownloadError, match=r"other\.zip: no ucf101 split files inside"):
        download.download("ucf101", tmp_path / "out", [str(tmp_path / "other.zip")], progress=lambda line: None)


def test_a_zip_member_escaping_the_folder_is_refused(tmp_path):
    (tmp_path / "evil.zip").write_bytes(zip_bytes({"../outside.txt": b"x"}))
    with pytest.raises(DownloadError, match="unsafe member path"):
        download.extract(tmp_path / "evil.zip", tmp_path / "out")
    assert not (tmp_path / "outside.txt").exists()

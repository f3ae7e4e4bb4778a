"""harflow.datasets.download and .archives: resumable fetching, unpacking zip and RAR (archives the tests make), the readers' layout.

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
from harflow.datasets import archives, download
from harflow.datasets.archives import DownloadError
from archive_fixtures import files_under, zip_bytes
from rar5 import write_rar5, write_rar5_with_links

needs_rar_tool = pytest.mark.skipif(archives.rar_extractor() is None, reason="no bsdtar, 7z, unrar or unar on PATH")
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


def test_a_server_announcing_another_size_than_the_published_one_is_refused_before_writing(tmp_path):
    with RangeServer(PAYLOAD) as server:
        with pytest.raises(DownloadError, match=rf"UCF101\.rar: the server sends {len(PAYLOAD)} bytes, but the published UCF101\.rar has 5; nothing was written"):
            download.fetch(server.url, tmp_path, progress=lambda line: None, size=5)
        assert download.fetch(server.url, tmp_path, progress=lambda line: None, size=len(PAYLOAD)).read_bytes() == PAYLOAD
    assert sorted(p.name for p in tmp_path.iterdir()) == ["UCF101.rar"]


def test_a_finished_download_is_not_fetched_again(tmp_path):
    (tmp_path / "UCF101.rar").write_bytes(b"done")
    with RangeServer(PAYLOAD) as server:
        download.fetch(server.url, tmp_path, progress=lambda line: None)
    assert server.ranges == []


def test_no_network_is_a_clear_message_naming_the_url_and_the_way_out(tmp_path):
    with pytest.raises(DownloadError, match=r"http://127\.0\.0\.1:9/x\.zip: cannot download .*--archive FILE"):
        download.fetch("http://127.0.0.1:9/x.zip", tmp_path, progress=lambda line: None, timeout=5)


def test_rar_without_an_extractor_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setattr(archives.shutil, "which", lambda tool: None)
    archive = write_rar5(tmp_path / "UCF101.rar", {"UCF-101/Walk/v_Walk_g01_c01.avi": b"x"})
    with pytest.raises(DownloadError, match=r"UCF101\.rar: unpacking RAR needs bsdtar.*libarchive-tools"):
        archives.extract(archive, tmp_path / "out")


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

    root = download.download("ucf101", tmp_path / "ucf101", [str(videos), str(tmp_path / "splits.zip")], progress=lambda line: None, verify_checksums=False)

    index = read_dataset("auto", root)
    assert index.class_names == ("Walk", "Run")
    assert {c.clip_id: c.split == EVAL for c in index.clips} == {
        "Walk/v_Walk_g01_c01.avi": True, "Run/v_Run_g01_c01.avi": True,
        "Walk/v_Walk_g08_c01.avi": False, "Run/v_Run_g08_c01.avi": False,
    }
    assert (root / "Run" / "v_Run_g08_c01.avi").read_bytes() == b"Run08"
    assert not list(root.glob(".harflow-unpack*"))


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

    root = download.download("hmdb51", tmp_path / "hmdb51", [str(videos), str(splits)], progress=lambda line: None, verify_checksums=False)

    index = read_dataset("auto", root)
    assert index.class_names == ("clap", "wave")
    assert {c.clip_id for c in index.clips if c.split == EVAL} == {"clap/B_clap_f_nm_np1_fr_med_0.avi", "wave/B_wave_f_nm_np1_fr_med_0.avi"}
    assert len(index.clips) == 6  # the 0 (unused) lines are left out
    assert all(Path(c.path).is_file() for c in index.clips)


def test_archives_without_split_files_are_refused_naming_them(tmp_path):
    (tmp_path / "other.zip").write_bytes(zip_bytes({"readme.txt": b"hello"}))
    with pytest.raises(DownloadError, match=r"other\.zip: no ucf101 split files inside"):
        download.download("ucf101", tmp_path / "out", [str(tmp_path / "other.zip")], progress=lambda line: None, verify_checksums=False)


def test_a_zip_member_escaping_the_folder_is_refused(tmp_path):
    (tmp_path / "evil.zip").write_bytes(zip_bytes({"../outside.txt": b"x"}))
    with pytest.raises(DownloadError, match="unsafe member path"):
        archives.extract(tmp_path / "evil.zip", tmp_path / "out")
    assert not (tmp_path / "outside.txt").exists()



# --------------------------------------------------------------------------- hostile archives (issue 17, point 1)

import os
import tarfile


def tar_with(path: Path, entries: list[tuple[str, str, bytes | str]]) -> Path:
    """A tar at `path` of (kind, name, data or link target) entries: kind is "file", "dir", "symlink" or "hardlink"."""
    with tarfile.open(path, "w") as tarred:
        for kind, name, payload in entries:
            info = tarfile.TarInfo(name)
            if kind == "file":
                info.size = len(payload)
                tarred.addfile(info, io.BytesIO(payload))
                continue
            info.type = {"dir": tarfile.DIRTYPE, "symlink": tarfile.SYMTYPE, "hardlink": tarfile.LNKTYPE}[kind]
            info.linkname = payload if kind != "dir" else ""
            tarred.addfile(info)
    return path


def unpack(tmp_path, *archives: Path, dataset: str = "ucf101") -> Path:
    return download.download(dataset, tmp_path / "data", [str(a) for a in archives], progress=lambda line: None, verify_checksums=False)


def test_a_symlink_then_a_nested_zip_through_it_writes_nothing_outside(tmp_path, outside):
    """The attack of issue 17: `d -> outside`, then a nested zip whose member `d/x` would follow it."""
    nested = zip_bytes({"d/x": b"escaped"})
    evil = tar_with(tmp_path / "evil.tar", [("symlink", "d", str(outside)), ("file", "inner.zip", nested)])
    with pytest.raises(DownloadError, match=r"evil\.tar: member 'd' is a symbolic link; refused"):
        unpack(tmp_path, evil)
    assert files_under(outside) == {"secret.txt"}
    assert files_under(tmp_path / "data") == set()  # the staging folder is gone too


@needs_rar_tool
def test_bsdtar_refuses_links_before_unpacking_anything(tmp_path, outside):
    """bsdtar reads the archive's content whatever its name: a tar named .rar takes the RAR path."""
    evil = tar_with(tmp_path / "evil.rar", [("file", "a.avi", b"x"), ("symlink", "classInd.txt", "/etc/passwd")])
    if archives.rar_extractor() != ["bsdtar"]:
        pytest.skip("the RAR extractor here is not bsdtar")
    with pytest.raises(DownloadError, match=r"evil\.rar: member .*classInd\.txt.* is a symbolic or hard link; refused"):
        archives.extract(evil, tmp_path / "out")
    assert not (tmp_path / "out" / "a.avi").exists()  # refused from the listing, before extraction


# libarchive looks for a zip's end record in an archive's last 64 KiB: a stored zip near the end of a
# RAR makes bsdtar read the file as that zip. 100 KiB after it keep the RAR a RAR.
FILLER = ("filler.bin", bytes(100 * 1024), None)


@needs_rar_tool
def test_a_rar5_symlink_then_a_nested_zip_through_it_writes_nothing_outside(tmp_path, outside):
    """The attack of issue 17 as a RAR5 archive (tests/rar5.py writes the symlink's redirection record)."""
    nested = zip_bytes({"d/x": b"escaped"})
    evil = write_rar5_with_links(tmp_path / "UCF101.rar", [("d", None, str(outside)), ("inner.zip", nested, None), FILLER])
    with pytest.raises(DownloadError, match=r"UCF101\.rar: member .*'d.*' is a symbolic (or hard )?link; refused"):
        unpack(tmp_path, evil)
    assert files_under(outside) == {"secret.txt"} and files_under(tmp_path / "data") == set()


@needs_rar_tool
def test_a_rar5_symlink_unpacked_anyway_is_caught_by_the_walk(tmp_path, outside, monkeypatch):
    """Without the listing check, the real extractor makes the link, and the lstat walk refuses it."""
    monkeypatch.setattr(archives, "check_rar_listing", lambda archive, tool: None)
    evil = write_rar5_with_links(tmp_path / "UCF101.rar", [("d", None, str(outside)), ("inner.zip", zip_bytes({"d/x": b"x"}), None), FILLER])
    with pytest.raises(DownloadError, match=r"member 'd' is a symbolic link; refused"):
        unpack(tmp_path, evil)
    assert files_under(outside) == {"secret.txt"}


@pytest.mark.parametrize("name", ["../escaped.txt", "Walk/../../escaped.txt", "/tmp/harflow-absolute-escape.txt"])
def test_members_that_climb_out_or_are_absolute_are_refused(tmp_path, name):
    for archive in (tar_with(tmp_path / "evil.tar", [("file", name, b"x")]), tmp_path / "evil.zip"):
        if archive.suffix == ".zip":
            archive.write_bytes(zip_bytes({name: b"x"}))
        with pytest.raises(DownloadError, match=r"unsafe member path"):
            archives.extract(archive, tmp_path / f"out-{archive.suffix[1:]}")
    assert not (tmp_path / "escaped.txt").exists() and not Path("/tmp/harflow-absolute-escape.txt").exists()


def test_a_hard_link_member_is_refused(tmp_path, outside):
    evil = tar_with(tmp_path / "evil.tar", [("hardlink", "Walk/v_Walk_g01_c01.avi", str(outside / "secret.txt"))])
    with pytest.raises(DownloadError, match=r"member 'Walk/v_Walk_g01_c01\.avi' is a hard link; refused"):
        unpack(tmp_path, evil)
    assert (outside / "secret.txt").read_text() == "do not touch"


def test_a_symlinked_class_index_in_a_zip_is_refused(tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zipped:
        link = zipfile.ZipInfo("ucfTrainTestlist/classInd.txt")
        link.external_attr = (0o120777 << 16)
        zipped.writestr(link, "/etc/passwd")
    (tmp_path / "splits.zip").write_bytes(buffer.getvalue())
    with pytest.raises(DownloadError, match=r"classInd\.txt' is a symbolic link; refused"):
        unpack(tmp_path, tmp_path / "splits.zip")
    assert not (tmp_path / "data" / "classInd.txt").exists()


def test_a_link_left_by_an_extractor_is_caught_by_the_walk(tmp_path, outside, monkeypatch):
    """Whatever the tool: after unpacking, a link anywhere in the staging folder is refused."""
    def tool_that_makes_a_link(archive, into):
        (into / "d").symlink_to(outside)
    monkeypatch.setattr(archives, "_extract_zip", tool_that_makes_a_link)
    (tmp_path / "a.zip").write_bytes(zip_bytes({"x": b"x"}))
    with pytest.raises(DownloadError, match=r"member 'd' is a symbolic link"):
        archives.extract(tmp_path / "a.zip", tmp_path / "out")


def test_two_archives_with_the_same_base_name_unpack_into_their_own_folders(tmp_path):
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    first, second = tmp_path / "one" / "splits.zip", tmp_path / "two" / "splits.zip"
    first.write_bytes(zip_bytes(UCF_SPLITS))
    second.write_bytes(zip_bytes({f"UCF-101/{k.split('/', 1)[1]}": v for k, v in UCF_VIDEOS.items()}))
    staging = tmp_path / "staging"
    folders = [archives.fresh_folder(staging, archive.stem) for archive in (first, second)]
    assert [f.name for f in folders] == ["splits", "splits-2"]
    root = unpack(tmp_path, first, second)
    assert (root / "classInd.txt").is_file() and (root / "Walk" / "v_Walk_g01_c01.avi").read_bytes() == b"Walk01"


def test_unpacking_into_a_folder_that_is_not_empty_is_refused(tmp_path):
    (tmp_path / "a.zip").write_bytes(zip_bytes({"x": b"x"}))
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "earlier.txt").write_text("x")
    with pytest.raises(DownloadError, match="not empty; an archive unpacks into a fresh folder only"):
        archives.extract(tmp_path / "a.zip", tmp_path / "out")


def test_the_arranged_dataset_holds_regular_files_only(tmp_path):
    (tmp_path / "splits.zip").write_bytes(zip_bytes(UCF_SPLITS))
    (tmp_path / "videos.zip").write_bytes(zip_bytes(UCF_VIDEOS))
    root = unpack(tmp_path, tmp_path / "videos.zip", tmp_path / "splits.zip")
    entries = [p for p in root.rglob("*")]
    assert entries and all(p.is_dir() or (p.is_file() and not p.is_symlink() and os.lstat(p).st_nlink == 1) for p in entries)


@pytest.mark.parametrize("entry", ["Walk/../../../../etc/passwd", "/etc/passwd", "escape/v.avi"])
def test_a_split_list_entry_outside_the_dataset_is_refused(tmp_path, entry):
    root = tmp_path / "ucf"
    (root / "Walk").mkdir(parents=True)
    (root / "escape").symlink_to(tmp_path)  # a folder link out of the dataset
    (root / "classInd.txt").write_text("1 Walk\n")
    (root / "trainlist01.txt").write_text("Walk/v_Walk_g01_c01.avi 1\n")
    (root / "testlist01.txt").write_text(f"{entry}\n")
    with pytest.raises(ValueError, match=r"testlist01\.txt:1: clip .* is outside the dataset folder"):
        read_dataset("ucf101", root)


def test_a_clip_file_that_is_a_symlink_of_the_users_own_is_still_read(tmp_path):
    """A dataset view of links to clips elsewhere (tests/test_gate.py builds one) stays readable."""
    root = tmp_path / "ucf"
    (root / "Walk").mkdir(parents=True)
    (tmp_path / "elsewhere.avi").write_bytes(b"x")
    (root / "Walk" / "v_Walk_g01_c01.avi").symlink_to(tmp_path / "elsewhere.avi")
    (root / "classInd.txt").write_text("1 Walk\n")
    (root / "trainlist01.txt").write_text("Walk/v_Walk_g01_c01.avi 1\n")
    (root / "testlist01.txt").write_text("Walk/v_Walk_g01_c01.avi\n")
    assert [c.clip_id for c in read_dataset("ucf101", root).clips if c.split == EVAL] == ["Walk/v_Walk_g01_c01.avi"]


def test_an_hmdb51_split_entry_climbing_out_is_refused(tmp_path):
    root = tmp_path / "hmdb"
    (root / "testTrainMulti_7030_splits").mkdir(parents=True)
    (root / "testTrainMulti_7030_splits" / "wave_test_split1.txt").write_text("../../../etc/passwd 1 \n")
    with pytest.raises(ValueError, match=r"wave_test_split1\.txt:1: clip .* is outside the dataset folder"):
        read_dataset("hmdb51", root)

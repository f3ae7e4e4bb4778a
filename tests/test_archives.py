"""harflow.datasets.archives: every RAR extractor is checked from its own listing before it writes anything.

Each test runs once per supported tool (bsdtar, 7z, 7zz, unrar, unar), forced with rar_extractor, on
RAR5 archives that tests/rar5.py writes, unpacked by the real tool. harflow's environment has bsdtar, 7z
and unar (harflow/env/rootfs.py); unrar is in Debian's non-free, so its cases skip there, as do those
of any tool that is not on PATH or cannot read RAR. "Nothing extracted" (the target folder stays empty)
shows the refusal came from the listing: the extractor never ran.
"""

import re
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from harflow.datasets import archives
from harflow.datasets.archives import DownloadError
from archive_fixtures import files_under
from rar5 import REDIRECT_HARDLINK, write_rar5, write_rar5_with_links

LISTER = {"unar": "lsar"}  # the tool that lists for an extractor, where it is another one


def reads_rar(tool: str, sample: Path) -> bool:
    """Whether `tool` opens a RAR5 archive at all (Debian's 7zz is built without the RAR format)."""
    command = {"bsdtar": ["bsdtar", "-tf"], "unrar": ["unrar", "lt"], "unar": ["lsar"]}.get(tool, [tool, "l"])
    result = subprocess.run([*command, str(sample)], capture_output=True, text=True)
    return result.returncode == 0 and "is not RAR archive" not in result.stdout


@pytest.fixture(params=archives.RAR_TOOLS)
def tool(request, tmp_path, monkeypatch):
    """One RAR extractor, forced as the one harflow picks; skipped where it is not here."""
    name = request.param
    missing = [command for command in {name, LISTER.get(name, name)} if shutil.which(command) is None]
    if missing:
        pytest.skip(f"{' and '.join(missing)} not on PATH here" + (" (Debian non-free)" if name == "unrar" else ""))
    if not reads_rar(name, write_rar5(tmp_path / "probe" / "probe.rar", {"a": b"a"})):
        pytest.skip(f"{name} here cannot read RAR")
    monkeypatch.setattr(archives, "rar_extractor", lambda: [name])
    return name


def refused_before_writing(archive: Path, into: Path, message: str) -> None:
    """extract() refuses `archive` with `message`, and nothing was unpacked into `into`."""
    with pytest.raises(DownloadError, match=message):
        archives.extract(archive, into)
    assert files_under(into) == set()


def test_a_benign_rar_unpacks(tool, tmp_path):
    archive = write_rar5(tmp_path / "UCF101.rar", {"UCF-101/Walk/v_Walk_g01_c01.avi": b"walk", "UCF-101/Run Fast/x y.avi": b"run"})
    archives.extract(archive, tmp_path / "out")
    assert (tmp_path / "out/UCF-101/Walk/v_Walk_g01_c01.avi").read_bytes() == b"walk"
    assert (tmp_path / "out/UCF-101/Run Fast/x y.avi").read_bytes() == b"run"


def test_a_rar_with_bytes_after_its_end_unpacks(tool, tmp_path):
    """7z lists it with a "Warnings: 1" line after the members, which is not a member."""
    archive = write_rar5(tmp_path / "UCF101.rar", {"Walk/a.avi": b"walk"})
    archive.write_bytes(archive.read_bytes() + bytes(4096))
    archives.extract(archive, tmp_path / "out")
    assert (tmp_path / "out/Walk/a.avi").read_bytes() == b"walk"


def test_a_symlink_then_a_member_through_it_is_refused_before_anything_is_written(tool, tmp_path, outside):
    archive = write_rar5_with_links(tmp_path / "UCF101.rar", [("d", None, str(outside)), ("d/x", b"escaped", None)])
    refused_before_writing(archive, tmp_path / "out", r"UCF101\.rar: member 'd( -> .*)?' is a symbolic (or hard )?link; refused")
    assert files_under(outside) == {"secret.txt"}


def test_a_member_climbing_out_is_refused(tool, tmp_path):
    archive = write_rar5(tmp_path / "UCF101.rar", {"ok.avi": b"ok", "../escaped.txt": b"x"})
    refused_before_writing(archive, tmp_path / "out", r"UCF101\.rar: unsafe member path '\.\./escaped\.txt'")
    assert not (tmp_path / "escaped.txt").exists()


def test_an_absolute_member_is_refused(tool, tmp_path, outside):
    target = outside / "absolute.txt"
    archive = write_rar5(tmp_path / "UCF101.rar", {str(target): b"x"})
    refused_before_writing(archive, tmp_path / "out", rf"UCF101\.rar: unsafe member path {re.escape(repr(str(target)))}")
    assert files_under(outside) == {"secret.txt"}


def test_a_hard_link_to_a_file_outside_is_refused(tool, tmp_path, outside):
    secret = outside / "secret.txt"
    archive = write_rar5_with_links(tmp_path / "UCF101.rar", [("a.avi", b"a", None), ("b.avi", None, str(secret))], kind=REDIRECT_HARDLINK)
    refused_before_writing(archive, tmp_path / "out", r"UCF101\.rar: member 'b\.avi( link to .*)?' is a (symbolic or )?hard link; refused")
    assert secret.read_text() == "do not touch" and secret.stat().st_nlink == 1


def test_a_hard_link_inside_the_archive_is_refused(tool, tmp_path):
    archive = write_rar5_with_links(tmp_path / "UCF101.rar", [("a.avi", b"a", None), ("b.avi", None, "a.avi")], kind=REDIRECT_HARDLINK)
    refused_before_writing(archive, tmp_path / "out", r"member 'b\.avi( link to a\.avi)?' is a (symbolic or )?hard link; refused")


def test_a_fifo_member_is_refused_or_unpacked_as_a_regular_file(tool, tmp_path):
    archive = write_rar5(tmp_path / "UCF101.rar", {"a.avi": b"a", "pipe": b""}, modes={"pipe": 0o010644})
    if tool == "unrar":  # unrar lists it as a File and writes a regular file: the walk then finds nothing to refuse
        archives.extract(archive, tmp_path / "out")
        assert (tmp_path / "out/pipe").is_file() and not (tmp_path / "out/pipe").is_symlink()
        return
    refused_before_writing(archive, tmp_path / "out", r"member 'pipe' is not a regular file or folder; refused")


def test_a_name_with_a_line_break_cannot_hide_a_climb_out(tool, tmp_path):
    """A name `a<newline>Foo = ../../x` prints its rest as a listing line of its own: that line is checked too."""
    archive = write_rar5(tmp_path / "UCF101.rar", {"ok.avi": b"ok", "a\nFoo = ../../../escaped.txt": b"x", "b\nName: ../../x": b"y"})
    refused_before_writing(archive, tmp_path / "out", r"unsafe member path|a line it should not")


def test_a_tar_named_rar_is_refused_or_checked_like_one(tool, tmp_path, outside):
    """bsdtar reads any format (and checks it); 7z, unrar and unar are held to RAR, whose listing they were checked on."""
    archive = tmp_path / "UCF101.rar"
    with tarfile.open(archive, "w", format=tarfile.GNU_FORMAT) as tarred:
        link = tarfile.TarInfo("d")
        link.type, link.linkname = tarfile.SYMTYPE, str(outside)
        tarred.addfile(link)
    expected = "symbolic or hard link" if tool == "bsdtar" else "not RAR|does not read it as RAR"
    refused_before_writing(archive, tmp_path / "out", expected)


def test_each_listing_parser_reads_what_its_tool_prints(tmp_path):
    """The parsers on listings as the tools print them (7-Zip 25/26, UNRAR 6.21), without the tools."""
    sevenzip = "\n".join([
        "7-Zip 25.01 (x64)", "", "--", "Path = x.rar", "Type = Rar5", "", "----------",
        "Path = d", "Folder = -", "Attributes =  lrwxrwxrwx", "Symbolic Link = /etc", "Hard Link = ", "",
        "Path = dir", "Folder = +", "Attributes = D drwxr-xr-x", "Symbolic Link = ", "",
        "Path = b.txt", "Folder = -", "Attributes =  -rw-r--r--", "Characteristics = Link:HardLink", "Hard Link = a.txt", "",
    ])
    kinds = {name: kind for name, kind, _ in archives.sevenzip_members(Path("x.rar"), sevenzip)}
    assert kinds == {"d": archives.SYMLINK, "dir": archives.FOLDER, "b.txt": archives.HARDLINK}
    unrar = "\nArchive: x.rar\nDetails: RAR 5\n\n        Name: d\n        Type: Unix symbolic link\n      Target: /etc\n" \
            "  Attributes: lrwxrwxrwx\n\n        Name: f.avi\n        Type: File\n  Attributes: -rw-r--r--\n"
    assert [(n, k) for n, k, _ in archives.unrar_members(Path("x.rar"), unrar)] == [("d", archives.SYMLINK), ("f.avi", archives.FILE)]
    with pytest.raises(DownloadError, match=r"x\.rar: unrar does not read it as RAR"):
        archives.unrar_members(Path("x.rar"), "\nx.rar is not RAR archive\n")

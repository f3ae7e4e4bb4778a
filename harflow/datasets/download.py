"""`harflow data download ucf101|hmdb51 DIR`: the official archives, unpacked into the layout the readers expect.

Standard library only (urllib, zipfile), so it runs before harflow's TFX
environment exists. Downloads resume: a file is fetched into
`DIR/downloads/<name>.part` with an HTTP Range request for what is missing,
and renamed when complete. RAR archives (both datasets ship their videos as
RAR) need an external extractor: bsdtar (Debian: libarchive-tools), 7z,
unrar or unar, whichever is on PATH. Archives already on disk are taken with
`--archive FILE` instead of downloading.

What DIR holds afterwards:

    ucf101: DIR/classInd.txt, DIR/{train,test}list0{1,2,3}.txt, DIR/<Class>/*.avi
    hmdb51: DIR/testTrainMulti_7030_splits/<class>_test_split{1,2,3}.txt, DIR/<class>/*.avi
"""

from __future__ import annotations

import re
import shutil
import subprocess
import urllib.error
import urllib.request
import zipfile
from pathlib import Path
from typing import Callable

from harflow.datasets.hmdb51 import SPLIT_DIR as HMDB_SPLIT_DIR  # standard library only, like this module

SOURCES = {
    "ucf101": (
        "https://www.crcv.ucf.edu/data/UCF101/UCF101.rar",
        "https://www.crcv.ucf.edu/data/UCF101/UCF101TrainTestSplits-RecognitionTask.zip",
    ),
    "hmdb51": (
        "http://serre-lab.clps.brown.edu/wp-content/uploads/2013/10/hmdb51_org.rar",
        "http://serre-lab.clps.brown.edu/wp-content/uploads/2013/10/test_train_splits.rar",
    ),
}
# both official archives hold AVI videos only (harflow.video.VIDEO_SUFFIXES is what the readers take;
# it is not imported here because harflow.video needs OpenCV and this module runs on the host's Python)
ARCHIVE_VIDEO_SUFFIX = ".avi"
_UCF_SPLIT_FILE = re.compile(r"^(classInd|trainlist0[123]|testlist0[123])\.txt$")
_HMDB_SPLIT_FILE = re.compile(r"^.+_test_split[123]\.txt$")
CHUNK = 1 << 20

Progress = Callable[[str], None]


class DownloadError(Exception):
    """The network, an archive or a tool is missing or broken; the message says which and what to do."""


# --------------------------------------------------------------------------- fetching


def fetch(url: str, folder: Path, progress: Progress = print, timeout: float = 60.0) -> Path:
    """Download `url` into `folder`, resuming a `.part` file left by an earlier attempt."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / url.rsplit("/", 1)[-1]
    if target.is_file():
        progress(f"{target.name}: already downloaded")
        return target
    part = target.with_name(target.name + ".part")
    have = part.stat().st_size if part.exists() else 0
    request = urllib.request.Request(url, headers={"Range": f"bytes={have}-"} if have else {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            resumed = have > 0 and response.status == 206
            if have and not resumed:
                progress(f"{target.name}: the server does not resume; starting again")
                have = 0
            total = _total_size(response, have)
            with part.open("ab" if resumed else "wb") as out:
                done, shown = have, -1
                while chunk := response.read(CHUNK):
                    out.write(chunk)
                    done += len(chunk)
                    step = int(20 * done / total) if total else done // (100 * CHUNK)
                    if step != shown:
                        shown = step
                        progress(f"{target.name}: {done / 1e6:.0f} MB" + (f" of {total / 1e6:.0f} MB" if total else ""))
    except urllib.error.HTTPError as error:
        if error.code == 416 and have:  # nothing left to fetch: the .part is complete
            part.rename(target)
            return target
        raise DownloadError(f"{url}: HTTP {error.code} {error.reason}; download it by other means and pass --archive FILE") from None
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise DownloadError(
            f"{url}: cannot download ({reason}); rerun to resume, or download it by other means and pass --archive FILE"
        ) from None
    if total and part.stat().st_size != total:
        raise DownloadError(f"{url}: got {part.stat().st_size} of {total} bytes; rerun to resume")
    part.rename(target)
    return target


def _total_size(response, have: int) -> int:
    """The full file size from Content-Range (206) or Content-Length (200); 0 when unknown."""
    content_range = response.headers.get("Content-Range", "")
    if response.status == 206 and "/" in content_range and content_range.rsplit("/", 1)[1].isdigit():
        return int(content_range.rsplit("/", 1)[1])
    length = response.headers.get("Content-Length")
    return int(length) + (have if response.status == 206 else 0) if length and length.isdigit() else 0


# --------------------------------------------------------------------------- unpacking


def rar_extractor() -> list[str] | None:
    """The command prefix of the first RAR extractor on PATH; the archive and target are appended."""
    for tool in ("bsdtar", "7z", "7zz", "unrar", "unar"):
        if shutil.which(tool):
            return [tool]
    return None


def _rar_command(tool: str, archive: Path, into: Path) -> list[str]:
    if tool == "bsdtar":
        return ["bsdtar", "-xf", str(archive), "-C", str(into)]
    if tool in ("7z", "7zz"):
        return [tool, "x", "-y", f"-o{into}", str(archive)]
    if tool == "unrar":
        return ["unrar", "x", "-o+", "-idq", str(archive), str(into) + "/"]
    return ["unar", "-quiet", "-force-overwrite", "-output-directory", str(into), str(archive)]


def extract(archive: Path, into: Path) -> None:
    """Unpack a .zip (zipfile) or .rar (external tool) archive into `into`."""
    into.mkdir(parents=True, exist_ok=True)
    suffix = archive.suffix.lower()
    if suffix == ".zip":
        try:
            with zipfile.ZipFile(archive) as zipped:
                for member in zipped.namelist():
                    if member.startswith("/") or ".." in Path(member).parts:
                        raise DownloadError(f"{archive}: unsafe member path {member!r}")
                zipped.extractall(into)
        except zipfile.BadZipFile as error:
            raise DownloadError(f"{archive}: not a readable zip archive ({error}); delete it and download again") from None
        return
    if suffix != ".rar":
        raise DownloadError(f"{archive}: unknown archive type (expected .zip or .rar)")
    tool = rar_extractor()
    if tool is None:
        raise DownloadError(
            f"{archive}: unpacking RAR needs bsdtar, 7z, unrar or unar on PATH; "
            "install one (Debian/Ubuntu: apt-get install libarchive-tools) and rerun"
        )
    result = subprocess.run(_rar_command(tool[0], archive, into), capture_output=True, text=True)
    if result.returncode != 0:
        detail = (result.stderr or result.stdout).strip().splitlines()
        raise DownloadError(f"{archive}: {tool[0]} failed ({detail[-1] if detail else result.returncode}); delete it and download again")


def extract_nested(folder: Path) -> None:
    """Unpack archives found inside `folder` (HMDB51 ships one RAR per class) in place, then delete them."""
    while nested := sorted(p for p in folder.rglob("*") if p.suffix.lower() in (".rar", ".zip") and p.is_file()):
        for archive in nested:
            extract(archive, archive.parent)
            archive.unlink()


def arrange(dataset: str, extracted: Path, root: Path) -> tuple[int, int]:
    """Move split files and videos from the unpacked tree into the reader's layout; (split files, videos) moved."""
    splits = videos = 0
    for path in sorted(extracted.rglob("*")):
        if not path.is_file():
            continue
        if dataset == "ucf101" and _UCF_SPLIT_FILE.match(path.name):
            destination = root / path.name
        elif dataset == "hmdb51" and _HMDB_SPLIT_FILE.match(path.name):
            destination = root / HMDB_SPLIT_DIR / path.name
        elif path.suffix.lower() == ARCHIVE_VIDEO_SUFFIX:
            destination = root / path.parent.name / path.name  # <class>/<clip>
        else:
            continue
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(path), destination)
        if destination.suffix.lower() == ARCHIVE_VIDEO_SUFFIX:
            videos += 1
        else:
            splits += 1
    return splits, videos


# --------------------------------------------------------------------------- the command


def download(dataset: str, root: str | Path, archives: list[str] | None = None, progress: Progress = print) -> Path:
    """Fetch (or take `archives`), unpack and arrange `dataset` in `root`; returns root."""
    if dataset not in SOURCES:
        raise DownloadError(f"unknown dataset {dataset!r}; choose one of {', '.join(SOURCES)}")
    root = Path(root)
    if archives:
        files = [Path(a) for a in archives]
        for file in files:
            if not file.is_file():
                raise DownloadError(f"{file}: no such archive")
    else:
        files = [fetch(url, root / "downloads", progress) for url in SOURCES[dataset]]
    staging = root / ".harflow-unpack"
    shutil.rmtree(staging, ignore_errors=True)
    try:
        for file in files:
            progress(f"unpacking {file.name}")
            extract(file, staging / file.stem)
        extract_nested(staging)
        splits, videos = arrange(dataset, staging, root)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    if not splits:
        raise DownloadError(f"{', '.join(map(str, files))}: no {dataset} split files inside; is this the right archive?")
    progress(f"{dataset}: {videos} videos and {splits} split files in {root}")
    return root

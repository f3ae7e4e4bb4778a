"""`harflow data download ucf101|hmdb51 DIR`: the official archives, unpacked into the layout the readers expect.

Standard library only (urllib), so it runs before harflow's TFX
environment exists. Downloads resume: a file is fetched into
`DIR/downloads/<name>.part` with an HTTP Range request for what is missing,
and renamed when complete. Archives already on disk are taken with
`--archive FILE` instead of downloading.

Archives are not trusted (this may run as root): each is checked against the
sha256 recorded in CHECKSUMS (`--no-verify` skips that), and unpacks into a
fresh staging folder of its own (harflow.datasets.archives: zip, tar, and RAR
with bsdtar, 7z, unrar or unar, each archive listed and its members checked
before anything is written); nested archives get the same checks.

What DIR holds afterwards:

    ucf101: DIR/classInd.txt, DIR/{train,test}list0{1,2,3}.txt, DIR/<Class>/*.avi
    hmdb51: DIR/testTrainMulti_7030_splits/<class>_test_split{1,2,3}.txt, DIR/<class>/*.avi
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
import urllib.error
import urllib.request
from pathlib import Path
from typing import Callable

from harflow.datasets.archives import DownloadError, extract, extract_nested, fresh_folder  # standard library only, like this module
from harflow.datasets.hmdb51 import SPLIT_DIR as HMDB_SPLIT_DIR  # standard library only, like this module

SOURCES = {
    "ucf101": (
        "https://www.crcv.ucf.edu/data/UCF101/UCF101.rar",
        "https://www.crcv.ucf.edu/data/UCF101/UCF101TrainTestSplits-RecognitionTask.zip",
    ),
    "hmdb51": (
        "https://serre-lab.clps.brown.edu/wp-content/uploads/2013/10/hmdb51_org.rar",
        "https://serre-lab.clps.brown.edu/wp-content/uploads/2013/10/test_train_splits.rar",
    ),
}
# sha256 of each official archive, by file name. None: not recorded yet. These values must come from a
# download checked by hand (`sha256sum FILE`) on a host that reaches the official servers; none could be
# taken here (no network to them), and none is published by UCF or Brown. A recorded value that differs
# is an error; where none is recorded the archive's own sha256 is printed with a warning to compare it
# with a trusted copy, never a silent pass.
CHECKSUMS: dict[str, str | None] = {
    "UCF101.rar": None,
    "UCF101TrainTestSplits-RecognitionTask.zip": None,
    "hmdb51_org.rar": None,
    "test_train_splits.rar": None,
}
# both official archives hold AVI videos only (harflow.video.VIDEO_SUFFIXES is what the readers take;
# it is not imported here because harflow.video needs OpenCV and this module runs on the host's Python)
ARCHIVE_VIDEO_SUFFIX = ".avi"
_UCF_SPLIT_FILE = re.compile(r"^(classInd|trainlist0[123]|testlist0[123])\.txt$")
_HMDB_SPLIT_FILE = re.compile(r"^.+_test_split[123]\.txt$")
CHUNK = 1 << 20

Progress = Callable[[str], None]


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


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def verify(archive: Path, progress: Progress = print) -> None:
    """DownloadError when `archive`'s sha256 differs from the one recorded for its name; where none is
    recorded, a warning that shows its sha256 so it can be compared with a trusted copy."""
    expected, actual = CHECKSUMS.get(archive.name), sha256_of(archive)
    if not expected:
        progress(
            f"warning: no official sha256 is recorded for {archive.name}; its sha256 is {actual}: "
            "compare it with a trusted copy (--no-verify skips this check)"
        )
    elif actual != expected:
        raise DownloadError(
            f"{archive}: sha256 {actual} is not the official {expected}; delete it and download again (or pass --no-verify)"
        )


# --------------------------------------------------------------------------- arranging


def arrange(dataset: str, extracted: Path, root: Path) -> tuple[int, int]:
    """Move split files and videos from the unpacked tree into the reader's layout; (split files, videos) moved."""
    splits = videos = 0
    for path in sorted(extracted.rglob("*")):
        if path.is_symlink() or not path.is_file():
            continue  # extract() refused links already; the dataset gets regular files only
        if dataset == "ucf101" and _UCF_SPLIT_FILE.match(path.name):
            destination = root / path.name
        elif dataset == "hmdb51" and _HMDB_SPLIT_FILE.match(path.name):
            destination = root / HMDB_SPLIT_DIR / path.name
        elif path.suffix.lower() == ARCHIVE_VIDEO_SUFFIX:
            destination = root / path.parent.name / path.name  # <class>/<clip>
        else:
            continue
        if destination.parent.is_symlink():
            raise DownloadError(f"{destination.parent}: is a symbolic link; the dataset folder must hold real folders only")
        destination.parent.mkdir(parents=True, exist_ok=True)
        os.replace(path, destination)  # a link already at destination is replaced, never written through
        if destination.suffix.lower() == ARCHIVE_VIDEO_SUFFIX:
            videos += 1
        else:
            splits += 1
    return splits, videos


# --------------------------------------------------------------------------- the command


def download(
    dataset: str, root: str | Path, archives: list[str] | None = None, progress: Progress = print, verify_checksums: bool = True
) -> Path:
    """Fetch (or take `archives`), check, unpack and arrange `dataset` in `root`; returns root."""
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
    if verify_checksums:
        for file in files:
            progress(f"checking {file.name}")
            verify(file, progress)
    root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".harflow-unpack-", dir=root))
    try:
        for file in files:
            progress(f"unpacking {file.name}")
            extract(file, fresh_folder(staging, file.stem))
        extract_nested(staging)
        splits, videos = arrange(dataset, staging, root)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    if not splits:
        raise DownloadError(f"{', '.join(map(str, files))}: no {dataset} split files inside; is this the right archive?")
    progress(f"{dataset}: {videos} videos and {splits} split files in {root}")
    return root

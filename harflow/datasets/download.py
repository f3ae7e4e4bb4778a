"""`harflow data download ucf101|hmdb51 DIR`: the official archives, unpacked into the layout the readers expect.

Standard library only (urllib), so it runs before harflow's TFX
environment exists. Downloads resume: a file is fetched into
`DIR/downloads/<name>.part` with an HTTP Range request for what is missing,
and renamed when complete. Archives already on disk are taken with
`--archive FILE` instead of downloading.

Archives are not trusted (this may run as root): each is checked against the
size and checksum published for it (harflow.datasets.sources; `--no-verify`
skips that), and unpacks into a fresh staging folder of its own
(harflow.datasets.archives: zip, tar, and RAR with bsdtar, 7z, unrar or unar,
each archive listed and its members checked before anything is written);
nested archives get the same checks.

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
from harflow.datasets.sources import KNOWN, Archive, archives_of
from harflow.datasets.ucf101 import clip_id_of

# both official archives hold AVI videos only (harflow.video.VIDEO_SUFFIXES is what the readers take;
# it is not imported here because harflow.video needs OpenCV and this module runs on the host's Python)
ARCHIVE_VIDEO_SUFFIX = ".avi"
_UCF_SPLIT_FILE = re.compile(r"^(classInd|trainlist0[123]|testlist0[123])\.txt$")
_HMDB_SPLIT_FILE = re.compile(r"^.+_test_split[123]\.txt$")
CHUNK = 1 << 20

Progress = Callable[[str], None]


# --------------------------------------------------------------------------- fetching


def fetch(url: str, folder: Path, progress: Progress = print, timeout: float = 60.0, size: int | None = None) -> Path:
    """Download `url` into `folder`, resuming a `.part` file left by an earlier attempt; with the published `size`,
    a server that announces another size is refused before a byte is written."""
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
            if size is not None and total and total != size:
                raise DownloadError(f"{url}: the server sends {total} bytes, but the published {target.name} has {size}; nothing was written")
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


def digest_of(path: Path, algorithm: str = "sha256") -> str:
    digest = hashlib.new(algorithm)
    with path.open("rb") as file:
        while chunk := file.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def verify(archive: Path, expected: Archive | None, progress: Progress = print) -> None:
    """DownloadError when `archive`'s size or checksum differs from the published ones in `expected`; where none
    is recorded, a warning that shows its sha256 so it can be compared with a trusted copy (never a silent pass)."""
    if expected is None or not expected.checksum:
        progress(
            f"warning: no published checksum is recorded for {archive.name}; its sha256 is {digest_of(archive)}: "
            "compare it with a trusted copy, or give one with --checksums FILE (--no-verify skips this check)"
        )
        return
    size = archive.stat().st_size
    if expected.size is not None and size != expected.size:
        raise DownloadError(
            f"{archive}: {size} bytes, but the published {expected.name} has {expected.size}; "
            "delete it and download again (or pass --no-verify)"
        )
    algorithm, value = expected.checksum.split(":", 1)
    actual = digest_of(archive, algorithm)
    if actual != value:
        raise DownloadError(
            f"{archive}: {algorithm} {actual} is not the published {value}"
            + (f" ({expected.published_by})" if expected.published_by else "")
            + "; delete it and download again (or pass --no-verify)"
        )
    progress(f"{archive.name}: {algorithm} matches" + (f" {expected.published_by}" if expected.published_by else " the one given"))


def expected_archive(name: str, given: dict[str, str]) -> Archive | None:
    """What `name` must be: a checksum given with --checksums wins over the one recorded in harflow."""
    if name in given:
        return Archive(url=name, checksum=given[name])
    return KNOWN.get(name)


# --------------------------------------------------------------------------- arranging


def arrange(dataset: str, extracted: Path, root: Path) -> tuple[int, int]:
    """Move split files and videos from the unpacked tree into the reader's layout; (split files, videos) moved.

    A video goes where the split lists name it (`<Class>/<clip>` as the list spells it), so a flat archive
    (the UCF101 mirror's `UCF101/v_*.avi`) lands in class folders too; one no list names goes to
    `<its folder>/<clip>`, as the official archives hold them."""
    files = [p for p in sorted(extracted.rglob("*")) if p.is_file() and not p.is_symlink()]  # extract() refused links
    splits = videos = 0
    for path in files:
        if destination := _split_destination(dataset, path.name, root):
            _move(path, destination)
            splits += 1
    listed = listed_clips(dataset, root)
    for path in files:
        if path.suffix.lower() == ARCHIVE_VIDEO_SUFFIX:
            _move(path, root / listed.get(path.name.lower(), f"{path.parent.name}/{path.name}"))
            videos += 1
    return splits, videos


def _split_destination(dataset: str, name: str, root: Path) -> Path | None:
    if dataset == "ucf101" and _UCF_SPLIT_FILE.match(name):
        return root / name
    if dataset == "hmdb51" and _HMDB_SPLIT_FILE.match(name):
        return root / HMDB_SPLIT_DIR / name
    return None


def listed_clips(dataset: str, root: Path) -> dict[str, str]:
    """UCF101: lower-cased clip file name -> `<Class>/<clip>` as the arranged train/test lists spell it
    (the lists say v_HandStandPushups_..., some copies of the videos v_HandstandPushups_...). Empty for HMDB51,
    whose per-class RARs already unpack into class folders."""
    listed = {}
    for split_list in sorted(root.glob("t*list0[123].txt")) if dataset == "ucf101" else []:
        for line in split_list.read_text(encoding="utf-8-sig", errors="replace").splitlines():
            entry = clip_id_of(line) if line.strip() else ""
            parts = entry.split("/")
            if len(parts) == 2 and all(parts) and ".." not in parts:
                listed[parts[1].lower()] = entry
    return listed


def _move(path: Path, destination: Path) -> None:
    if destination.parent.is_symlink():
        raise DownloadError(f"{destination.parent}: is a symbolic link; the dataset folder must hold real folders only")
    destination.parent.mkdir(parents=True, exist_ok=True)
    os.replace(path, destination)  # a link already at destination is replaced, never written through


# --------------------------------------------------------------------------- the command


def download(
    dataset: str,
    root: str | Path,
    archives: list[str] | None = None,
    progress: Progress = print,
    verify_checksums: bool = True,
    source: str | None = None,
    checksums: dict[str, str] | None = None,
) -> Path:
    """Fetch `dataset`'s archives from `source` (or take `archives`), check, unpack and arrange them in `root`.

    `checksums` ("name": "sha256:<hex>" or "md5:<hex>") add to or override the published ones."""
    try:
        sources = archives_of(dataset, source)
    except ValueError as error:
        raise DownloadError(str(error)) from None
    root = Path(root)
    if archives:
        files = [Path(a) for a in archives]
        for file in files:
            if not file.is_file():
                raise DownloadError(f"{file}: no such archive")
    else:
        files = [fetch(archive.url, root / "downloads", progress, size=archive.size if verify_checksums else None) for archive in sources]
    if verify_checksums:
        for file in files:
            progress(f"checking {file.name}")
            verify(file, expected_archive(file.name, checksums or {}), progress)
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

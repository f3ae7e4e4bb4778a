"""Unpacking archives that are not trusted: zip, tar and RAR, each member checked before anything is written.

Standard library only (zipfile, tarfile, subprocess), like harflow.datasets.download, which fetches the
archives and arranges what this module unpacks. RAR needs an external extractor: the first of bsdtar
(Debian: libarchive-tools), 7z, 7zz, unrar or unar on PATH. Whatever the format or the tool, the archive
is LISTED first, by zipfile, tarfile or the tool's own machine-readable listing (`bsdtar -tf`/`-tvf`,
`7z l -slt`, `unrar lt`, `lsar -json`), and refused before anything is unpacked when a member has an
absolute path or `..`, is a symbolic or hard link, or is anything but a regular file or folder. After
unpacking, the tree is walked with lstat as a second line of defence (refuse_links).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import tarfile
import zipfile
from pathlib import Path

TAR_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tar.xz")
RAR_TOOLS = ("bsdtar", "7z", "7zz", "unrar", "unar")  # the order of preference; bsdtar first
# the tools' listings and names in one encoding: names with other bytes than ASCII list as they unpack
TOOL_ENVIRONMENT = {"LC_ALL": "C.UTF-8"}
FILE, FOLDER, SYMLINK, HARDLINK, SPECIAL = "regular file", "folder", "symbolic link", "hard link", "special file"
# a Unix mode as listings print it, e.g. "-rw-r--r--"; its first letter is the kind ("0": no kind bits, a file)
_UNIX_MODE = re.compile(r"^[-0dlcbps][-r][-w][-xsS][-r][-w][-xsS][-r][-w][-xtT]$")
_MODE_KIND = {"-": FILE, "0": FILE, "d": FOLDER, "l": SYMLINK}
# a listing line "Key = value" (7z) or "Key: value" (unrar), by separator; a name's line break would start a line of another form
_LISTING_LINE = {"=": re.compile(r"^\s*([A-Za-z][A-Za-z0-9 ]*?) =(?: (.*))?$"), ":": re.compile(r"^\s*([A-Za-z][A-Za-z0-9 ]*?):(?: (.*))?$")}


class DownloadError(Exception):
    """The network, an archive or a tool is missing or broken; the message says which and what to do."""


def rar_extractor() -> list[str] | None:
    """The command prefix of the first RAR extractor on PATH; the archive and target are appended."""
    for tool in RAR_TOOLS:
        if shutil.which(tool):
            return [tool]
    return None


def _rar_command(tool: str, archive: Path, into: Path) -> list[str]:
    if tool == "bsdtar":
        return ["bsdtar", "-xf", str(archive), "-C", str(into), "--no-same-owner"]
    if tool in ("7z", "7zz"):
        return [tool, "x", "-y", f"-o{into}", str(archive)]
    if tool == "unrar":
        return ["unrar", "x", "-o+", "-idq", str(archive), str(into) + "/"]
    return ["unar", "-quiet", "-force-overwrite", "-output-directory", str(into), str(archive)]


def fresh_folder(parent: Path, name: str) -> Path:
    """A new empty folder `parent/name` (or `name-2`, `name-3` ... when taken): one per archive."""
    for number in range(1, 10_000):
        folder = parent / (name if number == 1 else f"{name}-{number}")
        try:
            folder.mkdir(parents=True)
            return folder
        except FileExistsError:
            continue
    raise DownloadError(f"{parent}: no free folder name for {name}")


def check_member_name(archive: Path, name: str) -> None:
    """DownloadError when an archive member's path is absolute or climbs out with `..`."""
    parts = name.replace("\\", "/").split("/")
    if name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name) or ".." in parts:
        raise DownloadError(f"{archive}: unsafe member path {name!r} (absolute or '..'); refused, nothing unpacked")


def check_member_kind(archive: Path, name: str, kind: str) -> None:
    """DownloadError unless a member is a regular file or a folder (the same words as refuse_links)."""
    if kind in (SYMLINK, HARDLINK):
        raise DownloadError(f"{archive}: member {name!r} is a {kind}; refused")
    if kind not in (FILE, FOLDER):
        raise DownloadError(f"{archive}: member {name!r} is not a regular file or folder; refused")


def refuse_links(archive: Path, folder: Path) -> None:
    """DownloadError when anything unpacked into `folder` is a symbolic link, a hard link or not a file or folder."""
    for parent, folders, files in os.walk(folder):
        for name in folders + files:
            path = Path(parent, name)
            check_member_kind(archive, str(path.relative_to(folder)), _kind_on_disk(os.lstat(path)))


def _kind_on_disk(info: os.stat_result) -> str:
    """What an unpacked path is, by lstat: a file with more than one link is a hard link."""
    if stat.S_ISLNK(info.st_mode):
        return SYMLINK
    if stat.S_ISREG(info.st_mode):
        return HARDLINK if info.st_nlink > 1 else FILE
    return FOLDER if stat.S_ISDIR(info.st_mode) else SPECIAL


def extract(archive: Path, into: Path) -> None:
    """Unpack a .zip, a tar or a .rar archive into `into`, a new or empty real folder, refusing unsafe members."""
    into.mkdir(parents=True, exist_ok=True)
    if into.is_symlink() or any(into.iterdir()):
        raise DownloadError(f"{into}: not empty; an archive unpacks into a fresh folder only")
    name = archive.name.lower()
    if name.endswith(".zip"):
        _extract_zip(archive, into)
    elif name.endswith(TAR_SUFFIXES):
        _extract_tar(archive, into)
    elif name.endswith(".rar"):
        _extract_rar(archive, into)
    else:
        raise DownloadError(f"{archive}: unknown archive type (expected .zip, .rar or .tar)")
    refuse_links(archive, into)


def _extract_zip(archive: Path, into: Path) -> None:
    try:
        with zipfile.ZipFile(archive) as zipped:
            for member in zipped.infolist():
                check_member_name(archive, member.filename)
                check_member_kind(archive, member.filename, SYMLINK if stat.S_ISLNK(member.external_attr >> 16) else FILE)
            zipped.extractall(into)
    except zipfile.BadZipFile as error:
        raise DownloadError(f"{archive}: not a readable zip archive ({error}); delete it and download again") from None


def _extract_tar(archive: Path, into: Path) -> None:
    try:
        with tarfile.open(archive) as tarred:
            members = tarred.getmembers()
            for member in members:
                check_member_name(archive, member.name)
                kind = FILE if member.isfile() else FOLDER if member.isdir() else SYMLINK if member.issym() else HARDLINK if member.islnk() else SPECIAL
                check_member_kind(archive, member.name, kind)
            if hasattr(tarfile, "data_filter"):
                tarred.extractall(into, members=members, filter="data")
            else:
                tarred.extractall(into, members=members)
    except tarfile.TarError as error:
        raise DownloadError(f"{archive}: not a readable tar archive ({error}); delete it and download again") from None


def _extract_rar(archive: Path, into: Path) -> None:
    tool = rar_extractor()
    if tool is None:
        raise DownloadError(
            f"{archive}: unpacking RAR needs bsdtar, 7z, unrar or unar on PATH; "
            "install one (Debian/Ubuntu: apt-get install libarchive-tools) and rerun"
        )
    check_rar_listing(archive, tool[0])
    result = _run_tool(_rar_command(tool[0], archive, into))
    if result.returncode != 0:
        detail = (result.stderr or result.stdout).strip().splitlines()
        raise DownloadError(f"{archive}: {tool[0]} failed ({detail[-1] if detail else result.returncode}); delete it and download again")


def _run_tool(command: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(command, capture_output=True, text=True, errors="replace", env={**os.environ, **TOOL_ENVIRONMENT})


# --------------------------------------------------------------------------- RAR listings, one parser per tool


def check_rar_listing(archive: Path, tool: str) -> None:
    """Before `tool` unpacks `archive`: its own listing, every member's name and kind checked; nothing written yet."""
    if tool == "bsdtar":
        check_bsdtar_listing(archive)
        return
    if tool in ("7z", "7zz"):
        members = sevenzip_members(archive, _listing(archive, tool, [tool, "l", "-slt", str(archive)]))
    elif tool == "unrar":
        members = unrar_members(archive, _listing(archive, tool, ["unrar", "lt", "-c-", "-idc", str(archive)]))
    else:
        members = lsar_members(archive, _listing(archive, "lsar", ["lsar", "-json", str(archive)]))
    if not members:
        raise DownloadError(f"{archive}: {tool} lists no members in it; delete it and download again")
    for name, kind, _ in members:
        check_member_name(archive, name)
        check_member_kind(archive, name, kind)
    for name, _, values in members:
        _check_no_hidden_name(archive, name, values)


def _check_no_hidden_name(archive: Path, name: str, values: list[str]) -> None:
    """A name with a line break prints its rest as a line of its own: no other value of a member may climb out."""
    for value in values:
        if ".." in value.replace("\\", "/").split("/"):
            raise DownloadError(f"{archive}: unsafe member path near {name!r} (a listed value {value!r} climbs out with '..'); refused, nothing unpacked")


def _listing(archive: Path, tool: str, command: list[str]) -> str:
    if shutil.which(command[0]) is None:
        raise DownloadError(f"{archive}: {command[0]} (which lists archives for {tool}) is not on PATH; install it and rerun")
    result = _run_tool(command)
    if result.returncode != 0:
        detail = result.stderr.strip().splitlines()
        reason = detail[-1] if detail else f"exit status {result.returncode}"
        raise DownloadError(f"{archive}: {command[0]} cannot list it ({reason}); delete it and download again")
    return result.stdout


def _listing_blocks(archive: Path, tool: str, text: str, separator: str) -> list[dict[str, str]]:
    """Blank-line separated blocks of `Key<separator>value` lines, as dicts; any other line or a key twice is refused."""
    line_form, blocks = _LISTING_LINE[separator], []
    for block in re.split(r"\n(?:[ \t]*\n)+", text.strip("\n")):
        entry: dict[str, str] = {}
        for line in block.split("\n"):
            match = line_form.match(line)
            if not match or match.group(1) in entry:
                raise DownloadError(f"{archive}: {tool}'s listing has a line it should not ({line!r}: a member name with a line break?); refused")
            entry[match.group(1)] = match.group(2) or ""
        blocks.append(entry)
    return blocks


def _mode_kind(mode: str, otherwise: str) -> str:
    """The kind a printed Unix mode says (`otherwise` when the field is not a Unix mode)."""
    return _MODE_KIND.get(mode[0], SPECIAL) if _UNIX_MODE.match(mode) else otherwise


def sevenzip_members(archive: Path, text: str) -> list[tuple[str, str, list[str]]]:
    """(name, kind, other values) of each member in `7z l -slt`'s listing of a RAR archive."""
    head, separator, body = text.partition("\n----------\n")
    kind_line = re.search(r"^Type = (.*)$", head, re.MULTILINE)
    if not separator or not kind_line or kind_line.group(1) not in ("Rar", "Rar5"):
        found = kind_line.group(1) if kind_line else "nothing it knows"
        raise DownloadError(f"{archive}: 7z reads it as {found}, not RAR; refused (delete it and download again)")
    trailer = re.search(r"\n(Warnings|Errors): \d+\s*$", body)  # "Warnings: 1" after data past the archive's end
    if trailer and trailer.group(1) == "Errors":
        raise DownloadError(f"{archive}: 7z finds errors in it ({trailer.group(0).strip()}); delete it and download again")
    members = []
    for entry in _listing_blocks(archive, "7z", body[: trailer.start()] if trailer else body, "="):
        if "Path" not in entry:
            raise DownloadError(f"{archive}: 7z's listing has a member without a Path; refused")
        attributes = entry.get("Attributes", "").split()  # e.g. "D drwxr-xr-x": Windows letters, then a Unix mode
        windows = "".join(a for a in attributes if not _UNIX_MODE.match(a))
        kind = _mode_kind(attributes[-1], FILE) if attributes else FILE
        if entry.get("Folder") == "+":
            kind = FOLDER if kind in (FILE, FOLDER) else kind
        if entry.get("Symbolic Link") or "L" in windows:  # L: a Windows reparse point (symbolic link, junction)
            kind = SYMLINK
        elif entry.get("Hard Link"):
            kind = HARDLINK
        elif entry.get("Copy Link") or "Link:" in entry.get("Characteristics", ""):
            kind = SPECIAL
        members.append((entry["Path"], kind, [v for k, v in entry.items() if k != "Path"]))
    return members


def unrar_members(archive: Path, text: str) -> list[tuple[str, str, list[str]]]:
    """(name, kind, other values) of each member in `unrar lt`'s listing."""
    if not re.search(r"^Details: RAR", text, re.MULTILINE):  # else "NAME is not RAR archive", with exit status 0
        raise DownloadError(f"{archive}: unrar does not read it as RAR; refused (delete it and download again)")
    blocks = _listing_blocks(archive, "unrar", text, ":")
    types = {"File": FILE, "Directory": FOLDER, "Hard link": HARDLINK}
    members = []
    for entry in blocks[1:]:
        if "Name" not in entry or "Type" not in entry:
            raise DownloadError(f"{archive}: unrar's listing has a member without a Name or Type; refused")
        kind = SYMLINK if "symbolic link" in entry["Type"] or "junction" in entry["Type"] else types.get(entry["Type"], SPECIAL)
        if kind in (FILE, FOLDER):
            kind = _mode_kind(entry.get("Attributes", ""), kind)
        members.append((entry["Name"], kind, [v for k, v in entry.items() if k != "Name"]))
    return members


def lsar_members(archive: Path, text: str) -> list[tuple[str, str, list[str]]]:
    """(name, kind, []) of each member in `lsar -json`'s listing (JSON: names come whole, line breaks and all)."""
    try:
        listing = json.loads(text)
    except ValueError:
        raise DownloadError(f"{archive}: lsar's listing is not JSON; refused") from None
    found = listing.get("lsarFormatName", "nothing it knows")
    if listing.get("lsarError") or not str(found).startswith("RAR"):
        raise DownloadError(f"{archive}: lsar reads it as {found}, not RAR; refused (delete it and download again)")
    members = []
    for entry in listing.get("lsarContents", []):
        name = entry.get("XADFileName")
        if not isinstance(name, str):
            raise DownloadError(f"{archive}: lsar lists a member without a readable name ({name!r}); refused")
        members.append((name, _lsar_kind(entry), []))
    return members


def _lsar_kind(entry: dict) -> str:
    """A member's kind from lsar's flags and, where given, its Unix mode (XADPosixPermissions, or a Unix RAR5 header's)."""
    if entry.get("XADIsHardLink"):
        return HARDLINK
    if entry.get("XADIsLink"):
        return SYMLINK
    if any(entry.get(flag) for flag in ("XADIsCharacterDevice", "XADIsBlockDevice", "XADIsFIFO", "XADIsResourceFork")):
        return SPECIAL
    mode = entry.get("XADPosixPermissions", entry.get("RAR5Attributes") if entry.get("RAR5OS") == 1 else None)
    kind_bits = mode & 0o170000 if isinstance(mode, int) else 0
    if kind_bits == stat.S_IFLNK:
        return SYMLINK
    if kind_bits not in (0, stat.S_IFREG, stat.S_IFDIR):
        return SPECIAL
    return FOLDER if entry.get("XADIsDirectory") or kind_bits == stat.S_IFDIR else FILE


def check_bsdtar_listing(archive: Path) -> None:
    """Before unpacking with bsdtar: refuse absolute or `..` member names and symbolic or hard links."""
    names = _bsdtar_list(archive, "-tf")
    for name in names:
        check_member_name(archive, name)
    for line in _bsdtar_list(archive, "-tvf"):  # "-rw-r--r--  0 0  0  1 Jan  1  1970 NAME": the mode's letter is the kind
        if line[:1] in ("l", "h") or " link to " in line:
            raise DownloadError(f"{archive}: member {line.split(None, 8)[-1]!r} is a symbolic or hard link; refused")
        if line[:1] not in ("-", "d"):
            raise DownloadError(f"{archive}: member {line.split(None, 8)[-1]!r} is not a regular file or folder; refused")


def _bsdtar_list(archive: Path, option: str) -> list[str]:
    result = _run_tool(["bsdtar", option, str(archive)])
    if result.returncode != 0:
        detail = result.stderr.strip().splitlines()
        raise DownloadError(f"{archive}: bsdtar cannot list it ({detail[-1] if detail else result.returncode}); delete it and download again")
    return [line for line in result.stdout.splitlines() if line]


def extract_nested(folder: Path) -> None:
    """Unpack archives found inside `folder` (HMDB51 ships one RAR per class), each into a fresh folder beside it
    named after it, with the same checks; then delete them."""
    suffixes = (".rar", ".zip") + TAR_SUFFIXES
    while nested := sorted(p for p in folder.rglob("*") if p.name.lower().endswith(suffixes) and p.is_file() and not p.is_symlink()):
        for archive in nested:
            stem = archive.name[: -len(next(s for s in suffixes if archive.name.lower().endswith(s)))] or "archive"
            extract(archive, fresh_folder(archive.parent, stem))
            archive.unlink()

"""A minimal RAR5 writer for tests: "stored" (uncompressed) files only.

There is no free RAR compressor, but the RAR5 container is publicly documented
(https://www.rarlab.com/technote.htm). Stored entries need no compression, so
a few headers make archives that real extractors (bsdtar, 7z, unrar, unar) unpack:
the downloader's RAR path is then tested on archives the tests make.

    signature  52 61 72 21 1A 07 01 00
    header     CRC32(uint32 LE) | size (vint) | type (vint) | flags (vint) | fields...
    main header (type 1) -> one file header (type 2) + its data per file -> end of archive (type 5)
"""

from __future__ import annotations

import zlib
from pathlib import Path

SIGNATURE = b"Rar!\x1a\x07\x01\x00"
HEADER_MAIN, HEADER_FILE, HEADER_END = 1, 2, 5
HAS_EXTRA = 0x01  # header flag: an extra area follows the fields
HAS_DATA = 0x02  # header flag: a data area follows the header
FILE_HAS_CRC = 0x04  # file flag: the data's CRC32 is stored
HOST_UNIX = 1


def vint(value: int) -> bytes:
    """RAR5's variable-length integer: 7 bits per byte, low first, high bit set on all but the last."""
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


EXTRA_REDIRECTION = 5  # file header extra record: a link (type 1: Unix symlink, 4: hard link)
REDIRECT_SYMLINK, REDIRECT_HARDLINK = 1, 4


def header(kind: int, flags: int, fields: bytes, data_size: int | None = None, extra: bytes = b"") -> bytes:
    sizes = (vint(len(extra)) if extra else b"") + (vint(data_size) if data_size is not None else b"")
    body = vint(kind) + vint(flags | (HAS_EXTRA if extra else 0)) + sizes + fields + extra
    sized = vint(len(body)) + body
    return zlib.crc32(sized).to_bytes(4, "little") + sized


def file_header(name: str, data: bytes, mode: int = 0o100644) -> bytes:
    """A stored file's header (its data follows it); `mode` is its Unix mode, kind bits included (0o010644: a FIFO)."""
    encoded = name.encode("utf-8")
    fields = (
        vint(FILE_HAS_CRC)
        + vint(len(data))  # unpacked size
        + vint(mode)  # Unix attributes
        + zlib.crc32(data).to_bytes(4, "little")
        + vint(0)  # compression info: version 0, not solid, method 0 (store)
        + vint(HOST_UNIX)
        + vint(len(encoded))
        + encoded
    )
    return header(HEADER_FILE, HAS_DATA, fields, data_size=len(data))


def write_rar5(path: Path, files: dict[str, bytes], modes: dict[str, int] | None = None) -> Path:
    """Write `files` ({archive name with / separators: content}) as a stored RAR5 archive at `path`;
    `modes` gives some of them another Unix mode."""
    parts = [SIGNATURE, header(HEADER_MAIN, 0, vint(0))]
    for name, data in files.items():
        parts += [file_header(name, data, (modes or {}).get(name, 0o100644)), data]
    parts.append(header(HEADER_END, 0, vint(0)))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"".join(parts))
    return path


def link_header(name: str, target: str, kind: int = REDIRECT_SYMLINK) -> bytes:
    """A file header that is a link to `target` (a redirection extra record), without data."""
    encoded, aimed = name.encode("utf-8"), target.encode("utf-8")
    record = vint(EXTRA_REDIRECTION) + vint(kind) + vint(0) + vint(len(aimed)) + aimed
    fields = (
        vint(0)  # file flags: no CRC (no data)
        + vint(0)  # unpacked size
        + vint(0o120777 if kind == REDIRECT_SYMLINK else 0o100644)
        + vint(0)  # compression info: store
        + vint(HOST_UNIX)
        + vint(len(encoded))
        + encoded
    )
    return header(HEADER_FILE, HAS_DATA, fields, data_size=0, extra=vint(len(record)) + record)


def write_rar5_with_links(path: Path, entries: list[tuple[str, bytes | None, str | None]], kind: int = REDIRECT_SYMLINK) -> Path:
    """Entries (name, data, link target): a file when data is given, else a link to the target (a symbolic link,
    or a hard link with kind=REDIRECT_HARDLINK)."""
    parts = [SIGNATURE, header(HEADER_MAIN, 0, vint(0))]
    for name, data, target in entries:
        parts += [file_header(name, data), data] if data is not None else [link_header(name, target, kind)]
    parts.append(header(HEADER_END, 0, vint(0)))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"".join(parts))
    return path

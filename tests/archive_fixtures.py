"""What the archive tests share (test_download, test_download_sources, test_archives): zip archives made in
memory and the files a folder holds (the `outside` fixture is in conftest.py)."""

import io
import zipfile
from pathlib import Path


def zip_bytes(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def files_under(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")} if folder.exists() else set()

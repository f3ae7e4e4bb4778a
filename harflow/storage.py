"""Artifact storage: one set of file operations for local paths and object-storage URIs.

Every artifact read and write (the pipeline root, the serving base path, the
comparison files) goes through these functions, so a `gs://` (or, with
tensorflow-io, `s3://`) URI works wherever a local path does. A URI goes to
`tf.io.gfile` (TensorFlow imported lazily, on first use); a local path to the
standard library, so commands that only read local files start without TF.

The clips themselves are read by harflow/video.py (OpenCV) and must stay on a
file system (local or mounted); docs/storage.md says why.
"""

from __future__ import annotations

import os
import posixpath
import shutil
from pathlib import Path
from typing import Iterable


def is_uri(path: str | os.PathLike) -> bool:
    """True for `scheme://...` (gs://, s3://, ...), false for a local path."""
    return "://" in str(path)


def join(base: str | os.PathLike, *parts: str) -> str:
    """`base/part/...` as a string; URIs keep their `scheme://` and use '/'."""
    if is_uri(base):
        return posixpath.join(str(base), *parts)
    return os.path.join(str(base), *parts)


def parent(path: str | os.PathLike) -> str:
    """The folder holding `path` ('gs://b/x/y' -> 'gs://b/x')."""
    text = str(path).rstrip("/")
    return posixpath.dirname(text) if is_uri(text) else os.path.dirname(text)


def _gfile():
    import tensorflow as tf

    return tf.io.gfile


def exists(path: str | os.PathLike) -> bool:
    return _gfile().exists(str(path)) if is_uri(path) else os.path.exists(path)


def is_dir(path: str | os.PathLike) -> bool:
    return _gfile().isdir(str(path)) if is_uri(path) else os.path.isdir(path)


def list_dir(path: str | os.PathLike) -> list[str]:
    """The names directly in folder `path` (no trailing '/'), sorted; [] for an absent folder."""
    if not is_dir(path):
        return []
    names = _gfile().listdir(str(path)) if is_uri(path) else os.listdir(path)
    return sorted(name.rstrip("/") for name in names)


def make_dirs(path: str | os.PathLike) -> None:
    if is_uri(path):
        _gfile().makedirs(str(path))
    else:
        os.makedirs(path, exist_ok=True)


def read_bytes(path: str | os.PathLike) -> bytes:
    if is_uri(path):
        with _gfile().GFile(str(path), "rb") as handle:
            return handle.read()
    return Path(path).read_bytes()


def read_text(path: str | os.PathLike) -> str:
    return read_bytes(path).decode("utf-8")


def write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write `data` to `path`, making its folder first."""
    make_dirs(parent(path))
    if is_uri(path):
        with _gfile().GFile(str(path), "wb") as handle:
            handle.write(data)
    else:
        Path(path).write_bytes(data)


def write_text(path: str | os.PathLike, text: str) -> None:
    write_bytes(path, text.encode("utf-8"))


def walk_files(root: str | os.PathLike) -> list[str]:
    """Every file under folder `root`, as paths relative to it with '/' separators, sorted."""
    found = []
    if is_uri(root):
        for folder, _, files in _gfile().walk(str(root)):
            relative = str(folder)[len(str(root).rstrip("/")) :].strip("/")
            found += [posixpath.join(relative, name) if relative else name for name in files]
    else:
        for folder, _, files in os.walk(root):
            relative = os.path.relpath(folder, root).replace(os.sep, "/")
            found += [name if relative == "." else f"{relative}/{name}" for name in files]
    return sorted(found)


def copy_file(source: str | os.PathLike, target: str | os.PathLike) -> None:
    """Copy one file, across file systems if need be (local -> gs://, gs:// -> gs://, ...)."""
    make_dirs(parent(target))
    if is_uri(source) or is_uri(target):
        _gfile().copy(str(source), str(target), overwrite=True)
    else:
        shutil.copyfile(source, target)


def copy_tree(source: str | os.PathLike, target: str | os.PathLike, last: Iterable[str] = ()) -> None:
    """Copy every file under `source` to the same place under `target`.

    Files whose relative path is in `last` are copied after all others (the
    Pusher copies saved_model.pb last, so a reader never finds it beside
    half-copied variables).
    """
    if not is_dir(source):
        raise FileNotFoundError(f"{source}: no such folder to copy")
    make_dirs(target)
    files = walk_files(source)
    late = [name for name in files if name in set(last)]
    for name in [name for name in files if name not in late] + late:
        copy_file(join(source, name), join(target, name))


def remove_tree(path: str | os.PathLike) -> None:
    """Delete folder `path` and everything in it; an absent folder is fine."""
    if not exists(path):
        return
    if is_uri(path):
        _gfile().rmtree(str(path))
    else:
        shutil.rmtree(path)


def modified_time(path: str | os.PathLike) -> float:
    """When `path` was last written, in seconds since the epoch (an object's update time on gs://)."""
    if is_uri(path):
        return _gfile().stat(str(path)).mtime_nsec / 1e9
    return os.stat(path).st_mtime


def remove_file(path: str | os.PathLike) -> None:
    """Delete one file; an absent file is fine."""
    if not exists(path):
        return
    if is_uri(path):
        _gfile().remove(str(path))
    else:
        os.remove(path)


def rename(source: str | os.PathLike, target: str | os.PathLike) -> None:
    """Rename a file or folder. Atomic for a local folder (POSIX rename); on object storage a copy then a delete."""
    if is_uri(source) or is_uri(target):
        if is_dir(source):
            copy_tree(source, target)
            remove_tree(source)
        else:
            _gfile().rename(str(source), str(target), overwrite=False)
    else:
        os.rename(source, target)

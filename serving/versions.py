"""TF Serving's model base path: numbered version folders, each appearing whole.

TF Serving watches a model base path (a folder, `gs://` or `s3://`) and serves
the integer-named folders in it (by default the highest). A version must never
be visible half-written. `publish_version` first copies the SavedModel into a
hidden folder of the base path (`.incoming-...`, which TF Serving ignores), then:

- on a local or mounted file system, renames it to its number in one
  `os.rename`, which POSIX makes atomic;
- on object storage, which has no folder rename, copies it object by object
  (server-side) to its number with `saved_model.pb` last, so TF Serving, which
  loads a version only once its saved_model.pb exists, never loads it half-copied.

`prune_versions` removes old versions (locally: renamed out of sight first).

    base/
      1/  2/  3/                   what TF Serving may load
      .incoming-4-1a2b3c/          a push in progress (ignored by TF Serving)
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Callable

from harflow import storage

HIDDEN_PREFIX = ".incoming-"
DOOMED_PREFIX = ".removing-"
GRAPH_FILE = "saved_model.pb"  # the file TF Serving looks for: copied last on object storage


def versions(base: str | Path) -> list[int]:
    """The integer versions in `base`, ascending (an absent base has none)."""
    return sorted(int(name) for name in storage.list_dir(base) if name.isdigit() and storage.is_dir(storage.join(base, name)))


def next_version(base: str | Path) -> int:
    """One more than the highest version in `base`; 1 for an empty base path."""
    existing = versions(base)
    return existing[-1] + 1 if existing else 1


def _as_given(base: str | Path, path: str) -> str | Path:
    """`path` as a Path when `base` was one (local callers), else as a string (URIs)."""
    return Path(path) if isinstance(base, Path) else path


def publish_version(
    model_dir: str | Path, base: str | Path, attempts: int = 5, copy_tree: Callable = storage.copy_tree
) -> tuple[int, str | Path]:
    """Copy the SavedModel `model_dir` into `base` as the next version; returns (version, its folder).

    The copy lands in a hidden folder first and then becomes `base/<version>`
    (see the module docstring). If another pusher took that number meanwhile
    (on a file system: the rename fails), the next number is tried.
    `copy_tree(src, dst)` copies the folder (tests watch it).
    """
    if not storage.exists(storage.join(model_dir, GRAPH_FILE)):
        raise FileNotFoundError(f"{model_dir}: no {GRAPH_FILE} to push")
    storage.make_dirs(base)
    staging = storage.join(base, f"{HIDDEN_PREFIX}{uuid.uuid4().hex[:12]}")
    try:
        copy_tree(model_dir, staging)
        for _ in range(attempts):
            version = next_version(base)
            target = storage.join(base, str(version))
            if _claim(staging, target):
                return version, _as_given(base, target)
        raise RuntimeError(f"{base}: could not claim a version number in {attempts} attempts")
    finally:
        storage.remove_tree(staging)


def _claim(staging: str, target: str) -> bool:
    """Make `staging` the version folder `target`; False if `target` was taken meanwhile."""
    if storage.is_uri(target):
        if storage.exists(target):
            return False
        storage.copy_tree(staging, target, last=[GRAPH_FILE])
        return True
    try:
        os.rename(staging, target)  # atomic; fails if `target` exists and is not empty
    except OSError:
        if storage.exists(target):
            return False  # lost a race for this number: try the next one
        raise
    return True


def prune_versions(base: str | Path, keep: int) -> list[int]:
    """Remove all but the `keep` highest versions; returns the removed version numbers.

    On a file system each old version is first renamed to a hidden name
    (atomic), so TF Serving sees it disappear whole, then deleted; on object
    storage its saved_model.pb goes first, then the rest.
    """
    if keep < 1:
        raise ValueError(f"keep must be >= 1, not {keep}")
    doomed = versions(base)[:-keep]
    for version in doomed:
        folder = storage.join(base, str(version))
        if storage.is_uri(base):
            storage.remove_file(storage.join(folder, GRAPH_FILE))
            storage.remove_tree(folder)
        else:
            hidden = storage.join(base, f"{DOOMED_PREFIX}{version}-{uuid.uuid4().hex[:8]}")
            os.rename(folder, hidden)
            storage.remove_tree(hidden)
    return doomed

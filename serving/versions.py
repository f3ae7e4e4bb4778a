"""TF Serving's model base path: numbered version folders, written atomically.

TF Serving watches a model base path and serves the integer-named folders in
it (by default the highest). A version must therefore never be visible
half-written: `publish_version` copies the SavedModel into a hidden folder
inside the base path (same file system) and then renames it to its number in
one `os.rename`, which POSIX makes atomic. `prune_versions` removes old
versions the other way round: first renamed out of sight, then deleted.

A version is a folder with an ASCII decimal name holding saved_model.pb; an
empty `50/` or a folder named `²` is not one and never pushes real versions
out of the keep window. A version outside the newest `keep` is removed only
once its successor has been published for `grace_s` seconds, so a reader that
chose it just before the push has that long to load it. A push holds a lock on
`.incoming-<id>.lock` while it copies; the next push removes the staging
folders whose lock nobody holds (their push died) and leftover `.removing-*`.

On object storage (`gs://`, `s3://`), which has no folder rename and no
locks, the staging folder is copied server-side to its number with
saved_model.pb last, so TF Serving, which loads a version once its
saved_model.pb exists, never loads it half-copied; pruning deletes an old
version's saved_model.pb first (docs/storage.md).

    base/
      1/  2/  3/                   what TF Serving may load
      .incoming-1a2b3c/            a push in progress (ignored by TF Serving)
      .incoming-1a2b3c.lock        held by that push while it runs
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import time
import uuid
from pathlib import Path
from typing import Callable

from harflow import storage

HIDDEN_PREFIX = ".incoming-"
DOOMED_PREFIX = ".removing-"
LOCK_SUFFIX = ".lock"
GRAPH_FILE = "saved_model.pb"  # what TF Serving looks for: copied last on object storage
_VERSION_NAME = re.compile(r"[0-9]+")  # ASCII digits only: str.isdigit() is true for "²", which int() refuses


def numbered_folders(base: str | Path) -> list[int]:
    """Every folder of `base` with a decimal name, complete or not, ascending."""
    if storage.is_uri(base):
        names = [name for name in storage.list_dir(base) if _VERSION_NAME.fullmatch(name)]
        return sorted(int(name) for name in names if storage.is_dir(storage.join(base, name)))
    base = Path(base)
    if not base.is_dir():
        return []
    return sorted(int(p.name) for p in base.iterdir() if _VERSION_NAME.fullmatch(p.name) and p.is_dir())


def versions(base: str | Path) -> list[int]:
    """The complete versions in `base` (decimal name, saved_model.pb inside), ascending; none for an absent base."""
    if storage.is_uri(base):
        return [n for n in numbered_folders(base) if storage.exists(storage.join(base, str(n), GRAPH_FILE))]
    base = Path(base)
    return [n for n in numbered_folders(base) if (base / str(n) / "saved_model.pb").is_file()]


def newest_version_dir(base: str | Path) -> Path | None:
    """The folder of the highest complete version in `base`; None when there is none."""
    found = versions(base)
    if not found:
        return None
    return storage.join(base, str(found[-1])) if storage.is_uri(base) else Path(base) / str(found[-1])


def next_version(base: str | Path) -> int:
    """One more than the highest numbered folder in `base` (so a push is above empty ones too); 1 for none."""
    existing = numbered_folders(base)
    return existing[-1] + 1 if existing else 1


def remove_dead_staging(base: str | Path) -> list[str]:
    """Remove the `.incoming-*` folders of pushes that died (nobody holds their lock) and `.removing-*` leftovers."""
    base, removed = Path(base), []
    if not base.is_dir():
        return removed
    for path in sorted(base.iterdir()):
        if path.name.startswith(DOOMED_PREFIX):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path.name)
        elif path.name.startswith(HIDDEN_PREFIX) and not path.name.endswith(LOCK_SUFFIX) and _owner_is_gone(path):
            shutil.rmtree(path, ignore_errors=True)
            path.with_name(path.name + LOCK_SUFFIX).unlink(missing_ok=True)
            removed.append(path.name)
    return removed


def _owner_is_gone(staging: Path) -> bool:
    """True when no process holds the lock of `staging` (its push died; a lost lock file counts as dead)."""
    try:
        descriptor = os.open(staging.with_name(staging.name + LOCK_SUFFIX), os.O_RDWR)
    except FileNotFoundError:
        return True
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False
    finally:
        os.close(descriptor)  # closing releases a lock taken here


def publish_version(
    model_dir: str | Path, base: str | Path, attempts: int = 5, copy_tree: Callable = shutil.copytree
) -> tuple[int, Path]:
    """Copy the SavedModel `model_dir` into `base` as the next version; returns (version, its folder).

    The copy lands in a hidden folder first and becomes `base/<version>` with one
    atomic rename. If another pusher took that number meanwhile, the rename fails
    and the next number is tried. `copy_tree(src, dst)` copies the folder (tests watch it).
    A gs:// / s3:// base goes to publish_to_object_storage.
    """
    if storage.is_uri(base):
        return publish_to_object_storage(model_dir, base, attempts)
    model_dir, base = Path(model_dir), Path(base)
    if not (model_dir / "saved_model.pb").is_file():
        raise FileNotFoundError(f"{model_dir}: no saved_model.pb to push")
    base.mkdir(parents=True, exist_ok=True)
    remove_dead_staging(base)
    staging = base / f"{HIDDEN_PREFIX}{uuid.uuid4().hex[:12]}"
    lock = os.open(staging.with_name(staging.name + LOCK_SUFFIX), os.O_RDWR | os.O_CREAT, 0o644)
    fcntl.flock(lock, fcntl.LOCK_EX)  # held until this push ends; the kernel drops it if the process dies
    try:
        copy_tree(model_dir, staging)
        os.utime(staging)  # the publish time (copytree gave it the source's), which prune_versions' grace counts from
        for _ in range(attempts):
            version = next_version(base)
            target = base / str(version)
            try:
                os.rename(staging, target)  # atomic; fails if `target` exists and is not empty
            except OSError:
                if target.exists():
                    continue  # lost a race for this number: try the next one
                raise
            return version, target
        raise RuntimeError(f"{base}: could not claim a version number in {attempts} attempts")
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
        staging.with_name(staging.name + LOCK_SUFFIX).unlink(missing_ok=True)
        os.close(lock)


def prune_versions(base: str | Path, keep: int, grace_s: float = 0.0) -> list[int]:
    """Remove complete versions outside the newest `keep` whose successor was published over `grace_s` ago.

    Returns the removed version numbers. Folders that are not complete versions
    are neither counted nor removed. Each old version is first renamed to a
    hidden name (atomic), so TF Serving sees it disappear whole, then deleted.
    """
    if keep < 1 or grace_s < 0:
        raise ValueError(f"keep must be >= 1 and grace_s >= 0, not {keep} and {grace_s}")
    if storage.is_uri(base):
        return prune_object_storage(base, keep, grace_s)
    base = Path(base)
    complete = versions(base)
    now = time.time()
    doomed = [
        version
        for version, successor in zip(complete[:-keep], complete[1:])
        if now - _published_at(base / str(successor)) >= grace_s
    ]
    for version in doomed:
        hidden = base / f"{DOOMED_PREFIX}{version}-{uuid.uuid4().hex[:8]}"
        os.rename(base / str(version), hidden)
        shutil.rmtree(hidden)
    return doomed


def _published_at(folder: Path) -> float:
    try:
        return folder.stat().st_mtime
    except FileNotFoundError:  # pruned meanwhile by another pusher: long gone
        return 0.0


# --------------------------------------------------------------------------- gs:// and s3://


def publish_to_object_storage(model_dir: str | Path, base: str, attempts: int = 5) -> tuple[int, str]:
    """Upload `model_dir` to a hidden folder of `base`, then copy it to the next version with saved_model.pb last.

    Two pushers racing for one number are not serialised (object storage has no
    compare-and-swap on a prefix): a number found taken before the copy is skipped.
    """
    if not storage.exists(storage.join(model_dir, GRAPH_FILE)):
        raise FileNotFoundError(f"{model_dir}: no {GRAPH_FILE} to push")
    staging = storage.join(base, f"{HIDDEN_PREFIX}{uuid.uuid4().hex[:12]}")
    try:
        storage.copy_tree(model_dir, staging)  # an interrupted upload leaves no numbered version
        for _ in range(attempts):
            version = next_version(base)
            target = storage.join(base, str(version))
            if storage.exists(target):
                continue
            storage.copy_tree(staging, target, last=[GRAPH_FILE])
            return version, target
        raise RuntimeError(f"{base}: could not claim a version number in {attempts} attempts")
    finally:
        storage.remove_tree(staging)


def prune_object_storage(base: str, keep: int, grace_s: float) -> list[int]:
    """prune_versions on object storage: each old version's saved_model.pb first (TF Serving stops seeing it), then the rest."""
    complete = versions(base)
    now = time.time()
    doomed = [
        version
        for version, successor in zip(complete[:-keep], complete[1:])
        if now - storage.modified_time(storage.join(base, str(successor), GRAPH_FILE)) >= grace_s
    ]
    for version in doomed:
        folder = storage.join(base, str(version))
        storage.remove_file(storage.join(folder, GRAPH_FILE))
        storage.remove_tree(folder)
    return doomed

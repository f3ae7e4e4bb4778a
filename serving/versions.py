"""TF Serving's model base path: numbered version folders, written atomically.

TF Serving watches a model base path and serves the integer-named folders in
it (by default the highest). A version must therefore never be visible
half-written: `publish_version` copies the SavedModel into a hidden folder
inside the base path (same file system) and then renames it to its number in
one `os.rename`, which POSIX makes atomic. `prune_versions` removes old
versions the other way round: first renamed out of sight, then deleted.

    base/
      1/  2/  3/                   what TF Serving may load
      .incoming-4-1a2b3c/          a push in progress (ignored by TF Serving)
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path
from typing import Callable

HIDDEN_PREFIX = ".incoming-"
DOOMED_PREFIX = ".removing-"


def versions(base: str | Path) -> list[int]:
    """The integer versions in `base`, ascending (an absent base has none)."""
    base = Path(base)
    if not base.is_dir():
        return []
    return sorted(int(p.name) for p in base.iterdir() if p.name.isdigit() and p.is_dir())


def next_version(base: str | Path) -> int:
    """One more than the highest version in `base`; 1 for an empty base path."""
    existing = versions(base)
    return existing[-1] + 1 if existing else 1


def publish_version(
    model_dir: str | Path, base: str | Path, attempts: int = 5, copy_tree: Callable = shutil.copytree
) -> tuple[int, Path]:
    """Copy the SavedModel `model_dir` into `base` as the next version; returns (version, its folder).

    The copy lands in a hidden folder first and becomes `base/<version>` with one
    atomic rename. If another pusher took that number meanwhile, the rename fails
    and the next number is tried. `copy_tree(src, dst)` copies the folder (tests watch it).
    """
    model_dir, base = Path(model_dir), Path(base)
    if not (model_dir / "saved_model.pb").is_file():
        raise FileNotFoundError(f"{model_dir}: no saved_model.pb to push")
    base.mkdir(parents=True, exist_ok=True)
    staging = base / f"{HIDDEN_PREFIX}{uuid.uuid4().hex[:12]}"
    try:
        copy_tree(model_dir, staging)
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


def prune_versions(base: str | Path, keep: int) -> list[int]:
    """Remove all but the `keep` highest versions; returns the removed version numbers.

    Each old version is first renamed to a hidden name (atomic), so TF Serving
    sees it disappear whole, then deleted.
    """
    if keep < 1:
        raise ValueError(f"keep must be >= 1, not {keep}")
    base = Path(base)
    doomed = versions(base)[:-keep]
    for version in doomed:
        hidden = base / f"{DOOMED_PREFIX}{version}-{uuid.uuid4().hex[:8]}"
        os.rename(base / str(version), hidden)
        shutil.rmtree(hidden)
    return doomed

"""`harflow env clean`: the one way to remove harflow's environment (its cache: root file system and venvs).

Refused from inside the environment and while any process runs inside it, and (harflow.env._remove_tree)
while anything is still mounted under the cache. Standard library and harflow.env only: it runs on the
host's Python, like harflow.env.
"""

from __future__ import annotations

import os
from pathlib import Path

from harflow.env import IN_ENV_FLAG, ROOTFS_VARIABLE, EnvironmentError_, Layout
from harflow.env.build import _remove_tree


def sessions_in(lay: Layout) -> list[int]:
    """Processes running inside this environment (their HARFLOW_ROOTFS or VIRTUAL_ENV is under the cache)."""
    marks = [f"{ROOTFS_VARIABLE}={lay.rootfs}".encode()] if lay.rootfs else []
    marks.append(f"VIRTUAL_ENV={lay.cache}/".encode())
    pids = []
    for environ in Path("/proc").glob("[0-9]*/environ"):
        try:
            variables = environ.read_bytes().split(b"\0")
        except OSError:
            continue  # gone meanwhile, or not ours to read
        if int(environ.parent.name) != os.getpid() and any(v == m or v.startswith(m) for v in variables for m in marks):
            pids.append(int(environ.parent.name))
    return sorted(pids)


def clean(lay: Layout) -> str:
    """`harflow env clean`: remove the cache (root file system and venvs); refused from inside or while in use."""
    if os.environ.get(IN_ENV_FLAG) == "1":
        raise EnvironmentError_("run `harflow env clean` on the host, not inside the environment (make shell)")
    if not lay.cache.exists():
        return f"{lay.cache}: nothing to remove"
    sessions = sessions_in(lay)
    if sessions:
        raise EnvironmentError_(f"{lay.cache} is in use (processes {', '.join(map(str, sessions[:5]))} run inside it); stop them and run again")
    _remove_tree(lay.cache)
    return f"removed {lay.cache}"

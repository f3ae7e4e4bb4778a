"""Who `harflow serve` runs as: never root while it decodes strangers' uploads.

Started as root, the server binds its port and loads the model first, then becomes
an unprivileged user (`become`) before it accepts a request:

    not root                          -> stays who it is (--user must name that same user, or be absent)
    root in a rootless user namespace -> stays: it is the invoking user on the host (host_uid)
    root, --allow-root                -> stays root (not recommended; said on start-up)
    root, --user NAME                 -> becomes NAME
    root in harflow's root file system -> becomes WebConfig.run_as_default (nobody), where commands run as root
    root anywhere else                -> refused: give --user NAME or --allow-root

The upload folder is made the new user's (mode 0700) before the switch.
"""

from __future__ import annotations

import os
import pwd
from dataclasses import dataclass
from pathlib import Path

from harflow import env
from harflow.config import WebConfig


class PrivilegeError(ValueError):
    """serve cannot run as asked; the message says what to give instead."""


@dataclass(frozen=True)
class Account:
    name: str
    uid: int
    gid: int


def account_to_become(config: WebConfig, euid: int | None = None, in_rootfs: bool | None = None) -> Account | None:
    """The user to become after start-up, or None to stay as we are; PrivilegeError when root is refused."""
    euid = host_uid(os.geteuid()) if euid is None else euid
    in_rootfs = bool(os.environ.get(env.ROOTFS_VARIABLE)) if in_rootfs is None else in_rootfs
    if euid != 0:
        if config.user and _account(config.user).uid != euid:
            raise PrivilegeError(f"--user {config.user}: switching users needs root; start harflow serve as that user instead")
        return None
    if config.allow_root:
        return None
    if config.user:
        return _account(config.user)
    if in_rootfs:
        return _account(config.run_as_default)
    raise PrivilegeError(
        "harflow serve refuses to run as root, since it decodes strangers' uploads: give --user NAME "
        "(e.g. --user nobody) to become NAME once the port is bound and the model loaded, or --allow-root"
    )


def host_uid(uid: int, uid_map: str | None = None) -> int:
    """The uid that `uid` of this process is outside its user namespace (/proc/self/uid_map).

    In a rootless environment (a user namespace that maps root to the invoking user) root here is
    that user on the host: nothing to drop. Outside any user namespace the map is the identity.
    """
    if uid_map is None:
        try:
            uid_map = Path("/proc/self/uid_map").read_text()
        except OSError:
            return uid
    for line in uid_map.splitlines():
        inside, outside, count = (int(field) for field in line.split())
        if inside <= uid < inside + count:
            return outside + uid - inside
    return uid


def become(account: Account, upload_dir: str) -> None:
    """Give `upload_dir` to the account (mode 0700), then drop root for good: supplementary groups, gid, uid.

    Raises PrivilegeError when root could be regained afterwards or the folder is out of the account's reach.
    """
    os.chown(upload_dir, account.uid, account.gid)
    os.chmod(upload_dir, 0o700)
    os.setgroups([])
    os.setgid(account.gid)
    os.setuid(account.uid)  # glibc applies it to every thread of the process (TensorFlow's too)
    if 0 in os.getresuid() or 0 in os.getresgid() or _can_regain_root():
        raise PrivilegeError(f"could not drop root for good when becoming {account.name}")
    if not os.access(upload_dir, os.R_OK | os.W_OK | os.X_OK):
        raise PrivilegeError(
            f"the upload folder {upload_dir} is out of reach of user {account.name} (a folder above it is private): "
            "give --upload-dir a folder that user can reach, or leave it unset for a new temp dir"
        )


def _can_regain_root() -> bool:
    try:
        os.setuid(0)
    except PermissionError:
        return False
    return True


def _account(name: str) -> Account:
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        raise PrivilegeError(f"--user {name}: no such user on this system (/etc/passwd); name an existing one, e.g. nobody") from None
    return Account(entry.pw_name, entry.pw_uid, entry.pw_gid)

"""The Debian 13 root file system of harflow's environment: built once, entered by every command.

Two ways, chosen by who runs harflow (harflow.env picks; the cache keeps them apart):

* **as root**: built with debootstrap, entered with `unshare --mount` and `chroot`; its files
  belong to root. Cached as ``rootfs-trixie``.
* **rootless** (any other user, where the kernel allows unprivileged user namespaces): built with
  ``mmdebstrap --mode=unshare`` (which maps the user's subordinate ids from /etc/subuid, so dpkg
  can give files to root and to system users) written as a tarball and unpacked by the user, so
  every file belongs to the user; entered with ``unshare --user --map-root-user --mount`` and
  ``chroot``: the user appears as root inside and can write the whole tree. Cached as
  ``rootfs-trixie-rootless``.

The two never share a tree: one built by root has files a user cannot write, and one built
rootless would get root-owned files its user could not remove. Entering needs no subordinate ids,
only the user namespace (util-linux `unshare`, any version).

Standard library only: this runs on the host's own Python.
"""

from __future__ import annotations

import hashlib
import os
import shlex
import shutil
import subprocess
from pathlib import Path

DEBIAN_SUITE = "trixie"
DEBIAN_MIRROR = "http://deb.debian.org/debian"
BASE_PACKAGES = ("python3", "python3-venv", "python3-pip", "ca-certificates")
# g++, python3-dev: pyfarmhash (a TFX dependency) builds from source;
# libarchive-tools: bsdtar, which unpacks the RAR archives of UCF101 and HMDB51 (harflow.datasets.archives);
# 7zip, unar: the other RAR extractors that module supports, so the tests check each one's listing parser
# against the real tool (unrar is in Debian's non-free, which the root file system does not use);
# chromium, chromium-driver, fonts-dejavu-core: the headless browser the web app's tests drive (Selenium).
# A package added here is installed into existing root file systems on their next use (an apt-get install,
# not a rebuild).
ROOTFS_PACKAGES = ("g++", "python3-dev", "libarchive-tools", "7zip", "unar", "chromium", "chromium-driver", "fonts-dejavu-core")

# Top-level host directories that belong to the operating system: the root
# file system has its own. Every other top-level directory of the host
# (/home, /root, /tmp, /work, /mnt, /srv, /data, ...) is bind-mounted at the
# same path inside, so paths mean the same thing in and out.
SYSTEM_DIRS = frozenset(
    "bin boot dev etc lib lib32 lib64 libx32 lost+found opt proc run sbin sys usr var old_root".split()
)
# Root mode enters each root file system from a bind of it here, inside the command's private mount
# namespace: /run is not bound inside, so the host folders bound into the tree are never reachable
# through the cache path (an `rm -rf` of the cache from inside cannot reach the host's /home).
MOUNT_ROOT = Path("/run/harflow")
HOST_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")  # some networks need the host's CA bundle


class RootfsError(RuntimeError):
    """A problem building or entering the root file system, with the fix in its message."""


def rootfs_name(rootless: bool) -> str:
    return f"rootfs-{DEBIAN_SUITE}-rootless" if rootless else f"rootfs-{DEBIAN_SUITE}"


# --------------------------------------------------------------------------- can we go rootless?


def user_namespaces_blocked() -> str | None:
    """Why this kernel refuses unprivileged user namespaces, or None when it allows them."""
    checks = (
        ("/proc/sys/kernel/unprivileged_userns_clone", "0", "kernel.unprivileged_userns_clone is 0"),
        ("/proc/sys/user/max_user_namespaces", "0", "user.max_user_namespaces is 0"),
        (
            "/proc/sys/kernel/apparmor_restrict_unprivileged_userns",
            "1",
            "AppArmor restricts unprivileged user namespaces (kernel.apparmor_restrict_unprivileged_userns=1)",
        ),
    )
    for path, blocking, reason in checks:
        try:
            if Path(path).read_text().strip() == blocking:
                return reason
        except OSError:
            continue
    return None


def subordinate_ids(user: str, uid: int, table: Path) -> int:
    """How many subordinate ids /etc/subuid (or /etc/subgid) grants `user`; 0 when none."""
    try:
        lines = table.read_text().splitlines()
    except OSError:
        return 0
    count = 0
    for line in lines:
        fields = line.strip().split(":")
        if len(fields) == 3 and fields[0] in (user, str(uid)) and fields[2].isdigit():
            count += int(fields[2])
    return count


def rootless_build_missing(user: str | None = None, uid: int | None = None, etc: Path = Path("/etc")) -> list[str]:
    """What a rootless build lacks on this host, each with its fix; empty when it can run."""
    uid = os.getuid() if uid is None else uid
    if user is None:
        import pwd

        try:
            user = pwd.getpwuid(uid).pw_name
        except KeyError:
            user = str(uid)
    missing = []
    if shutil.which("mmdebstrap") is None:
        missing.append("mmdebstrap (an administrator runs: apt-get install mmdebstrap)")
    if shutil.which("newuidmap") is None or shutil.which("newgidmap") is None:
        missing.append("newuidmap/newgidmap (an administrator runs: apt-get install uidmap)")
    for table in ("subuid", "subgid"):
        if subordinate_ids(user, uid, etc / table) < 65536:
            missing.append(
                f"65536 subordinate ids for {user} in /etc/{table} "
                f"(an administrator runs, with a free range: usermod --add-sub{table[3:]}s 100000-165535 {user})"
            )
    return missing


# --------------------------------------------------------------------------- entering


def mount_point(rootfs: Path) -> Path:
    """Where a root-mode root file system is entered from: under /run (never bound inside), outside the cache."""
    return MOUNT_ROOT / f"{rootfs.name}-{hashlib.sha256(str(rootfs).encode()).hexdigest()[:12]}"


def entry_path(rootfs: Path, rootless: bool) -> Path:
    """The path the host folders are bound under and chroot enters: as root the private mount point, so
    no host folder is ever reachable (and deletable) through the cache path; rootless the tree itself,
    whose binds carry only the user's own rights (and a user cannot create folders in /run)."""
    return rootfs if rootless else mount_point(rootfs)


def enter_script(rootfs: Path, rootless: bool, driver_lines: list[str] = ()) -> str:
    """Shell run inside the new namespaces: mount what the root file system needs, then chroot.

    As root the tree is first bound at its private mount point (entry_path), and every mount lands
    there. The host's own directories are bound first, then /proc, /dev and /sys, so that the
    recursive binds do not copy those mounts a second time. As root a fresh /proc is mounted;
    rootless, the host's /proc is bound instead (mounting a new proc needs a PID namespace of one's
    own; the bound one shows the same processes, as the fresh one does in root mode).
    `driver_lines` bind the host's NVIDIA driver (harflow.env.gpu, made for entry_path) after /dev.
    """
    r = shlex.quote(str(entry_path(rootfs, rootless)))
    lines = ["set -e"]
    if not rootless:
        lines += [f"mkdir -p {r}", f"mount --bind {shlex.quote(str(rootfs))} {r}"]
    for entry in sorted(os.listdir("/")):
        path = Path("/") / entry
        if entry in SYSTEM_DIRS or path.is_symlink() or not path.is_dir():
            continue
        q = shlex.quote(entry)
        lines.append(f"mkdir -p {r}/{q} && mount --rbind /{q} {r}/{q} 2>/dev/null || true")
    lines.append(f"mount --rbind /proc {r}/proc" if rootless else f"mount -t proc proc {r}/proc")
    lines += [f"mount --rbind /dev {r}/dev", f"mount --rbind /sys {r}/sys", *driver_lines]
    lines += [
        f"[ -f /etc/resolv.conf ] && cp /etc/resolv.conf {r}/etc/resolv.conf || true",
        f"[ -f /etc/hosts ] && mount --bind /etc/hosts {r}/etc/hosts || true",  # the host's names (Beam: getfqdn())
        f'cd_to=$1; shift; exec chroot {r} /bin/sh -c \'cd "$0" 2>/dev/null || cd /; exec "$@"\' "$cd_to" "$@"',
    ]
    return "\n".join(lines)


def namespace_command(rootless: bool) -> list[str]:
    """The `unshare` that gives a command private mounts (and, rootless, a user namespace)."""
    if rootless:
        return ["unshare", "--user", "--map-root-user", "--mount", "--propagation", "private"]
    if os.geteuid() != 0:
        raise RootfsError(
            "this root file system was built by root and needs root to enter (mount, chroot); "
            "run as root, or as your own user with your own cache (HARFLOW_CACHE) for the rootless one"
        )
    return ["unshare", "--mount", "--propagation", "private"]


def command_in_rootfs(rootfs: Path, argv: list[str], cwd: str, rootless: bool = False, driver_lines: list[str] = ()) -> list[str]:
    """The host command that runs `argv` inside the root file system, mounts private."""
    script = enter_script(rootfs, rootless, list(driver_lines))
    return [*namespace_command(rootless), "/bin/sh", "-c", script, "sh", cwd, *argv]


# --------------------------------------------------------------------------- building


def debootstrap_command(target: Path) -> list[str]:
    return [
        "debootstrap",
        "--variant=minbase",
        f"--include={','.join(BASE_PACKAGES)}",
        DEBIAN_SUITE,
        str(target),
        DEBIAN_MIRROR,
    ]


def mmdebstrap_command() -> list[str]:
    """mmdebstrap writing the root file system as a tarball on stdout (every package at once)."""
    return [
        "mmdebstrap",
        "--mode=unshare",
        "--variant=apt",
        f"--include={','.join((*BASE_PACKAGES, *ROOTFS_PACKAGES))}",
        DEBIAN_SUITE,
        "-",
        DEBIAN_MIRROR,
    ]


def unpack_command(target: Path) -> list[str]:
    """tar, as the user, unpacking mmdebstrap's tarball (files become the user's; device nodes are
    left out: /dev is the host's, bound at every entry)."""
    return ["tar", "-x", "-C", str(target), "--exclude=./dev/*"]


def build_rootless(target: Path) -> None:
    """mmdebstrap | tar into `target` (an empty directory) without root."""
    missing = rootless_build_missing()
    if missing:
        raise RootfsError(
            "building the Debian 13 root file system without root needs: " + "; ".join(missing)
            + ". Or run harflow once as root, or use a host with glibc >= 2.39"
        )
    target.mkdir(parents=True)
    producer = subprocess.Popen(mmdebstrap_command(), stdout=subprocess.PIPE)
    unpacked = subprocess.call(unpack_command(target), stdin=producer.stdout)
    producer.stdout.close()
    built = producer.wait()
    if built != 0 or unpacked != 0:
        raise RootfsError(
            f"mmdebstrap (exit {built}) | tar (exit {unpacked}) failed; see the output above, fix it, and run again"
        )
    copy_host_ca_bundle(target)


def copy_host_ca_bundle(rootfs: Path) -> None:
    if HOST_CA_BUNDLE.exists():
        shutil.copy(HOST_CA_BUNDLE, rootfs / "etc/ssl/certs/ca-certificates.crt")


def apt_install_script(packages: tuple[str, ...] | list[str], rootless: bool) -> str:
    """apt-get inside the root file system; rootless, apt cannot switch to its `_apt` user (an
    unmapped id in a one-user namespace), so it downloads as the namespace's root."""
    sandbox = " -o APT::Sandbox::User=root" if rootless else ""
    return (
        f"apt-get{sandbox} update -q && DEBIAN_FRONTEND=noninteractive apt-get{sandbox} install -y -q "
        f"--no-install-recommends {' '.join(packages)} && apt-get clean"
    )


# --------------------------------------------------------------------------- packages


def installed_packages(dpkg_status: Path) -> set[str]:
    """Names of the packages a dpkg status file marks `install ok installed` (read on the host, no chroot)."""
    if not dpkg_status.is_file():
        return set()
    installed = set()
    for stanza in dpkg_status.read_text(encoding="utf-8", errors="replace").split("\n\n"):
        fields = dict(line.split(": ", 1) for line in stanza.splitlines() if ": " in line and not line.startswith(" "))
        if fields.get("Status") == "install ok installed" and "Package" in fields:
            installed.add(fields["Package"])
    return installed


def missing_rootfs_packages(rootfs: Path) -> list[str]:
    """The ROOTFS_PACKAGES an existing root file system lacks (added to harflow after it was built)."""
    installed = installed_packages(rootfs / "var/lib/dpkg/status")
    return [package for package in ROOTFS_PACKAGES if package not in installed]

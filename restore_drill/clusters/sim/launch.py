"""Start one sim container: its volumes appear at their mountPaths, the host stays untouched.

``python -m restore_drill.clusters.sim.launch --root DIR [--bind SRC:DST[:ro]]... [--workdir W]
-- COMMAND...``

As root (Linux): the launcher enters a private mount namespace (``unshare(CLONE_NEWNS)``,
propagation private, so nothing leaks to the host), mounts a tmpfs on ``--root`` and builds a
root there: every top-level entry of the host's ``/`` is bind-mounted (symlinks such as
``/bin -> usr/bin`` are recreated), then each volume is bind-mounted at its mountPath (the
mount point is created inside the tmpfs, so ``/data`` never appears on the host), then it
``chroot``s there and ``exec``s the command. The image is not used: the container sees the
host's programs (``python3`` is the host's python). A mountPath below a host directory
(``/var/lib/x``) needs its mount point created in that host directory; the launcher does so.

Without root (or without mount namespaces), :func:`rewrite` is used instead by the runner:
mountPath prefixes in the command, arguments, environment and working directory are replaced
by the volumes' host paths, and no launcher process is involved.
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

CLONE_NEWNS = 0x00020000
MS_RDONLY = 1
MS_REMOUNT = 32
MS_BIND = 4096
MS_REC = 16384
MS_PRIVATE = 1 << 18


def namespaces_available() -> bool:
    """True when this machine lets the sim bind-mount volumes in a private mount namespace."""
    return sys.platform == "linux" and os.geteuid() == 0


def rewrite(text: str, mounts: Mapping[str, str]) -> str:
    """Replace a mountPath prefix in ``text`` by the volume's host path (longest first)."""
    for target in sorted(mounts, key=len, reverse=True):
        if text == target or text.startswith(target.rstrip("/") + "/"):
            return mounts[target] + text[len(target) :]
        text = text.replace(" " + target.rstrip("/") + "/", " " + mounts[target] + "/")
    return text


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")


def _mount(libc: ctypes.CDLL, source: str, target: str, fstype: str | None, flags: int) -> None:
    _check(
        libc.mount(
            source.encode(), target.encode(), fstype.encode() if fstype else None, flags, None
        ),
        f"mount {source} on {target}",
    )


def build_root(root: Path, binds: Sequence[tuple[str, str, bool]]) -> None:
    """Inside a fresh mount namespace: a tmpfs root with the host's dirs and the volumes."""
    libc = _libc()
    _check(libc.unshare(CLONE_NEWNS), "unshare mount namespace")
    _mount(libc, "none", "/", None, MS_REC | MS_PRIVATE)
    root.mkdir(parents=True, exist_ok=True)
    _mount(libc, "tmpfs", str(root), "tmpfs", 0)
    holder = Path("/") / Path(*root.parts[1:2])  # the host dir holding the root: no recursion
    for entry in sorted(Path("/").iterdir()):
        inside = root / entry.name
        if entry.is_symlink():
            inside.symlink_to(os.readlink(entry))
        elif entry.is_dir():
            inside.mkdir()
            flags = MS_BIND if entry == holder else MS_BIND | MS_REC
            _mount(libc, str(entry), str(inside), None, flags)
    for source, target, read_only in binds:
        point = root / target.lstrip("/")
        if Path(source).is_dir():
            point.mkdir(parents=True, exist_ok=True)
        else:
            point.parent.mkdir(parents=True, exist_ok=True)
            point.touch(exist_ok=True)
        _mount(libc, source, str(point), None, MS_BIND)
        if read_only:
            _mount(libc, source, str(point), None, MS_BIND | MS_REMOUNT | MS_RDONLY)
    os.chroot(root)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="restore_drill.clusters.sim.launch")
    parser.add_argument("--root", required=True, type=Path)
    parser.add_argument("--bind", action="append", default=[], help="SRC:DST[:ro]")
    parser.add_argument("--workdir", default="/")
    parser.add_argument("command", nargs="+")
    args = parser.parse_args(argv)
    binds = []
    for spec in args.bind:
        source, target, *mode = spec.split(":")
        binds.append((source, target, mode == ["ro"]))
    build_root(args.root, binds)
    os.chdir(args.workdir)
    os.execvp(args.command[0], args.command)


if __name__ == "__main__":
    sys.exit(main())

"""Damage planted on purpose in restored data, so that ``restore-drill selftest`` can show
that verify detects each kind.

One file, standard library only: it runs in a pod next to the PVC as
``python3 /agent/damage.py --root /data KIND PATH [KIND PATH ...]``, and in process in the
unit tests, so the same code damages a cluster's volume and a local directory.
"""

from __future__ import annotations

import argparse
import os
import shutil
import stat
import sys

KINDS = ("flip-byte", "truncate", "remove", "chmod", "retarget", "extra", "empty")
PLANTED = b"planted by restore-drill selftest\n"


def damage(root: str, kind: str, path: str = "") -> None:
    """Damage ``path`` (relative to ``root``) in the way ``kind`` says."""
    full = os.path.join(root, path)
    if kind == "flip-byte":
        middle = os.path.getsize(full) // 2
        with open(full, "r+b") as data:
            data.seek(middle)
            byte = data.read(1)
            data.seek(middle)
            data.write(bytes([byte[0] ^ 0xFF]))
    elif kind == "truncate":
        os.truncate(full, os.path.getsize(full) // 2)
    elif kind == "remove":
        os.remove(full)
    elif kind == "chmod":
        os.chmod(full, stat.S_IMODE(os.lstat(full).st_mode) ^ stat.S_IXUSR)
    elif kind == "retarget":
        target = os.readlink(full)
        os.remove(full)
        os.symlink(target + ".elsewhere", full)
    elif kind == "extra":
        with open(full, "wb") as data:
            data.write(PLANTED)
    elif kind == "empty":
        for name in os.listdir(root):
            if name == "lost+found":
                continue
            entry = os.path.join(root, name)
            if os.path.isdir(entry) and not os.path.islink(entry):
                shutil.rmtree(entry)
            else:
                os.remove(entry)
    else:
        raise ValueError(f"unknown damage {kind!r} (known: {', '.join(KINDS)})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--root", required=True)
    parser.add_argument("pairs", nargs="*", metavar="KIND PATH")
    args = parser.parse_args(argv)
    if len(args.pairs) % 2:
        parser.error("damage comes in KIND PATH pairs")
    for kind, path in zip(args.pairs[::2], args.pairs[1::2], strict=True):
        damage(args.root, kind, path)
        print(f"damaged: {kind} {path}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

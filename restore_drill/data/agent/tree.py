"""The data root: what is never part of the data, the walk order, the post-backup marker."""

from __future__ import annotations

import json
import os
import stat
import time
from collections.abc import Iterator

MARKER_NAME = ".restore-drill-marker"
# VolSync's mover backs up with `--exclude lost+found`, so it is never part of the data.
EXCLUDED_AT_ROOT = frozenset({MARKER_NAME, "lost+found"})


def in_walk_order(names: list[str]) -> list[str]:
    """Names sorted by their bytes on disk: the same order on any machine and locale."""
    if "".join(names).isascii():  # then code point order is byte order, and cheaper
        return sorted(names)
    return sorted(names, key=os.fsencode)


def walk(root: str) -> Iterator[tuple[str, str, os.stat_result]]:
    """(relative path, full path, lstat) depth-first in walk order, the root left out."""
    stack: list[Iterator[tuple[str, str]]] = [iter([("", root)])]
    first = True
    while stack:
        item = next(stack[-1], None)
        if item is None:
            stack.pop()
            continue
        rel, full = item
        info = os.lstat(full)
        if not first:
            yield rel, full, info
        first = False
        if stat.S_ISDIR(info.st_mode):
            names = in_walk_order(os.listdir(full))
            if not rel:
                names = [n for n in names if n not in EXCLUDED_AT_ROOT]
            stack.append(iter([(os.path.join(rel, n), os.path.join(full, n)) for n in names]))


def mark(root: str) -> str:
    """Write the post-backup marker: a restore from the earlier backup must not contain it."""
    path = os.path.join(root, MARKER_NAME)
    with open(path, "w") as out:
        out.write(json.dumps({"written_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}))
        out.flush()
        os.fsync(out.fileno())
    return path

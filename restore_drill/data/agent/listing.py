"""The manifest command: every path under the root, described and hashed, as JSON lines.

Verify hashes the whole volume, so the per-path work is kept small: a file is opened once
and described from fstat on that fd; names are looked up in their directory's fd, not by
walking the whole path again; a file is read up to the size fstat gave (no extra read to
find its end); each line is put together in json.dumps(sort_keys=True)'s own form.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from collections import deque
from collections.abc import Iterator
from json.encoder import encode_basestring_ascii as quoted  # json.dumps's own quoting
from typing import TYPE_CHECKING

from .tree import EXCLUDED_AT_ROOT, MARKER_NAME, in_walk_order

if TYPE_CHECKING:  # the aliases use syntax that Python 3.9 cannot run
    from concurrent.futures import Future, ThreadPoolExecutor

    # (error, sha256, sparse): error is None when the file was read
    Hashed = tuple[str | None, str, bool]
    # A line, or a file's line waiting for its hash: (task, path, fstat, link group, xattrs)
    Pending = str | tuple[Future[Hashed], str, os.stat_result, str, str]

MANIFEST_FORMAT = "restore-drill-manifest/1"
# Read size for hashing (as hashlib.file_digest): a buffer that stays in L2 cache while
# SHA-256 reads it beat 1 MiB reads here; files up to this size hash inline (no thread hop).
HASH_CHUNK = 256 << 10
DIRECTORY = os.O_RDONLY | os.O_DIRECTORY


def usable_cores() -> int:
    if hasattr(os, "sched_getaffinity"):  # the CPUs this process may run on (cgroups, taskset)
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def manifest_lines(root: str, workers: int | None = None) -> Iterator[str]:
    """The manifest as JSON lines: a header, one line per entry, an end line with the count.

    The end line lets a reader tell a complete manifest from one cut short (a killed pod,
    a rotated container log).
    """
    marker = os.path.lexists(os.path.join(root, MARKER_NAME))
    yield json.dumps({"format": MANIFEST_FORMAT, "marker_present": marker})
    count = 0
    for line in entry_lines(root, workers=workers):
        count += 1
        yield line
    yield json.dumps({"end": MANIFEST_FORMAT, "entries": count})


def entry_lines(root: str, workers: int | None = None) -> Iterator[str]:
    """One JSON line per path in walk order; large files hash in parallel, a window ahead."""
    if not os.path.isdir(root):
        raise ValueError(f"{root} is not a directory")
    workers = workers or usable_cores()
    groups: dict[tuple[int, int], str] = {}  # only multiply-linked inodes: bounded by them
    pending: deque[Pending] = deque()
    pool: ThreadPoolExecutor | None = None  # made for the first large file, if any
    try:
        for rel, entry, parent, own in _walk(root):
            item: Pending
            if own >= 0:
                item = _plain_line(rel, "dir", os.fstat(own), _xattrs(own))
            elif entry.is_file(follow_symlinks=False):
                try:
                    fd = os.open(entry.name, os.O_RDONLY, dir_fd=parent)
                except OSError as exc:  # unreadable data is a difference, not a crash
                    info = os.stat(entry.name, dir_fd=parent, follow_symlinks=False)
                    hashed: Hashed = (_error(exc), "", False)
                    item = _file_line(rel, info, _group(groups, rel, info), hashed, "")
                else:
                    info = os.fstat(fd)
                    group, xattrs = _group(groups, rel, info), _xattrs(fd)
                    if workers > 1 and info.st_size > HASH_CHUNK:
                        if pool is None:
                            from concurrent.futures import ThreadPoolExecutor

                            pool = ThreadPoolExecutor(max_workers=workers)
                        item = (pool.submit(_hash, fd, info), rel, info, group, xattrs)
                    else:  # a thread hop costs more than hashing one read's worth
                        item = _file_line(rel, info, group, _hash(fd, info), xattrs)
            else:
                item = _other_line(root, rel, entry, parent)
            if isinstance(item, str) and not pending:
                yield item
                continue
            pending.append(item)
            while pending and (len(pending) > 4 * workers or _ready(pending[0])):
                yield _finish(pending.popleft())
        while pending:
            yield _finish(pending.popleft())
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


def _walk(root: str) -> Iterator[tuple[str, os.DirEntry[str], int, int]]:
    """(relative path, entry, its directory's fd, its own fd if a directory else -1).

    Depth-first, names in walk order, the root left out; a directory is listed through
    its fd while its entries are described.
    """
    if os.path.islink(root):  # not followed: a root that is a symlink lists nothing
        return
    top = os.open(root, DIRECTORY)
    stack = [(top, "", _listing(top, at_root=True))]
    try:
        while stack:
            parent, prefix, entries = stack[-1]
            entry = next(entries, None)
            if entry is None:
                os.close(parent)
                stack.pop()
                continue
            rel = prefix + entry.name
            if entry.is_dir(follow_symlinks=False):
                own = os.open(entry.name, DIRECTORY, dir_fd=parent)
                stack.append((own, rel + "/", _listing(own)))
                yield rel, entry, parent, own
            else:
                yield rel, entry, parent, -1
    finally:
        for fd, _, _ in stack:
            os.close(fd)


def _listing(fd: int, at_root: bool = False) -> Iterator[os.DirEntry[str]]:
    with os.scandir(fd) as listing:
        by_name = {entry.name: entry for entry in listing}
    names = in_walk_order(list(by_name))
    if at_root:
        names = [name for name in names if name not in EXCLUDED_AT_ROOT]
    return iter([by_name[name] for name in names])


def _hash(fd: int, info: os.stat_result) -> Hashed:
    """sha256 of the file open on ``fd`` (closed after) and whether it has a hole."""
    try:
        # st_blocks is only a hint (compressed or inline data also look small): SEEK_HOLE decides
        sparse = info.st_blocks * 512 < info.st_size and _has_hole(fd, info.st_size)
        return None, _sha256(fd, info.st_size), sparse
    except OSError as exc:
        return _error(exc), "", False
    finally:
        os.close(fd)


def _has_hole(fd: int, size: int) -> bool:
    seek_hole = getattr(os, "SEEK_HOLE", None)
    if seek_hole is None:
        return False
    hole = os.lseek(fd, 0, seek_hole) < size
    os.lseek(fd, 0, os.SEEK_SET)
    return hole


def _sha256(fd: int, size: int) -> str:
    """The first ``size`` bytes' sha256, in HASH_CHUNK reads (constant memory)."""
    if size <= HASH_CHUNK:  # the common small file: one read, no buffer
        data = os.read(fd, size) if size else b""
        if len(data) == size:
            return hashlib.sha256(data).hexdigest()
        os.lseek(fd, 0, os.SEEK_SET)  # a short read: again, the long way
    digest = hashlib.sha256()
    buffer = memoryview(bytearray(HASH_CHUNK))
    with io.FileIO(fd, closefd=False) as stream:  # readinto: no new bytes object per read
        left = size
        while left:
            got = stream.readinto(buffer[:left] if left < HASH_CHUNK else buffer)
            if not got:  # shorter than fstat said: it shrank meanwhile
                break
            digest.update(buffer[:got])
            left -= got
    return digest.hexdigest()


def _error(exc: OSError) -> str:
    return f"{type(exc).__name__}: {exc.strerror}"


def _group(groups: dict[tuple[int, int], str], rel: str, info: os.stat_result) -> str:
    if info.st_nlink > 1:
        return groups.setdefault((info.st_dev, info.st_ino), rel)
    return ""


def _xattrs(target: int | str) -> str:
    """The user.* xattrs as the line's last field (from an fd, or a path not followed)."""
    follow = {} if isinstance(target, int) else {"follow_symlinks": False}
    try:
        names = [n for n in os.listxattr(target, **follow) if n.startswith("user.")]
        if not names:
            return ""
        values = {name: _xattr_value(os.getxattr(target, name, **follow)) for name in names}
    except (OSError, AttributeError):  # unsupported here: nothing recorded, nothing to compare
        return ""
    return f', "xattrs": {json.dumps(values, sort_keys=True)}'


def _xattr_value(value: bytes) -> str:
    if len(value) <= 64:
        import base64

        return "base64:" + base64.b64encode(value).decode()
    return "sha256:" + hashlib.sha256(value).hexdigest()


def _file_line(rel: str, info: os.stat_result, group: str, hashed: Hashed, xattrs: str) -> str:
    error, digest, sparse = hashed
    line = f'{{"error": {quoted(error)}, ' if error else "{"
    line += f'"gid": {info.st_gid}, '
    if group:
        line += f'"link_group": {quoted(group)}, '
    line += f'"mode": "{info.st_mode & 0o7777:04o}", "path": {quoted(rel)}, '
    if not error:
        line += f'"sha256": "{digest}", '
    line += f'"size": {info.st_size}, '
    if sparse:
        line += '"sparse": true, '
    return line + f'"type": "file", "uid": {info.st_uid}{xattrs}}}'


def _plain_line(
    rel: str, kind: str, info: os.stat_result, xattrs: str, target: str | None = None
) -> str:
    line = f'{{"gid": {info.st_gid}, "mode": "{info.st_mode & 0o7777:04o}", '
    line += f'"path": {quoted(rel)}, '
    if target is not None:
        line += f'"target": {quoted(target)}, '
    return line + f'"type": "{kind}", "uid": {info.st_uid}{xattrs}}}'


def _other_line(root: str, rel: str, entry: os.DirEntry[str], parent: int) -> str:
    """A symlink (its target as written), or a device, fifo or socket: never opened."""
    info = os.stat(entry.name, dir_fd=parent, follow_symlinks=False)
    xattrs = _xattrs(os.path.join(root, rel))
    if entry.is_symlink():
        target = os.readlink(entry.name, dir_fd=parent)
        return _plain_line(rel, "symlink", info, xattrs, target)
    return _plain_line(rel, "other", info, xattrs)


def _ready(item: Pending) -> bool:
    return isinstance(item, str) or item[0].done()


def _finish(item: Pending) -> str:
    if isinstance(item, str):
        return item
    task, rel, info, group, xattrs = item
    return _file_line(rel, info, group, task.result(), xattrs)

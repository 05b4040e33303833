#!/usr/bin/env python3
"""restore-drill data agent: write a deterministic dataset, list it as a manifest, check it.

ONE stdlib-only file, Python >= 3.9: it is shipped to pods in a ConfigMap (key ``agent.py``)
and run next to the data; ``restore_drill.data`` imports the same functions for local use.

    agent.py write --profile-file profile.json --seed S --size 4MiB --root /data
    agent.py manifest --root /data      (JSON lines on stdout)
    agent.py mark --root /data          (post-backup marker; must be absent after restore)
    agent.py check --root /data         (SQLite integrity_check; exit 0 ok, 1 with reasons)
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import random
import re
import shutil
import sqlite3
import stat
import struct
import sys
import tempfile
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

MANIFEST_FORMAT = "restore-drill-manifest/1"
MARKER_NAME = ".restore-drill-marker"
# VolSync's mover backs up with `--exclude lost+found`, so it is never part of the data.
EXCLUDED_AT_ROOT = frozenset({MARKER_NAME, "lost+found"})
CHUNK = 1 << 20  # write size
# Read size for hashing (as hashlib.file_digest): a buffer that stays in L2 cache while
# SHA-256 reads it beat 1 MiB reads here; files up to this size hash inline (no thread hop).
HASH_CHUNK = 256 << 10
SQLITE_MAGIC = b"SQLite format 3\x00"

_UNITS = {
    "": 1,
    "b": 1,
    "k": 10**3,
    "kb": 10**3,
    "m": 10**6,
    "mb": 10**6,
    "g": 10**9,
    "gb": 10**9,
    "t": 10**12,
    "tb": 10**12,
    "ki": 2**10,
    "kib": 2**10,
    "mi": 2**20,
    "mib": 2**20,
    "gi": 2**30,
    "gib": 2**30,
    "ti": 2**40,
    "tib": 2**40,
}
_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*$")


def parse_size(text: str) -> int:
    """'4MiB' -> 4194304, '10GB' -> 10**10 (IEC units are binary, SI units decimal)."""
    match = _SIZE_RE.match(str(text))
    if not match:
        raise ValueError(f"size {text!r} is not a number with an optional unit, e.g. 4MiB or 1GB")
    number, unit = match.groups()
    if unit.lower() not in _UNITS:
        raise ValueError(
            f"size {text!r} has unknown unit {unit!r} (use B, KiB, MiB, GiB, TiB, KB, MB, GB)"
        )
    value = int(float(number) * _UNITS[unit.lower()])
    if value <= 0:
        raise ValueError(f"size {text!r} must be greater than zero")
    return value


def rng_for(seed: int, *labels: str) -> random.Random:
    """A private generator per (seed, labels): no global state, independent of write order."""
    digest = hashlib.sha256("\x00".join([str(seed), *labels]).encode()).digest()
    return random.Random(int.from_bytes(digest, "big"))


# ---------------------------------------------------------------------------------- writing
class Writer:
    """Writes one profile's parts under root; ``notes`` lists what this machine cannot do."""

    def __init__(self, root: str, profile: dict[str, Any], seed: int, size: int) -> None:
        self.root, self.profile, self.seed, self.size = root, profile, seed, size
        self.notes: list[str] = []
        self.files = 0
        self.bytes = 0

    def path(self, rel: str) -> str:
        full = os.path.join(self.root, rel)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        return full

    def rng(self, *labels: str) -> random.Random:
        return rng_for(self.seed, self.profile["name"], *labels)

    def random_file(self, rel: str, size: int, rng: random.Random, header: bytes = b"") -> str:
        full = self.path(rel)
        with open(full, "wb") as out:
            out.write(header[:size])
            left = size - min(len(header), size)
            while left:
                step = min(left, CHUNK)
                out.write(rng.randbytes(step))
                left -= step
        self.files += 1
        self.bytes += size
        return full

    def run(self) -> None:
        for index, part in enumerate(self.profile["parts"]):
            budget = int(self.size * float(part.get("share", 0)))
            PART_WRITERS[part["kind"]](self, part, budget, self.rng("part", str(index)))


def _sizes(rng: random.Random, budget: int, low: int, high: int) -> Iterator[int]:
    while budget > 0:
        size = min(budget, rng.randint(low, high))
        budget -= size
        yield size


def write_small_files(w: Writer, part: dict[str, Any], budget: int, rng: random.Random) -> None:
    """Many small documents spread over a deep tree (paperless thumbnails, OCR text...)."""
    depth, fanout = int(part.get("depth", 3)), int(part.get("fanout", 8))
    low, high = parse_size(part["min_size"]), parse_size(part["max_size"])
    suffix, header = part.get("suffix", ".bin"), part.get("header", "").encode()
    for number, size in enumerate(_sizes(rng, budget, low, high)):
        branch = [f"{part.get('branch', 'd')}{rng.randrange(fanout):02d}" for _ in range(depth)]
        name = f"{part.get('prefix', 'f')}-{number:06d}{suffix}"
        w.random_file(os.path.join(part["dir"], *branch, name), size, rng, header)


def write_large_files(w: Writer, part: dict[str, Any], budget: int, rng: random.Random) -> None:
    """A few large files; the first ``sparse`` of them have a hole in the middle."""
    count = max(1, int(part.get("count", 3)))
    for number in range(count):
        size = budget // count + (budget % count if number == count - 1 else 0)
        rel = os.path.join(
            part["dir"], f"{part.get('prefix', 'file')}-{number:02d}{part.get('suffix', '.bin')}"
        )
        if number >= int(part.get("sparse", 0)):
            w.random_file(rel, size, rng)
            continue
        edge = min(size // 4, CHUNK)  # data at both ends, a hole between them
        with open(w.path(rel), "wb") as out:
            out.write(rng.randbytes(edge))
            out.truncate(size)
            out.seek(size - edge)
            out.write(rng.randbytes(edge))
        w.files, w.bytes = w.files + 1, w.bytes + size


def write_config_files(w: Writer, part: dict[str, Any], budget: int, rng: random.Random) -> None:
    """Small YAML files an app keeps beside its data (configuration.yaml, automations.yaml)."""
    for name in part["files"]:
        lines = [f"# {name} generated by restore-drill (seed {w.seed})"]
        for item in range(rng.randint(5, 40)):
            lines += [
                f"- id: '{rng.getrandbits(48):012x}'",
                f"  alias: item {item}",
                f"  value: {rng.randint(0, 10**6)}",
            ]
        data = ("\n".join(lines) + "\n").encode()
        with open(w.path(os.path.join(part.get("dir", ""), name)), "wb") as out:
            out.write(data)
        w.files, w.bytes = w.files + 1, w.bytes + len(data)


def write_sqlite(w: Writer, part: dict[str, Any], budget: int, rng: random.Random) -> None:
    """A Home Assistant-like recorder database in WAL mode, left with un-checkpointed frames.

    That is what a crash-consistent snapshot of a running app holds: the restored pair
    (db + -wal) must replay and pass integrity_check.
    """
    final = w.path(part["path"])
    wal_budget = min(budget // 10, parse_size(part.get("wal_max", "512KiB")))
    db = sqlite3.connect(final)
    db.execute("PRAGMA page_size=4096")  # explicit: builds may default differently
    db.execute("PRAGMA synchronous=OFF")  # bulk load; os.sync() at the end makes it durable
    db.executescript(
        "CREATE TABLE states (state_id INTEGER PRIMARY KEY, entity_id TEXT, state TEXT,"
        " attributes TEXT, context_id BLOB, last_updated_ts REAL);"
        "CREATE TABLE events (event_id INTEGER PRIMARY KEY, event_type TEXT, event_data TEXT,"
        " time_fired_ts REAL); CREATE INDEX ix_states_entity ON states (entity_id);"
    )
    _fill_sqlite(db, rng, budget - wal_budget, 0)
    db.execute("PRAGMA journal_mode=WAL")  # recorded in the file header, as the app leaves it
    db.close()  # checkpointed: the main file now holds the older history
    scratch = tempfile.mkdtemp(prefix=".restore-drill-", dir=os.path.dirname(final))
    try:
        work = os.path.join(scratch, "work.db")
        shutil.copyfile(final, work)
        live = sqlite3.connect(work)
        live.execute("PRAGMA wal_autocheckpoint=0")
        _fill_sqlite(live, rng, wal_budget, 1)
        with open(work + "-wal", "rb") as wal_in:  # copied while the "app" still runs
            wal = wal_in.read()
        live.close()
    finally:
        shutil.rmtree(scratch)
    with open(final + "-wal", "wb") as wal_out:
        wal_out.write(reseal_wal(wal, rng.getrandbits(32), rng.getrandbits(32)))
    w.files, w.bytes = w.files + 2, w.bytes + os.path.getsize(final) + len(wal)


def _fill_sqlite(db: sqlite3.Connection, rng: random.Random, budget: int, era: int) -> None:
    """Insert sensor history until the main file (era 0) or the -wal file (era 1) holds budget."""
    entities = [f"sensor.room_{n:02d}_temperature" for n in range(24)]
    clock = 1_700_000_000.0 + era * 10**7  # fixed epoch: no wall-clock time in the data
    wal = db.execute("PRAGMA database_list").fetchone()[2] + "-wal"
    while budget > 0:
        rows = []
        for _ in range(200):
            clock += rng.random() * 30
            attributes = json.dumps({"unit": "C", "noise": rng.randbytes(96).hex()})
            state = f"{rng.uniform(15, 30):.2f}"
            rows.append((rng.choice(entities), state, attributes, rng.randbytes(16), clock))
        with db:
            db.executemany(
                "INSERT INTO states (entity_id, state, attributes, context_id, last_updated_ts)"
                " VALUES (?, ?, ?, ?, ?)",
                rows,
            )
            db.executemany(
                "INSERT INTO events (event_type, event_data, time_fired_ts)"
                " VALUES ('state_changed', ?, ?)",
                [(row[2], row[4]) for row in rows[::4]],
            )
        if era:
            used = os.path.getsize(wal)
        else:
            used = db.execute("PRAGMA page_count").fetchone()[0] * 4096
        if used >= budget:
            return


def reseal_wal(wal: bytes, salt1: int, salt2: int) -> bytes:
    """Replace SQLite's random WAL salts with seeded ones and recompute the checksums.

    SQLite draws the salts from its own random source, so without this the -wal bytes
    (and the manifest) would differ on every run. Format: sqlite.org/fileformat2.html#walformat.
    """
    if len(wal) < 32:
        return wal
    magic, version, page_size, checkpoint = struct.unpack(">4I", wal[:16])
    order = ">" if magic & 1 else "<"
    out = bytearray(struct.pack(">6I", magic, version, page_size, checkpoint, salt1, salt2))
    s0, s1 = _wal_checksum(order, bytes(out), 0, 0)
    out += struct.pack(">2I", s0, s1)
    frame = 24 + page_size
    for offset in range(32, len(wal) - frame + 1, frame):
        head = wal[offset : offset + 8] + struct.pack(">2I", salt1, salt2)
        page = wal[offset + 24 : offset + frame]
        s0, s1 = _wal_checksum(order, head[:8] + page, s0, s1)
        out += head + struct.pack(">2I", s0, s1) + page
    return bytes(out)


def _wal_checksum(order: str, data: bytes, s0: int, s1: int) -> tuple[int, int]:
    words = struct.unpack(f"{order}{len(data) // 4}I", data)
    for index in range(0, len(words), 2):
        s0 = (s0 + words[index] + s1) & 0xFFFFFFFF
        s1 = (s1 + words[index + 1] + s0) & 0xFFFFFFFF
    return s0, s1


def write_edge_cases(w: Writer, part: dict[str, Any], budget: int, rng: random.Random) -> None:
    """Everything a file-level backup can get wrong, once each, then seeded filler files."""
    start = w.bytes
    base = part.get("dir", "edge")

    def j(*names: str) -> str:
        return os.path.join(base, *names)

    target = j("files", "target.txt")
    w.random_file(target, 4096, rng)
    w.random_file(j("files", "empty"), 0, rng)
    for rel in ("empty-dir", os.path.join("nested-empty", "a", "b", "c")):
        os.makedirs(os.path.join(w.root, base, rel))
    names = [
        "caf\u00e9 NFC.txt",
        "cafe\u0301 NFC.txt".replace("NFC", "NFD"),
        "two  spaces and trailing .txt",
        " leading space",
        "\u65e5\u672c\u8a9e.txt",
        "emoji-\U0001f642.bin",
        "quote'double\"back\\slash",
        "tab\tand\nnewline",
    ]
    names += ["x" * 251 + ".txt", "\u00e9" * 127 + "e"]  # 255-byte components
    for name in names:
        w.random_file(j("names", name), rng.randint(1, 2048), rng)
    w.random_file(j("deep", *[f"d{n:02d}" for n in range(40)], "leaf.txt"), 100, rng)
    w.random_file(j("deep-long", *[f"{n:02d}" + "L" * 238 for n in range(12)], "leaf"), 10, rng)
    links = {
        "relative": "../files/target.txt",
        "absolute-in-tree": "/data/" + target,
        "dangling": "../files/missing",
        "to-dir": "../names",
    }
    for name, link_target in links.items():
        os.symlink(link_target, w.path(j("links", name)))
    first = w.random_file(j("hardlinks", "a"), 8192, rng)
    for name in ("b", "c"):
        os.link(first, w.path(j("hardlinks", name)))
    modes = {"private": 0o600, "script.sh": 0o755, "readonly": 0o444}
    for name, mode in modes.items():
        os.chmod(w.random_file(j("modes", name), 64, rng), mode)
    for name, mode in {"setgid-dir": 0o2775, "sticky-dir": 0o1777}.items():
        os.makedirs(os.path.join(w.root, base, "modes", name))
        os.chmod(os.path.join(w.root, base, "modes", name), mode)
    owned = {j("owners", "uid-1000"): 1000, j("owners", "nobody-dir", "file"): 65534}
    for rel, uid in owned.items():
        full = w.random_file(rel, 32, rng)
        if os.geteuid() == 0:
            os.chown(full, uid, uid)
            if uid == 65534:  # a whole directory owned by someone else
                os.chown(os.path.dirname(full), uid, uid)
    if os.geteuid() != 0:
        w.notes.append("owners: not root, files keep this user's uid/gid")
    tagged = w.random_file(j("xattrs", "tagged"), 256, rng)
    blob = rng.randbytes(200)  # drawn either way: the filler after it must not depend on the fs
    try:
        os.setxattr(tagged, "user.drill.comment", b"restore me exactly")
        os.setxattr(tagged, "user.drill.blob", blob)
    except (OSError, AttributeError) as exc:  # AttributeError: no xattrs on this platform
        w.notes.append(f"xattrs: not written ({exc})")
    for number, size in enumerate(_sizes(rng, budget - (w.bytes - start), 0, 64 * 1024)):
        w.random_file(j("filler", f"fill-{number:04d}.bin"), size, rng)


PART_WRITERS: dict[str, Callable[[Writer, dict[str, Any], int, random.Random], None]] = {
    "small-files": write_small_files,
    "large-files": write_large_files,
    "config-files": write_config_files,
    "sqlite": write_sqlite,
    "edge-cases": write_edge_cases,
}


def write_dataset(root: str, profile: dict[str, Any], seed: int, size: int) -> dict[str, Any]:
    """Write profile+seed+size under root (which must be empty) and return a summary."""
    os.makedirs(root, exist_ok=True)
    leftovers = sorted(set(os.listdir(root)) - EXCLUDED_AT_ROOT)
    if leftovers:
        shown = ", ".join(leftovers[:3]) + (", ..." if len(leftovers) > 3 else "")
        raise ValueError(f"{root} is not empty ({shown}): a dataset is written into an empty dir")
    from_kind = {part["kind"] for part in profile["parts"]} - set(PART_WRITERS)
    if from_kind:
        raise ValueError(f"profile {profile.get('name')!r}: unknown part kinds {sorted(from_kind)}")
    writer = Writer(root, profile, seed, size)
    previous = os.umask(0o022)  # modes must not depend on the caller's umask
    try:
        writer.run()
    finally:
        os.umask(previous)
    os.sync()  # a crash-consistent snapshot must see the data, not the page cache
    return {
        "profile": profile["name"],
        "seed": seed,
        "size": size,
        "files": writer.files,
        "bytes": writer.bytes,
        "notes": writer.notes,
    }


# ---------------------------------------------------------------------------------- manifest
def walk(root: str) -> Iterator[tuple[str, str, os.stat_result]]:
    """(relative path, full path, lstat) depth-first, names sorted by bytes: stable anywhere."""
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
            with os.scandir(full) as listing:
                names = sorted((e.name for e in listing), key=os.fsencode)
            if not rel:
                names = [n for n in names if n not in EXCLUDED_AT_ROOT]
            stack.append(iter([(os.path.join(rel, n), os.path.join(full, n)) for n in names]))


def hash_file(full: str) -> dict[str, Any]:
    """sha256 in HASH_CHUNK reads (constant memory) and whether the file has a hole."""
    fd = os.open(full, os.O_RDONLY)
    try:
        info = os.fstat(fd)
        # st_blocks is only a hint (compressed or inline data also look small): SEEK_HOLE decides
        maybe_sparse = info.st_blocks * 512 < info.st_size
        seek_hole = getattr(os, "SEEK_HOLE", None)
        sparse = bool(maybe_sparse and seek_hole and os.lseek(fd, 0, seek_hole) < info.st_size)
        if info.st_size <= HASH_CHUNK:  # the common small file: one read, no file object
            os.lseek(fd, 0, os.SEEK_SET)
            digest = hashlib.sha256(os.read(fd, HASH_CHUNK))
            for block in iter(lambda: os.read(fd, HASH_CHUNK), b""):  # it grew meanwhile
                digest.update(block)
        else:
            digest = _hash_stream(fd)
    finally:
        os.close(fd)
    result: dict[str, Any] = {"sha256": digest.hexdigest()}
    if sparse:
        result["sparse"] = True
    return result


def _hash_stream(fd: int) -> Any:
    with os.fdopen(os.dup(fd), "rb") as stream:
        stream.seek(0)
        if hasattr(hashlib, "file_digest"):  # Python >= 3.11: measured as fast as openssl
            return hashlib.file_digest(stream, "sha256")
        digest = hashlib.sha256()
        for block in iter(lambda: stream.read(HASH_CHUNK), b""):
            digest.update(block)
        return digest


def describe(rel: str, full: str, info: os.stat_result) -> dict[str, Any]:
    """The manifest entry of one path, without the file hash (filled in by the caller)."""
    mode = info.st_mode
    kind = "file" if stat.S_ISREG(mode) else "dir" if stat.S_ISDIR(mode) else "other"
    kind = "symlink" if stat.S_ISLNK(mode) else kind
    entry: dict[str, Any] = {
        "path": rel,
        "type": kind,
        "mode": f"{stat.S_IMODE(mode):04o}",
        "uid": info.st_uid,
        "gid": info.st_gid,
    }
    if kind == "file":
        entry["size"] = info.st_size
    elif kind == "symlink":
        entry["target"] = os.readlink(full)
    try:
        names = sorted(
            n for n in os.listxattr(full, follow_symlinks=False) if n.startswith("user.")
        )
    except (OSError, AttributeError):  # unsupported here: nothing recorded, nothing to compare
        names = []
    if names:
        entry["xattrs"] = {
            name: _xattr_value(os.getxattr(full, name, follow_symlinks=False)) for name in names
        }
    return entry


def _xattr_value(value: bytes) -> str:
    if len(value) <= 64:
        return "base64:" + base64.b64encode(value).decode()
    return "sha256:" + hashlib.sha256(value).hexdigest()


def usable_cores() -> int:
    if hasattr(os, "sched_getaffinity"):  # the CPUs this process may run on (cgroups, taskset)
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def manifest_entries(root: str, workers: int | None = None) -> Iterator[dict[str, Any]]:
    """Stream manifest entries in walk order; files hash in parallel, a bounded window ahead."""
    if not os.path.isdir(root):
        raise ValueError(f"{root} is not a directory")
    workers = workers or usable_cores()
    groups: dict[tuple[int, int], str] = {}  # only multiply-linked inodes: bounded by them
    pending: deque[tuple[dict[str, Any], Future[dict[str, Any]] | None]] = deque()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for rel, full, info in walk(root):
            entry = describe(rel, full, info)
            task = None
            if entry["type"] == "file":
                if info.st_nlink > 1:
                    entry["link_group"] = groups.setdefault((info.st_dev, info.st_ino), rel)
                if workers > 1 and info.st_size > HASH_CHUNK:
                    task = pool.submit(_hash_or_error, full)
                else:  # a thread hop costs more than hashing one read's worth
                    entry.update(_hash_or_error(full))
            pending.append((entry, task))
            while len(pending) > 4 * workers or (pending and _done(pending[0][1])):
                yield _finish(*pending.popleft())
        while pending:
            yield _finish(*pending.popleft())


def manifest_lines(root: str, workers: int | None = None) -> Iterator[str]:
    """The manifest as JSON lines: a header, one line per entry, an end line with the count.

    The end line lets a reader tell a complete manifest from one cut short (a killed pod,
    a rotated container log).
    """
    marker = os.path.lexists(os.path.join(root, MARKER_NAME))
    yield json.dumps({"format": MANIFEST_FORMAT, "marker_present": marker})
    count = 0
    for entry in manifest_entries(root, workers=workers):
        count += 1
        yield json.dumps(entry, sort_keys=True)
    yield json.dumps({"end": MANIFEST_FORMAT, "entries": count})


def _done(task: Future[dict[str, Any]] | None) -> bool:
    return task is None or task.done()


def _hash_or_error(full: str) -> dict[str, Any]:
    try:
        return hash_file(full)
    except OSError as exc:  # unreadable data is a difference, not a crash
        return {"error": f"{type(exc).__name__}: {exc.strerror}"}


def _finish(entry: dict[str, Any], task: Future[dict[str, Any]] | None) -> dict[str, Any]:
    if task is not None:
        entry.update(task.result())
    return entry


def mark(root: str) -> str:
    """Write the post-backup marker: a restore from the earlier backup must not contain it."""
    path = os.path.join(root, MARKER_NAME)
    with open(path, "w") as out:
        out.write(json.dumps({"written_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}))
        out.flush()
        os.fsync(out.fileno())
    return path


# ---------------------------------------------------------------------------------- check
def check(root: str) -> list[str]:
    """App-level check: every SQLite database in the tree opens and passes integrity_check.

    Each db (with its -wal) is checked on a scratch copy, because opening a WAL database
    replays and may checkpoint it: the check must never change the data it checks.
    """
    problems: list[str] = []
    for rel, full, info in walk(root):
        if not stat.S_ISREG(info.st_mode) or rel.endswith(("-wal", "-shm", "-journal")):
            continue
        with open(full, "rb") as probe:
            if probe.read(16) != SQLITE_MAGIC:
                continue
        with tempfile.TemporaryDirectory(prefix="restore-drill-check-") as scratch:
            copy = os.path.join(scratch, "db")
            shutil.copyfile(full, copy)
            if os.path.exists(full + "-wal"):
                shutil.copyfile(full + "-wal", copy + "-wal")
            problems += [f"{rel}: {reason}" for reason in _check_sqlite(copy)]
    return problems


def _check_sqlite(path: str) -> list[str]:
    try:
        db = sqlite3.connect(path)
        try:
            verdict = [row[0] for row in db.execute("PRAGMA integrity_check")]
            tables = [
                row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            ]
            for table in tables:  # readable end to end, as the app would read it
                db.execute(f'SELECT count(*) FROM "{table}"').fetchone()
        finally:
            db.close()
    except sqlite3.DatabaseError as exc:
        return [f"cannot be read: {exc}"]
    return [] if verdict == ["ok"] else [f"integrity_check: {'; '.join(verdict[:5])}"]


# ---------------------------------------------------------------------------------- command line
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="agent.py", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    write = sub.add_parser("write", help="write a dataset into an empty directory")
    write.add_argument("--profile-file", required=True, help="profile as JSON")
    write.add_argument("--seed", type=int, required=True)
    write.add_argument("--size", required=True, help="e.g. 4MiB, 1GiB, 10GB")
    listing = sub.add_parser("manifest", help="JSON lines: one header, one object per path")
    listing.add_argument("--workers", type=int, default=None, help="hashing threads (all cores)")
    for command in (write, listing, sub.add_parser("mark"), sub.add_parser("check")):
        command.add_argument("--root", required=True)
    args = parser.parse_args(argv)
    try:
        if args.command == "write":
            with open(args.profile_file) as source:
                profile = json.load(source)
            summary = write_dataset(args.root, profile, args.seed, parse_size(args.size))
            print(json.dumps(summary, sort_keys=True))
        elif args.command == "manifest":
            for line in manifest_lines(args.root, workers=args.workers):
                sys.stdout.write(line + "\n")
        elif args.command == "mark":
            print(mark(args.root))
        else:
            problems = check(args.root)
            for problem in problems:
                print(f"FAILED {problem}")
            print("ok" if not problems else f"{len(problems)} problem(s)")
            return 1 if problems else 0
    except (OSError, ValueError, KeyError, sqlite3.Error) as exc:
        # SQLite words ENOSPC its own way: said as the OS says it, so one check finds both.
        full = isinstance(exc, sqlite3.Error) and "disk is full" in str(exc)
        why = f"[Errno 28] {os.strerror(28)} ({exc})" if full else str(exc)
        print(f"agent.py {args.command}: {type(exc).__name__}: {why}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The sqlite part of a profile: a Home Assistant-like recorder database left mid-WAL."""

from __future__ import annotations

import json
import os
import random
import shutil
import sqlite3
import struct
import tempfile
from typing import TYPE_CHECKING, Any

from .sizes import parse_size

if TYPE_CHECKING:
    from .writer import Writer


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

"""The check command: every SQLite database in the tree opens and passes integrity_check."""

from __future__ import annotations

import os
import shutil
import sqlite3
import stat
import tempfile

from .tree import walk

SQLITE_MAGIC = b"SQLite format 3\x00"


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

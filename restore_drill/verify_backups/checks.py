"""The checks one repository goes through; each returns a :class:`Finding`.

Pure functions over restic's answers where possible (freshness, retention, content), so the
rules are testable with any clock; the restic calls themselves are read-only.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from contextlib import closing
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from croniter import croniter

from restore_drill.errors import RefusedDestructiveAction, ResticError
from restore_drill.restic import Restic, SnapshotStats, parse_time
from restore_drill.verify_backups.config import AppCheck

PASS, FAIL, WARN, SKIP = "pass", "fail", "warn", "skip"
SQLITE_MAGIC = b"SQLite format 3\x00"
TOO_MANY_FACTOR = 2  # more than twice what the policy keeps: forget is not running
OPEN_PROBLEMS = {
    "wrong-password": "wrong password (no key in the repository opens with it)",
    "no-repository": "no repository at this location (wrong bucket/prefix, or never backed up)",
    "unreachable": "S3 endpoint unreachable",
    "locked": "repository locked",
    "failed": "repository could not be opened",
}


@dataclass(frozen=True)
class Finding:
    check: str  # open | freshness | retention | integrity | restorability
    status: str  # pass | fail | warn | skip
    code: str  # short machine-readable cause, e.g. "stale", "wrong-password"
    message: str
    data: dict[str, Any] = field(default_factory=dict)


def open_failure(exc: ResticError | RefusedDestructiveAction) -> Finding:
    kind = getattr(exc, "kind", "failed")
    return Finding("open", FAIL, kind, f"{OPEN_PROBLEMS.get(kind, kind)}: {exc}")


def snapshot_times(snapshots: Sequence[dict[str, Any]]) -> list[datetime]:
    return sorted(parse_time(snap["time"]) for snap in snapshots)


def check_freshness(times: Sequence[datetime], app: AppCheck, now: datetime) -> Finding:
    """The newest snapshot must be no older than the last scheduled run (minus slack)."""
    if not times:
        return Finding("freshness", FAIL, "empty", "repository has no snapshot at all")
    newest = times[-1]
    rpo = now - newest
    # The run that should have finished by now: the last cron fire at least `slack` ago.
    due = croniter(app.schedule, now - app.slack).get_prev(datetime)
    data = {
        "newest": newest.isoformat(),
        "rpo_seconds": int(rpo.total_seconds()),
        "due": due.isoformat(),
    }
    if newest < due:
        missed = _fires_between(app.schedule, newest, now - app.slack)
        return Finding(
            "freshness",
            FAIL,
            "stale",
            f"newest snapshot is {_age(rpo)} old; the {due:%Y-%m-%d %H:%M} run "
            f"({missed} scheduled run(s) since) left no snapshot",
            data,
        )
    return Finding("freshness", PASS, "fresh", f"newest snapshot {_age(rpo)} old", data)


def _fires_between(schedule: str, start: datetime, end: datetime) -> int:
    fires, walker = 0, croniter(schedule, start)
    while walker.get_next(datetime) <= end and fires < 10_000:
        fires += 1
    return fires


def _bucket_key(moment: datetime, unit: str) -> str:
    return moment.strftime("%Y-%m-%d %H" if unit == "hourly" else "%Y-%m-%d")


def check_retention(times: Sequence[datetime], app: AppCheck, now: datetime) -> Finding:
    """Distinct hourly/daily buckets against the policy: too few or far too many fail."""
    policy = {unit: count for unit, count in app.retention.items() if count > 0}
    if not policy:
        return Finding("retention", SKIP, "no-policy", "no retention policy given")
    if not times:
        return Finding("retention", FAIL, "empty", "no snapshots to count")
    counts: dict[str, Any] = {"total": len(times)}
    problems = []
    for unit, keep in sorted(policy.items()):
        span = timedelta(hours=keep) if unit == "hourly" else timedelta(days=keep)
        # A young repository cannot have more buckets than scheduled runs since its start.
        start = max(now - span, times[0] - timedelta(seconds=1))
        expected = _expected_buckets(app.schedule, start, now - app.slack, unit)
        have = {_bucket_key(t, unit) for t in times if start <= t <= now}
        counts[unit] = len(have)
        counts[f"{unit}_expected"] = min(expected, keep)
        if len(have) < min(expected, keep) - 1:  # one late run is freshness's business
            problems.append(f"{len(have)} {unit} bucket(s), expected about {min(expected, keep)}")
    ceiling = TOO_MANY_FACTOR * sum(policy.values()) + 1
    if len(times) > ceiling:
        problems.append(
            f"{len(times)} snapshots, policy keeps at most {sum(policy.values())}: "
            "forget does not seem to run"
        )
    if problems:
        return Finding("retention", FAIL, "retention", "; ".join(problems), counts)
    summary = ", ".join(f"{counts[u]} {u}" for u in sorted(policy))
    return Finding("retention", PASS, "ok", f"{len(times)} snapshots ({summary})", counts)


def _expected_buckets(schedule: str, start: datetime, end: datetime, unit: str) -> int:
    buckets: set[str] = set()
    walker = croniter(schedule, start)
    while len(buckets) < 10_000:
        fire = walker.get_next(datetime)
        if fire > end:
            break
        buckets.add(_bucket_key(fire, unit))
    return len(buckets)


def check_integrity(restic: Restic, subset: str) -> Finding:
    """``restic check`` (lock-free): structure first, then ``subset`` of the data packs.

    Two passes because restic retries a missing pack for a long time while reading data;
    the structural pass reports it at once.
    """
    reading = subset not in ("", "0", "0%")
    passes = [None, subset] if reading else [None]
    for read in passes:
        try:
            restic.check(read_data_subset=read)
        except ResticError as exc:
            stage = "structure" if read is None else f"data ({read} read)"
            return Finding("integrity", FAIL, "check-failed", f"{stage}: {exc}")
    return Finding("integrity", PASS, "ok", f"restic check passed (read {subset or '0%'} of data)")


def check_drift(
    newest: SnapshotStats, previous: SnapshotStats | None, limit: float
) -> Finding | None:
    """File count and size against the previous snapshot: a sudden drop or jump fails."""
    if previous is None:
        return None
    changes = {
        "files": _relative(newest.total_file_count, previous.total_file_count),
        "bytes": _relative(newest.total_size, previous.total_size),
    }
    over = {what: change for what, change in changes.items() if abs(change) > limit}
    if over:
        text = ", ".join(f"{what} {change:+.0%}" for what, change in over.items())
        return Finding(
            "restorability",
            FAIL,
            "drift",
            f"newest snapshot differs from the previous one beyond ±{limit:.0%}: {text}",
            changes,
        )
    return None


def _relative(new: int, old: int) -> float:
    if old == 0:
        return 0.0 if new == 0 else 1.0
    return (new - old) / old


def is_sqlite(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            return handle.read(len(SQLITE_MAGIC)) == SQLITE_MAGIC
    except OSError:
        return False


def sqlite_problem(path: Path) -> str | None:
    """None when ``PRAGMA integrity_check`` says ok; else its first complaint."""
    # immutable=1: read the file as restored, without creating journals next to it.
    uri = f"file:{path.as_posix()}?mode=ro&immutable=1"
    try:
        with closing(sqlite3.connect(uri, uri=True)) as db:
            rows = db.execute("PRAGMA integrity_check").fetchall()
    except sqlite3.DatabaseError as exc:
        return str(exc)
    answer = [str(row[0]) for row in rows]
    return None if answer == ["ok"] else "; ".join(answer[:3])


def check_content(root: Path, app: AppCheck) -> list[Finding]:
    """What the restored tree must satisfy: not empty, SQLite sound, expected paths present."""
    files = [p for p in root.rglob("*") if p.is_file() and not p.is_symlink()]
    findings = []
    if not files:
        findings.append(
            Finding(
                "restorability",
                FAIL,
                "empty-restore",
                "the newest snapshot restores to no file at all",
            )
        )
    databases = [p for p in files if is_sqlite(p)]
    for db in databases:
        problem = sqlite_problem(db)
        if problem:
            findings.append(
                Finding(
                    "restorability", FAIL, "sqlite-damaged", f"{db.relative_to(root)}: {problem}"
                )
            )
    missing = [path for path in app.must_exist if not (root / path.lstrip("/")).exists()]
    if missing:
        findings.append(
            Finding(
                "restorability",
                FAIL,
                "missing-path",
                f"expected path(s) missing: {', '.join(missing)}",
            )
        )
    return findings


def _age(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds < 0:
        return f"-{_age(-delta)}"
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return f"{days}d{hours}h"
    if hours:
        return f"{hours}h{minutes:02d}m"
    return f"{minutes}m"


age = _age

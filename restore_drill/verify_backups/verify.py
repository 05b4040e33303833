"""Run every check on every app's repository and collect one verdict per app.

Read-only throughout: restic runs with ``--no-lock`` and refuses any writing command, and
its cache lives in a scratch directory that is removed afterwards.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from restore_drill.errors import RefusedDestructiveAction, ResticError, UsageError
from restore_drill.objectstore import S3Credentials, endpoint_answers
from restore_drill.restic import Restic
from restore_drill.verify_backups.checks import (
    FAIL,
    PASS,
    SKIP,
    Finding,
    check_content,
    check_drift,
    check_freshness,
    check_integrity,
    check_retention,
    open_failure,
    snapshot_times,
)
from restore_drill.verify_backups.config import AppCheck

PROGRESS_EVERY = 2.0  # seconds between progress lines on long restores
RESTORE_TIMEOUT = 4 * 3600.0  # a hung restic must not hang a nightly job forever

Progress = Callable[[str], None]


@dataclass
class RestoreResult:
    seconds: float
    bytes: int
    files: int

    @property
    def bytes_per_second(self) -> float:
        return self.bytes / self.seconds if self.seconds > 0 else 0.0


@dataclass
class AppResult:
    name: str
    repository: str
    findings: list[Finding] = field(default_factory=list)
    snapshot_count: int | None = None
    newest: datetime | None = None
    rpo_seconds: int | None = None
    restore: RestoreResult | None = None

    @property
    def passed(self) -> bool:
        return not any(f.status == FAIL for f in self.findings)

    @property
    def verdict(self) -> str:
        return "PASS" if self.passed else "FAIL"

    def status_of(self, check: str) -> str:
        statuses = [f.status for f in self.findings if f.check == check]
        if not statuses:
            return SKIP
        return FAIL if FAIL in statuses else statuses[0]

    def to_dict(self) -> dict[str, Any]:
        return {
            "app": self.name,
            "repository": self.repository,
            "verdict": self.verdict,
            "snapshots": self.snapshot_count,
            "newest": self.newest.isoformat() if self.newest else None,
            "rpo_seconds": self.rpo_seconds,
            "restore": None
            if self.restore is None
            else {
                "seconds": round(self.restore.seconds, 3),
                "bytes": self.restore.bytes,
                "files": self.restore.files,
                "bytes_per_second": round(self.restore.bytes_per_second),
            },
            "findings": [
                {
                    "check": f.check,
                    "status": f.status,
                    "code": f.code,
                    "message": f.message,
                    **({"data": f.data} if f.data else {}),
                }
                for f in self.findings
            ],
        }


def _silent(_line: str) -> None:
    return None


class BackupVerifier:
    """Verifies apps' repositories with the given S3 credentials and clock."""

    def __init__(
        self,
        credentials: S3Credentials,
        *,
        now: datetime | None = None,
        scratch_dir: Path | None = None,
        progress: Progress = _silent,
        restic_binary: str = "restic",
    ) -> None:
        self.credentials = credentials
        self.now = now or datetime.now(UTC)
        self.scratch_dir = scratch_dir
        self.progress = progress
        self.restic_binary = restic_binary

    def verify_all(self, apps: tuple[AppCheck, ...] | list[AppCheck]) -> list[AppResult]:
        return [self.verify(app) for app in apps]

    def verify(self, app: AppCheck) -> AppResult:
        result = AppResult(app.name, app.repository)
        scratch = Path(tempfile.mkdtemp(prefix=f"verify-{app.name}-", dir=self.scratch_dir))
        try:
            self._verify_into(app, result, scratch)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        return result

    def _verify_into(self, app: AppCheck, result: AppResult, scratch: Path) -> None:
        if not endpoint_answers(app.endpoint, timeout=3.0):
            # restic would retry for a long while; a refused TCP connection says it at once.
            result.findings.append(
                Finding("open", FAIL, "unreachable", f"S3 endpoint {app.endpoint} does not answer")
            )
            return
        try:
            password = app.password.read(f"app {app.name} restic password")
        except UsageError as exc:
            result.findings.append(Finding("open", FAIL, "no-password", str(exc)))
            return
        restic = Restic(
            app.repository,
            password,
            env=self.credentials.env(),
            binary=self.restic_binary,
            cache_dir=scratch / "cache",
            read_only=True,
        )
        self.progress(f"{app.name}: opening {app.repository}")
        try:
            snapshots = restic.snapshots(host=app.host)
        except (ResticError, RefusedDestructiveAction) as exc:
            result.findings.append(open_failure(exc))
            return
        result.findings.append(Finding("open", PASS, "ok", "repository opens"))
        times = snapshot_times(snapshots)
        result.snapshot_count = len(times)
        if times:
            result.newest = times[-1]
            result.rpo_seconds = int((self.now - times[-1]).total_seconds())
        result.findings.append(check_freshness(times, app, self.now))
        result.findings.append(check_retention(times, app, self.now))
        if not times:
            return
        self.progress(f"{app.name}: restic check (read {app.read_data_subset} of data)")
        integrity = check_integrity(restic, app.read_data_subset)
        result.findings.append(integrity)
        if app.restore and integrity.status == FAIL:
            # restic retries unreadable packs for minutes; the verdict is already FAIL.
            result.findings.append(
                Finding(
                    "restorability",
                    SKIP,
                    "not-attempted",
                    "restore not attempted: the integrity check failed",
                )
            )
        elif app.restore:
            self._check_restore(app, restic, snapshots, result, scratch)

    def _check_restore(
        self,
        app: AppCheck,
        restic: Restic,
        snapshots: list[dict[str, Any]],
        result: AppResult,
        scratch: Path,
    ) -> None:
        newest_id = str(snapshots[-1]["id"])
        try:
            newest = restic.stats(newest_id)
            previous = restic.stats(str(snapshots[-2]["id"])) if len(snapshots) > 1 else None
        except ResticError as exc:
            result.findings.append(Finding("restorability", FAIL, "stats-failed", str(exc)))
            return
        if newest.total_size > app.max_restore_bytes:
            result.findings.append(
                Finding(
                    "restorability",
                    SKIP,
                    "over-size-cap",
                    f"newest snapshot is {_mib(newest.total_size)}, over the restore cap of "
                    f"{_mib(app.max_restore_bytes)}: not restored",
                )
            )
            return
        drift = check_drift(newest, previous, app.max_drift)
        if drift:
            result.findings.append(drift)
        target = scratch / "restore"
        target.mkdir()
        try:
            seconds = self._restore_with_progress(app, restic, newest_id, target, newest.total_size)
        except ResticError as exc:
            result.findings.append(Finding("restorability", FAIL, "restore-failed", str(exc)))
            return
        result.restore = RestoreResult(seconds, newest.total_size, newest.total_file_count)
        content = check_content(target, app)
        result.findings.extend(content)
        if not content and not drift:
            result.findings.append(
                Finding(
                    "restorability",
                    PASS,
                    "ok",
                    f"restored {newest.total_file_count} entries, {_mib(newest.total_size)} in "
                    f"{seconds:.1f}s ({_mib(int(result.restore.bytes_per_second))}/s)",
                )
            )

    def _restore_with_progress(
        self, app: AppCheck, restic: Restic, snapshot_id: str, target: Path, total: int
    ) -> float:
        failure: list[ResticError] = []
        finished = threading.Event()

        def work() -> None:
            try:
                restic.restore(snapshot_id, target, timeout=RESTORE_TIMEOUT)
            except ResticError as exc:
                failure.append(exc)
            finally:
                finished.set()

        started = time.monotonic()
        worker = threading.Thread(target=work, name=f"restore-{app.name}", daemon=True)
        worker.start()
        # restic 0.14 prints no restore progress: report the bytes landed so far instead.
        while not finished.wait(PROGRESS_EVERY):
            done = _tree_size(target)
            share = f" of {_mib(total)} ({done / total:.0%})" if total else ""
            self.progress(f"{app.name}: restoring, {_mib(done)}{share}")
        worker.join()
        seconds = time.monotonic() - started
        if failure:
            raise failure[0]
        self.progress(f"{app.name}: restored {_mib(total)} in {seconds:.1f}s")
        return seconds


def _tree_size(root: Path) -> int:
    total = 0
    for path in root.rglob("*"):
        try:
            if path.is_file() and not path.is_symlink():
                total += path.stat().st_size
        except OSError:
            continue  # restic is still writing it
    return total


def _mib(size: int) -> str:
    return f"{size / 1024**2:.1f} MiB"

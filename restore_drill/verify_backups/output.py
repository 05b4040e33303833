"""verify-backups results as a table for people and JSON for machines."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta

from restore_drill.verify_backups.checks import FAIL, age
from restore_drill.verify_backups.verify import AppResult

SCHEMA = "restore-drill/verify-backups/v1"
COLUMNS = ("app", "verdict", "RPO", "snapshots", "retention", "check", "restore", "findings")


def _row(result: AppResult) -> tuple[str, ...]:
    rpo = age(timedelta(seconds=result.rpo_seconds)) if result.rpo_seconds is not None else "-"
    retention = next((f for f in result.findings if f.check == "retention"), None)
    counts = "-"
    if retention and retention.data:
        counts = " ".join(
            f"{result_key[0]}{retention.data[result_key]}"
            for result_key in ("hourly", "daily")
            if result_key in retention.data
        )
    restore = "-"
    if result.restore:
        restore = (
            f"{result.restore.seconds:.1f}s {result.restore.bytes_per_second / 1024**2:.1f}MiB/s"
        )
    problems = [f"{f.check}: {f.code}" for f in result.findings if f.status == FAIL]
    return (
        result.name,
        result.verdict,
        rpo,
        "-" if result.snapshot_count is None else str(result.snapshot_count),
        counts if retention is None else f"{retention.status} {counts}".strip(),
        result.status_of("integrity"),
        restore if result.restore else result.status_of("restorability"),
        "; ".join(problems) or "ok",
    )


def render_table(results: Sequence[AppResult], checked_at: datetime) -> str:
    """A plain-text table (fixed width, fit for CI logs), then one line per failure."""
    rows = [COLUMNS, *(_row(result) for result in results)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    lines = [f"verify-backups at {checked_at:%Y-%m-%d %H:%M} UTC"]
    for index, row in enumerate(rows):
        lines.append(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )
        if index == 0:
            lines.append("  ".join("-" * width for width in widths))
    failed = [r for r in results if not r.passed]
    lines.append(f"{len(results) - len(failed)} of {len(results)} app(s) pass")
    for result in failed:
        for finding in result.findings:
            if finding.status == FAIL:
                lines.append(f"  {result.name} [{finding.check}/{finding.code}] {finding.message}")
    return "\n".join(lines)


def render_json(results: Sequence[AppResult], checked_at: datetime) -> str:
    return json.dumps(
        {
            "schema": SCHEMA,
            "checked_at": checked_at.isoformat(),
            "passed": all(r.passed for r in results),
            "apps": [result.to_dict() for result in results],
        },
        indent=2,
    )

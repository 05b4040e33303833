"""A made-up run for looking at report.html before any drill ran: a fast pass, a restore
over its target, and a fault drill that failed loudly as declared (no RTO). The
screenshot of `make report-screenshot` shows it when runs/ holds no report."""

from __future__ import annotations

from typing import Any

from restore_drill.report import DrillResult, StepTiming

SETUP = (
    ("deploy_app", 14.2),
    ("keep_backups", 0.4),
    ("write_dataset", 3.1),
    ("backup", 11.8),
    ("write_dataset", 2.9),
    ("backup", 9.6),
    ("restore_point", 1.2),
    ("write_marker", 0.8),
)


def _steps(disaster: str, rest: tuple[tuple[str, float], ...]) -> list[StepTiming]:
    timings = [StepTiming(name, seconds) for name, seconds in SETUP]
    timings.append(StepTiming(disaster, rest[0][1], disaster=True))
    timings += [StepTiming(name, seconds) for name, seconds in rest[1:]]
    return timings


def sample_found(entries: int, size: int, snapshot: str) -> dict[str, Any]:
    """What verify records for one PVC whose data came back identical."""
    return {
        "ok": True,
        "counts": {"missing": 0, "extra": 0, "changed": 0},
        "missing": [],
        "extra": [],
        "changed": [],
        "marker_present": False,
        "not_compared": {},
        "entries": entries,
        "bytes": size,
        "came_back": "newer",
        "snapshot_backed_up": {"id": snapshot * 8, "time": "", "size": size},
        "snapshot_restored": snapshot,
        "populated_from": "volsync-restore-dst-20261203",
    }


def _verify(entries: int, size: int, snapshot: str, pvcs: list[str]) -> dict[str, Any]:
    found = sample_found(entries, size, snapshot)
    return {"dataset": "newer", "ok": True, "pvcs": {pvc: found for pvc in pvcs}}


def sample_results() -> list[DrillResult]:
    versions = {"kubernetes": "v1.31.2", "volsync": "0.16.0"}
    fast = DrillResult(
        scenario="pvc-delete",
        backend="kind",
        run_id="5a1e0001",
        passed=True,
        rto_target_seconds=120,
        dataset="smoke 1MiB",
        rto_seconds=41.5,
        rpo_seconds=27.4,
        verify_seconds=2.1,
        verify=_verify(212, 1 << 20, "3f9c21ab", ["home-assistant/config"]),
        steps=_steps(
            "delete_pvc",
            (("delete_pvc", 6.3), ("recreate_app", 2.2), ("wait_restored", 33.0), ("verify", 2.1)),
        ),
        versions=versions,
        notes=["retain.last=2 added for the drill"],
        started_at="2026-12-03T06:00:00Z",
    )
    slow = DrillResult(
        scenario="namespace-delete",
        backend="kind",
        run_id="5a1e0002",
        passed=False,
        rto_target_seconds=120,
        dataset="smoke 1MiB",
        rto_seconds=151.8,
        rpo_seconds=31.0,
        verify_seconds=1.7,
        verify=_verify(208, 1 << 20, "8d04e7c2", ["jellyfin/config", "jellyfin/media"]),
        steps=_steps(
            "delete_namespace",
            (
                ("delete_namespace", 24.6),
                ("recreate_app", 3.0),
                ("wait_restored", 124.2),
                ("verify", 1.7),
            ),
        ),
        versions=versions,
        failure="RTO 151.8s, target is 120s: PVC Bound and app pod Ready too late",
        failure_type="RestoreTimeout",
        started_at="2026-12-03T06:02:10Z",
    )
    loud = DrillResult(
        scenario="wrong-restic-password",
        backend="kind",
        run_id="5a1e0003",
        passed=True,
        rto_target_seconds=120,
        dataset="smoke 1MiB",
        rpo_seconds=25.9,
        steps=_steps(
            "delete_pvc", (("delete_pvc", 5.9), ("recreate_app", 2.0), ("wait_restored", 48.3))
        ),
        versions=versions,
        outcome_expected="fails-loudly: MoverFailed (wrong-password)",
        outcome_observed="fails-loudly: MoverFailed (wrong-password)",
        observed_failure="restore mover failed (wrong-password: wrong restic password)",
        started_at="2026-12-03T06:05:40Z",
    )
    loud.steps.insert(6, StepTiming("break_repository_secret", 0.3))
    loud.steps[-1].ok = False
    return [fast, slow, loud]


def sample_history() -> list[dict[str, Any]]:
    """Earlier runs of the same scenarios, then this one."""
    history = []
    for day, (fast, slow) in enumerate(((38.0, 96.0), (44.2, 110.5), (40.1, 104.0))):
        for scenario, rto in (("pvc-delete", fast), ("namespace-delete", slow)):
            history.append(_entry(scenario, f"2026-11-{28 + day}T06:00:00Z", rto, 120))
    for r in sample_results():
        if r.rto_seconds is not None:
            history.append(_entry(r.scenario, r.started_at, r.rto_seconds, r.rto_target_seconds))
    return history


def _entry(scenario: str, started_at: str, rto: float, target: float) -> dict[str, Any]:
    return {
        "scenario": scenario,
        "backend": "kind",
        "started_at": started_at,
        "passed": rto <= target,
        "rto_seconds": rto,
        "rto_target_seconds": target,
    }

"""Triggers, restore timing and tier policy (RD030-RD032, RD040, RD041)."""

from __future__ import annotations

import bisect
import functools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from croniter import croniter

from restore_drill.kinds import dig, quantity_bytes
from restore_drill.lint.catalog import finding
from restore_drill.lint.findings import Finding
from restore_drill.lint.model import Deployed, Model, mapping, text
from restore_drill.lint.policy import Policy
from restore_drill.lint.rules.common import gib, restic

# A fixed week keeps the verdict the same whatever day the linter runs.
_WEEK_START = datetime(2026, 1, 5, tzinfo=UTC)
_MAX_RUNS = 20_000


def runs_in_week(schedule: str, *, lead: timedelta = timedelta(0)) -> list[datetime]:
    """Fire times in the reference week (from ``lead`` before it), capped for ``* * * * *``."""
    return list(_runs_in_week(schedule, lead))


@functools.lru_cache(maxsize=256)
def _runs_in_week(schedule: str, lead: timedelta) -> tuple[datetime, ...]:
    """Computed once per schedule: apps share schedules, and every mover of a tier is
    compared with the tier's schedule (croniter takes ~0.1 ms a fire time)."""
    if not croniter.is_valid(schedule):
        return ()
    start, end = _WEEK_START - lead, _WEEK_START + timedelta(days=7)
    times: list[datetime] = []
    iterator = croniter(schedule, start - timedelta(seconds=1))
    while len(times) < _MAX_RUNS:
        moment = iterator.get_next(datetime)
        if moment >= end:
            break
        times.append(moment)
    return tuple(times)


def schedule_of(obj: Deployed) -> str:
    return text(dig(obj.spec, "trigger", "schedule"))


def source_for(model: Model, rd: Deployed) -> Deployed | None:
    """The ReplicationSource writing the repository this destination reads."""
    sources = [rs for rs in model.volsync("ReplicationSource") if rs.namespace == rd.namespace]
    repository = text(restic(rd).get("repository"))
    same = [rs for rs in sources if text(restic(rs).get("repository")) == repository]
    if same:
        return same[0]
    return sources[0] if len(sources) == 1 else None


def check_triggers(model: Model, policy: Policy) -> Iterator[Finding]:
    for mover in [*model.volsync("ReplicationSource"), *model.volsync("ReplicationDestination")]:
        trigger = mapping(mover.spec.get("trigger"))
        label = f"{mover.file}: {mover.kind} {mover.namespace}/{mover.name}"
        if not trigger.get("schedule") and not trigger.get("manual"):
            yield finding(
                "RD031",
                f"{label} has no trigger and syncs continuously",
                file=mover.file,
                **mover.where(),
            )
            continue
        if mover.kind != "ReplicationDestination" or not trigger.get("schedule"):
            continue
        rs = source_for(model, mover)
        if rs is not None and schedule_of(rs):
            gap = _shortest_gap(schedule_of(rs), schedule_of(mover))
            if gap is not None and gap < policy.min_restore_gap_minutes:
                yield finding(
                    "RD030",
                    f"{label} ({schedule_of(mover)}) starts {gap} min after "
                    f"ReplicationSource {rs.name} ({schedule_of(rs)}); needs >= "
                    f"{policy.min_restore_gap_minutes} min",
                    file=mover.file,
                    **mover.where(),
                )
    yield from _kept_destinations(model)


def _kept_destinations(model: Model) -> Iterator[Finding]:
    """One repository-wide note: the storage destination PVCs hold between restores."""
    kept: list[tuple[int, str]] = []
    for rd in model.volsync("ReplicationDestination"):
        settings = restic(rd)
        # VolSync keeps the PVC it provisioned for the next sync unless told to clean it up.
        if settings.get("destinationPVC") or settings.get("cleanupTempPVC") is True:
            continue
        kept.append((quantity_bytes(settings.get("capacity")) or 0, f"{rd.namespace}/{rd.name}"))
    if not kept:
        return
    kept.sort(reverse=True)
    largest = ", ".join(f"{name} {gib(size)}" for size, name in kept[:3])
    yield finding(
        "RD032",
        f"{len(kept)} ReplicationDestinations keep "
        f"{gib(sum(size for size, _ in kept))} of destination PVCs between restores "
        f"(largest: {largest})",
        file="",
        app="(repository)",
    )


def _shortest_gap(source_schedule: str, destination_schedule: str) -> int | None:
    """Minutes from the latest backup start to each restore start; the smallest (None: no data)."""
    backups = runs_in_week(source_schedule, lead=timedelta(days=1))
    restores = runs_in_week(destination_schedule)
    if not backups or not restores:
        return None
    gaps = []
    for moment in restores:
        index = bisect.bisect_right(backups, moment) - 1
        if index >= 0:
            gaps.append(int((moment - backups[index]).total_seconds() // 60))
    return min(gaps) if gaps else None


def check_tiers(model: Model, policy: Policy) -> Iterator[Finding]:
    for mover in [*model.volsync("ReplicationSource"), *model.volsync("ReplicationDestination")]:
        tier = policy.tier_of(mover.app)
        schedule = schedule_of(mover)
        if tier is None:
            continue
        label = f"{mover.file}: {mover.kind} {mover.namespace}/{mover.name}"
        is_source = mover.kind == "ReplicationSource"
        wanted = tier.backup_schedule if is_source else tier.restore_schedule
        if schedule and len(runs_in_week(schedule)) < len(runs_in_week(wanted)):
            yield finding(
                "RD040",
                f"{label}: schedule {schedule} runs less often than tier {tier.name} ({wanted})",
                file=mover.file,
                **mover.where(),
            )
        if mover.kind != "ReplicationSource":
            continue
        retain = mapping(restic(mover).get("retain"))
        short = [
            f"{key} {text(retain.get(key)) or 0} < {need}"
            for key, need in tier.retain.items()
            if not isinstance(retain.get(key), int) or int(retain[key]) < need
        ]
        if short:
            yield finding(
                "RD041",
                f"{label}: retain {', '.join(short)} (tier {tier.name})",
                file=mover.file,
                **mover.where(),
            )

"""VolSync's replication state machine (``controllers/statemachine``), as pure functions.

A ReplicationSource or ReplicationDestination is in one of three states, read from its
status exactly as VolSync reads it: *initial* (never synced, not syncing), *synchronizing*
(``lastSyncStartTime`` set) or *cleaning up* (synced, not syncing). Triggers: a manual tag
(sync while ``spec.trigger.manual != status.lastManualSync``), a cron schedule (next sync =
cron.next(lastSyncTime)) or none (back to back). Functions here only edit a status dict.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from croniter import croniter

Status = dict[str, Any]

CONDITION = "Synchronizing"
REASON_SYNC = "SyncInProgress"
REASON_MANUAL = "WaitingForManual"
REASON_SCHEDULE = "WaitingForSchedule"
REASON_CLEANUP = "CleaningUp"
REASON_ERROR = "Error"

INITIAL = "Initial"
SYNCHRONIZING = "Synchronizing"
CLEANING_UP = "CleaningUp"


def utcnow() -> datetime:
    return datetime.now(UTC)


def timestamp(moment: datetime) -> str:
    """A Kubernetes ``metav1.Time`` (RFC 3339, whole seconds, UTC)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_timestamp(text: str | None) -> datetime | None:
    if not text:
        return None
    return datetime.fromisoformat(str(text).replace("Z", "+00:00")).astimezone(UTC)


def go_duration(seconds: float) -> str:
    """A duration as Go's ``time.Duration.String`` prints it (``"1m2.5s"``, ``"12s"``)."""
    hours, rest = divmod(max(seconds, 0.0), 3600)
    minutes, secs = divmod(rest, 60)
    text = f"{secs:.3f}".rstrip("0").rstrip(".") + "s"
    if hours:
        return f"{int(hours)}h{int(minutes)}m{text}"
    if minutes:
        return f"{int(minutes)}m{text}"
    return text


def trigger(spec: dict[str, Any]) -> str:
    """``manual``, ``schedule`` or ``none`` (VolSync's getTrigger: manual wins)."""
    spec_trigger = spec.get("trigger") or {}
    if spec_trigger.get("manual"):
        return "manual"
    if spec_trigger.get("schedule"):
        return "schedule"
    return "none"


def state(status: Status) -> str:
    if not status.get("lastSyncTime") and not status.get("lastSyncStartTime"):
        return INITIAL
    if status.get("lastSyncStartTime"):
        return SYNCHRONIZING
    return CLEANING_UP


def next_sync_time(spec: dict[str, Any], last_sync: datetime | None) -> datetime | None:
    """cron.next(lastSyncTime) for a schedule trigger; None otherwise."""
    if trigger(spec) != "schedule" or last_sync is None:
        return None
    schedule = str(spec["trigger"]["schedule"])
    return croniter(schedule, last_sync).get_next(datetime).astimezone(UTC)


def should_sync(spec: dict[str, Any], status: Status, now: datetime) -> bool:
    kind = trigger(spec)
    if kind == "schedule":
        due = parse_timestamp(status.get("nextSyncTime"))
        return due is None or now > due
    if kind == "manual":
        return str(spec["trigger"]["manual"]) != str(status.get("lastManualSync") or "")
    return True


def missed_deadline(spec: dict[str, Any], status: Status, now: datetime) -> bool:
    """A scheduled sync not finished before the one after next (VolSync's pastScheduleDeadline)."""
    last = parse_timestamp(status.get("lastSyncTime"))
    if trigger(spec) != "schedule" or last is None:
        return False
    cron = croniter(str(spec["trigger"]["schedule"]), last)
    cron.get_next(datetime)
    after_next: datetime = cron.get_next(datetime)
    return after_next.astimezone(UTC) < now


def set_condition(status: Status, reason: str, message: str, now: datetime) -> None:
    """Set the one ``Synchronizing`` condition (transition time kept if status unchanged)."""
    value = "True" if reason == REASON_SYNC else "False"
    conditions = [c for c in status.get("conditions") or [] if c.get("type") != CONDITION]
    previous = next((c for c in status.get("conditions") or [] if c.get("type") == CONDITION), None)
    since = timestamp(now)
    if previous is not None and previous.get("status") == value:
        since = previous.get("lastTransitionTime") or since
    conditions.append(
        {
            "type": CONDITION,
            "status": value,
            "reason": reason,
            "message": message,
            "lastTransitionTime": since,
        }
    )
    status["conditions"] = conditions


def set_syncing(status: Status, now: datetime) -> None:
    set_condition(status, REASON_SYNC, "Synchronization in-progress", now)


def set_error(status: Status, message: str, now: datetime) -> None:
    set_condition(status, REASON_ERROR, message, now)


def begin_sync(status: Status, now: datetime) -> None:
    status["lastSyncStartTime"] = timestamp(now)
    set_syncing(status, now)


def finish_sync(spec: dict[str, Any], status: Status, now: datetime) -> None:
    """VolSync's transitionToCleaningUp: record the sync, advance the manual tag."""
    started = parse_timestamp(status.get("lastSyncStartTime")) or now
    status["lastSyncTime"] = timestamp(now)
    status["lastSyncDuration"] = go_duration((now - started).total_seconds())
    upcoming = next_sync_time(spec, now)
    status["nextSyncTime"] = timestamp(upcoming) if upcoming else None
    manual = (spec.get("trigger") or {}).get("manual")
    status["lastManualSync"] = str(manual) if manual else status.get("lastManualSync")
    status["lastSyncStartTime"] = None
    set_condition(status, REASON_CLEANUP, "Cleaning up", now)


def after_cleanup(spec: dict[str, Any], status: Status, now: datetime) -> float | None:
    """VolSync's doCleanupState once cleanup is done: start a sync or idle.

    Returns seconds until the next scheduled sync (None: wait for a change).
    """
    upcoming = next_sync_time(spec, parse_timestamp(status.get("lastSyncTime")))
    status["nextSyncTime"] = timestamp(upcoming) if upcoming else None
    if should_sync(spec, status, now):
        begin_sync(status, now)
        return 0.0
    if trigger(spec) == "schedule":
        set_condition(status, REASON_SCHEDULE, "Waiting for next scheduled synchronization", now)
    else:
        set_condition(status, REASON_MANUAL, "Waiting for manual trigger", now)
    if upcoming is None:
        return None
    return max((upcoming - now).total_seconds(), 0.0) + 0.5

"""The RTO clock read twice: this process's monotonic clock, and the cluster's timestamps.

The cluster's record of a recovery is the disaster's first write (the ``deletionTimestamp``
or the managed-fields time the API server stamped on it) and the end of the restore (the
restored PV's ``lastPhaseTransitionTime``, the app pod's ``Ready`` transition). Those
stamps are whole seconds, so the two readings may differ by one second plus the latency of
a watch; more than that means the harness started or stopped its clock at the wrong moment.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from restore_drill.errors import MeasurementError
from restore_drill.kinds import Obj, dig

if TYPE_CHECKING:
    from restore_drill.steps.context import Drill

RESOLUTION_SECONDS = 1.0  # metav1.Time is RFC 3339 to the second
TOLERANCE_SECONDS = RESOLUTION_SECONDS + 1.0


def parse_time(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def written_at(obj: Obj | None) -> datetime | None:
    """When the API server recorded the last write to ``obj``: its deletion, else the
    newest managed-fields entry (None for an answer that carries neither)."""
    meta = dig(obj, "metadata") or {}
    deleted = parse_time(meta.get("deletionTimestamp"))
    if deleted is not None:
        return deleted
    times = [parse_time(entry.get("time")) for entry in meta.get("managedFields") or []]
    return max((t for t in times if t is not None), default=None)


def ready_at(pod: Obj | None) -> datetime | None:
    """When the kubelet saw the pod's containers Ready."""
    for condition in dig(pod, "status", "conditions") or []:
        if condition.get("type") == "Ready" and condition.get("status") == "True":
            return parse_time(condition.get("lastTransitionTime"))
    return None


def bound_at(volume: Obj | None) -> datetime | None:
    """When the PV last changed phase (to Bound, for a restored volume)."""
    return parse_time(dig(volume, "status", "lastPhaseTransitionTime"))


def earliest(times: Iterable[datetime | None]) -> datetime | None:
    return min((t for t in times if t is not None), default=None)


def latest(times: Iterable[datetime | None]) -> datetime | None:
    return max((t for t in times if t is not None), default=None)


def wall(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def check_readings(process_rto: float | None, cluster_rto: float | None, where: str) -> None:
    """Raise :class:`MeasurementError` unless the RTO is there, positive and agreed on.

    ``where`` says where the cluster's reading started (the API server, or this machine
    for a cluster that was torn down with its record)."""
    if process_rto is None:
        raise MeasurementError("no RTO was measured: the disaster or the restore went unseen")
    if process_rto <= 0:
        raise MeasurementError(f"RTO of {process_rto:.1f}s: the clock stopped before it started")
    if cluster_rto is not None and abs(process_rto - cluster_rto) > TOLERANCE_SECONDS:
        raise MeasurementError(
            f"RTO {process_rto:.1f}s by this process but {cluster_rto:.0f}s by the cluster's "
            f"timestamps (start: {where}); they may differ by {TOLERANCE_SECONDS:g}s at most"
        )


def clock_record(drill: Drill) -> dict[str, Any]:
    """For result.json: the cluster's reading of the RTO, and where its ends came from."""
    seconds = drill.cluster_rto_seconds
    if seconds is None:
        return {}
    start = drill.disaster_server or wall(drill.disaster_wall or 0.0)
    return {
        "seconds": seconds,
        "disaster_at": start.isoformat(),
        "restored_at": drill.restored_server.isoformat() if drill.restored_server else None,
        "start_from": drill.cluster_clock_start,
        # A many-app drill's RTO is its slowest app's; each app's own, on the same clock.
        **({"apps": drill.app_rto_seconds} if len(drill.apps) > 1 else {}),
    }

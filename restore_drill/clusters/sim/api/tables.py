"""``meta.k8s.io/v1`` Table answers, which ``kubectl get`` asks for to print its columns."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from restore_drill.clusters.sim.api.selectors import field_value

Obj = dict[str, Any]
Column = tuple[str, Callable[[Obj], Any]]


def age(obj: Obj) -> str:
    created = obj["metadata"].get("creationTimestamp")
    if not created:
        return "<unknown>"
    then = datetime.strptime(created, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    seconds = int((datetime.now(UTC) - then).total_seconds())
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60}s" if seconds < 600 else f"{seconds // 60}m"
    if seconds < 86400:
        return f"{seconds // 3600}h{seconds % 3600 // 60}m"
    return f"{seconds // 86400}d"


def _path(path: str) -> Callable[[Obj], Any]:
    return lambda obj: field_value(obj, path)


def _ready(obj: Obj) -> str:
    statuses = (obj.get("status") or {}).get("containerStatuses") or []
    total = len((obj.get("spec") or {}).get("containers") or [])
    return f"{sum(1 for s in statuses if s.get('ready'))}/{total}"


def _restarts(obj: Obj) -> int:
    statuses = (obj.get("status") or {}).get("containerStatuses") or []
    return sum(int(s.get("restartCount", 0)) for s in statuses)


def _pod_status(obj: Obj) -> str:
    if obj["metadata"].get("deletionTimestamp"):
        return "Terminating"
    return field_value(obj, "status.reason") or field_value(obj, "status.phase")


def _modes(obj: Obj) -> str:
    short = {
        "ReadWriteOnce": "RWO",
        "ReadOnlyMany": "ROX",
        "ReadWriteMany": "RWX",
        "ReadWriteOncePod": "RWOP",
    }
    modes = (obj.get("spec") or {}).get("accessModes") or []
    return ",".join(short.get(m, m) for m in modes)


def _claim(obj: Obj) -> str:
    ref = (obj.get("spec") or {}).get("claimRef") or {}
    return f"{ref.get('namespace')}/{ref.get('name')}" if ref else ""


def _deployment_ready(obj: Obj) -> str:
    return f"{field_value(obj, 'status.readyReplicas') or 0}/{field_value(obj, 'spec.replicas')}"


def _job_status(obj: Obj) -> str:
    for condition in (obj.get("status") or {}).get("conditions") or []:
        if condition.get("status") == "True" and condition.get("type") in ("Complete", "Failed"):
            return str(condition["type"])
    return "Running"


COLUMNS: dict[str, list[Column]] = {
    "Namespace": [("Status", _path("status.phase"))],
    "Pod": [("Ready", _ready), ("Status", _pod_status), ("Restarts", _restarts)],
    "PersistentVolumeClaim": [
        ("Status", _path("status.phase")),
        ("Volume", _path("spec.volumeName")),
        ("Capacity", _path("status.capacity.storage")),
        ("Access Modes", _modes),
        ("StorageClass", _path("spec.storageClassName")),
    ],
    "PersistentVolume": [
        ("Capacity", _path("spec.capacity.storage")),
        ("Access Modes", _modes),
        ("Reclaim Policy", _path("spec.persistentVolumeReclaimPolicy")),
        ("Status", _path("status.phase")),
        ("Claim", _claim),
        ("StorageClass", _path("spec.storageClassName")),
    ],
    "Deployment": [("Ready", _deployment_ready), ("Available", _path("status.availableReplicas"))],
    "StatefulSet": [("Ready", _deployment_ready)],
    "Job": [("Status", _job_status), ("Completions", _path("status.succeeded"))],
    "StorageClass": [
        ("Provisioner", _path("provisioner")),
        ("ReclaimPolicy", _path("reclaimPolicy")),
    ],
    "VolumeSnapshot": [
        ("ReadyToUse", _path("status.readyToUse")),
        ("SourcePVC", _path("spec.source.persistentVolumeClaimName")),
        ("Content", _path("status.boundVolumeSnapshotContentName")),
    ],
    "VolumeSnapshotContent": [
        ("ReadyToUse", _path("status.readyToUse")),
        ("VolumeSnapshot", _path("spec.volumeSnapshotRef.name")),
    ],
    "ReplicationSource": [
        ("Source", _path("spec.sourcePVC")),
        ("Last sync", _path("status.lastSyncTime")),
        ("Duration", _path("status.lastSyncDuration")),
        ("Next sync", _path("status.nextSyncTime")),
    ],
    "ReplicationDestination": [
        ("Last sync", _path("status.lastSyncTime")),
        ("Duration", _path("status.lastSyncDuration")),
        ("Next sync", _path("status.nextSyncTime")),
    ],
    "Event": [
        ("Type", _path("type")),
        ("Reason", _path("reason")),
        (
            "Object",
            lambda o: (
                f"{field_value(o, 'involvedObject.kind').lower()}/"
                f"{field_value(o, 'involvedObject.name')}"
            ),
        ),
        ("Message", _path("message")),
    ],
}


def table(kind: str, objects: list[Obj], include: str, revision: str | None = None) -> Obj:
    """A Table of ``objects``; ``include`` is the request's includeObject (None|Metadata|Object)."""
    columns = COLUMNS.get(kind, [])
    definitions = [
        {"name": "Name", "type": "string", "format": "name", "description": "Name", "priority": 0}
    ]
    definitions += [
        {"name": name, "type": "string", "format": "", "description": name, "priority": 0}
        for name, _ in columns
    ]
    definitions.append(
        {"name": "Age", "type": "string", "format": "", "description": "Age", "priority": 0}
    )
    rows = []
    for obj in objects:
        row: Obj = {"cells": [obj["metadata"]["name"], *(get(obj) for _, get in columns), age(obj)]}
        if include == "Object":
            row["object"] = obj
        elif include != "None":
            row["object"] = {
                "kind": "PartialObjectMetadata",
                "apiVersion": "meta.k8s.io/v1",
                "metadata": obj["metadata"],
            }
        rows.append(row)
    answer: Obj = {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {},
        "columnDefinitions": definitions,
        "rows": rows,
    }
    if revision:
        answer["metadata"]["resourceVersion"] = revision
    return answer

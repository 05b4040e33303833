"""What the harness says about Kubernetes objects without a client: kinds, and a short
description of an object's state (for timeout messages and reports)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

Obj = dict[str, Any]


@dataclass(frozen=True)
class Kind:
    """An API group/version and kind, e.g. ``Kind("v1", "PersistentVolumeClaim")``."""

    api_version: str
    kind: str
    namespaced: bool = True

    def __str__(self) -> str:
        return f"{self.kind}.{self.api_version}"


NAMESPACE = Kind("v1", "Namespace", namespaced=False)
NODE = Kind("v1", "Node", namespaced=False)
POD = Kind("v1", "Pod")
PVC = Kind("v1", "PersistentVolumeClaim")
PV = Kind("v1", "PersistentVolume", namespaced=False)
SECRET = Kind("v1", "Secret")
CONFIG_MAP = Kind("v1", "ConfigMap")
EVENT = Kind("v1", "Event")
SERVICE_ACCOUNT = Kind("v1", "ServiceAccount")
DEPLOYMENT = Kind("apps/v1", "Deployment")
STATEFUL_SET = Kind("apps/v1", "StatefulSet")
DAEMON_SET = Kind("apps/v1", "DaemonSet")
JOB = Kind("batch/v1", "Job")
STORAGE_CLASS = Kind("storage.k8s.io/v1", "StorageClass", namespaced=False)
VOLUME_SNAPSHOT = Kind("snapshot.storage.k8s.io/v1", "VolumeSnapshot")
VOLUME_SNAPSHOT_CONTENT = Kind(
    "snapshot.storage.k8s.io/v1", "VolumeSnapshotContent", namespaced=False
)
VOLUME_SNAPSHOT_CLASS = Kind("snapshot.storage.k8s.io/v1", "VolumeSnapshotClass", namespaced=False)
REPLICATION_SOURCE = Kind("volsync.backube/v1alpha1", "ReplicationSource")
REPLICATION_DESTINATION = Kind("volsync.backube/v1alpha1", "ReplicationDestination")
CRD = Kind("apiextensions.k8s.io/v1", "CustomResourceDefinition", namespaced=False)


def dig(obj: object, *path: str) -> Any:
    """``obj[path[0]][path[1]]...``, or None where a level is missing: objects travel as
    the API returns them, and any level of them may be absent."""
    value: Any = obj
    for name in path:
        value = value.get(name) if isinstance(value, Mapping) else None
    return value


def job_ended(job: Obj | None) -> bool:
    """A Job one of whose pods ended: it succeeded, or it failed (and may retry)."""
    return bool(dig(job, "status", "succeeded") or dig(job, "status", "failed"))


def kind_of(manifest: Mapping[str, Any]) -> Kind:
    """The :class:`Kind` of a manifest dict (namespaced-ness from its metadata)."""
    return Kind(
        manifest["apiVersion"],
        manifest["kind"],
        namespaced="namespace" in manifest.get("metadata", {}),
    )


def describe(obj: Obj | None, limit: int = 400) -> str:
    """A short, human-readable summary of an object's state, for timeout messages."""
    if obj is None:
        return "absent"
    meta = obj.get("metadata", {})
    parts = [f"{obj.get('kind', '?')}/{meta.get('name', '?')}"]
    if meta.get("deletionTimestamp"):
        parts.append(f"terminating (finalizers={meta.get('finalizers', [])})")
    status = obj.get("status")
    if status:
        parts.append("status=" + json.dumps(status, sort_keys=True, default=str))
    text = " ".join(parts)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def brief(obj: Obj | None) -> str:
    """A few words on an object's state, for a live progress line (``describe`` is for
    errors): absent, terminating, its phase, a Job's pods, its conditions that hold."""
    if obj is None:
        return "absent"
    if dig(obj, "metadata", "deletionTimestamp"):
        return "terminating"
    status = obj.get("status") or {}
    words = [f"phase {status['phase']}"] if status.get("phase") else []
    if obj.get("kind") == "Job":
        counts = ("active", "succeeded", "failed")
        words += [f"{count} {status[count]}" for count in counts if status.get(count)]
    words += [
        str(condition.get("type"))
        for condition in status.get("conditions") or []
        if condition.get("status") == "True"
    ]
    return ", ".join(words) or "present, no status yet"


__all__ = [
    "CONFIG_MAP",
    "CRD",
    "DAEMON_SET",
    "DEPLOYMENT",
    "EVENT",
    "JOB",
    "NAMESPACE",
    "NODE",
    "POD",
    "PV",
    "PVC",
    "REPLICATION_DESTINATION",
    "REPLICATION_SOURCE",
    "SECRET",
    "SERVICE_ACCOUNT",
    "STATEFUL_SET",
    "STORAGE_CLASS",
    "VOLUME_SNAPSHOT",
    "VOLUME_SNAPSHOT_CLASS",
    "VOLUME_SNAPSHOT_CONTENT",
    "Kind",
    "Obj",
    "describe",
    "kind_of",
]


_QUANTITY = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGTPE]i?|k|m)?\s*$")
_FACTORS = {
    None: 1,
    "k": 10**3,
    "K": 10**3,
    "M": 10**6,
    "G": 10**9,
    "T": 10**12,
    "P": 10**15,
    "E": 10**18,
    "Ki": 2**10,
    "Mi": 2**20,
    "Gi": 2**30,
    "Ti": 2**40,
    "Pi": 2**50,
    "Ei": 2**60,
}


def quantity_bytes(value: object) -> int | None:
    """``"10Gi"`` -> bytes; None when absent or not a Kubernetes quantity."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    match = _QUANTITY.match(value if isinstance(value, str) else "")
    if match is None or match.group(2) == "m":
        return None
    return int(float(match.group(1)) * _FACTORS[match.group(2)])

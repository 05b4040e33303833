"""The objects VolSync's restic mover creates, with VolSync's names, labels and env vars.

Names and labels follow VolSync's source: ``controllers/mover/restic/mover.go``
(Job ``volsync-{src|dst}-<owner>``, cache PVC ``volsync-{src|dst}-<owner>-cache`` since
0.13, env vars from the repository Secret by ``secretKeyRef``), ``controllers/utils``
(``app.kubernetes.io/created-by: volsync``, ``volsync.backube/cleanup: <owner uid>``) and
``controllers/volumehandler`` (temporary snapshot/PVC ``volsync-<owner>-src``, image
snapshot ``<pvc>-<YYYYMMDDHHMMSS>`` recorded in the PVC annotation
``volsync.backube/snapname``). Every builder returns a plain manifest dict.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import restore_drill

Obj = dict[str, Any]

PREFIX = "volsync-"
CREATED_BY = "app.kubernetes.io/created-by"
CLEANUP = "volsync.backube/cleanup"
DO_NOT_DELETE = "volsync.backube/do-not-delete"
SNAPNAME = "volsync.backube/snapname"
VOLPOP_IN_USE = "volsync.backube/volpop-pvc-"
MOVER_IMAGE = "quay.io/backube/volsync:0.16.0"  # recorded in the pod spec, never pulled
MOVER_COMMAND = ["python3", "-m", "restore_drill.clusters.sim.mover"]
# The sim's stand-in for the mover image: the container's python finds this package here.
PACKAGE_ROOT = str(Path(restore_drill.__file__).resolve().parents[1])
DATA_MOUNT = "/data"
CACHE_MOUNT = "/cache"
# VolSync uses 8; the sim's Jobs retry instantly, so 2 keeps a failing drill short.
BACKOFF_LIMIT = 2
DEFAULT_CACHE_CAPACITY = "1Gi"

REQUIRED_KEYS = ("RESTIC_REPOSITORY", "RESTIC_PASSWORD")
OPTIONAL_KEYS = (
    "RESTIC_COMPRESSION",
    "RESTIC_PACK_SIZE",
    "RESTIC_READ_CONCURRENCY",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_DEFAULT_REGION",
    "ST_AUTH",
    "ST_USER",
    "ST_KEY",
    "B2_ACCOUNT_ID",
    "B2_ACCOUNT_KEY",
    "AZURE_ACCOUNT_NAME",
    "AZURE_ACCOUNT_KEY",
    "AZURE_ACCOUNT_SAS",
    "AZURE_ENDPOINT_SUFFIX",
    "GOOGLE_PROJECT_ID",
    "RESTIC_REST_USERNAME",
    "RESTIC_REST_PASSWORD",
)

# VolSync's LogLineFilterSuccess (controllers/mover/restic/logfilter.go), plus the
# "no eligible snapshots" lines so an empty restore says so in the status.
_SUCCESS_LINES = re.compile(
    r"^\s*([pP]rocessed)\s.+([fF]iles)|^\s*([sS]napshot)\s.+([sS]aved)|"
    r"^\s*([rR]epository)\s.+([oO]pened)|^\s*([rR]estoring)|^\s*([nN]o parent snapshot)|"
    r"^\s*([uU]sing parent snapshot)|^\s*([aA]dded to the repository)|^\s*(Restic completed in)|"
    r"^\s*(No eligible snapshots found)|^\s*(=== No data will be restored ===)"
)
FAILED_LOG_LINES = 30


class SyncError(Exception):
    """A reason the sync cannot go on now; its message becomes the condition's message."""


def owner_reference(owner: Obj) -> Obj:
    meta = owner["metadata"]
    return {
        "apiVersion": owner["apiVersion"],
        "kind": owner["kind"],
        "name": meta["name"],
        "uid": meta["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


def owned_metadata(owner: Obj, name: str, *, temporary: bool) -> Obj:
    """Metadata of an object VolSync owns; ``temporary`` marks it for per-sync cleanup."""
    labels = {CREATED_BY: "volsync"}
    if temporary:
        labels[CLEANUP] = owner["metadata"]["uid"]
    return {
        "name": name,
        "namespace": owner["metadata"]["namespace"],
        "labels": labels,
        "ownerReferences": [owner_reference(owner)],
    }


def is_owned_by(obj: Obj, owner_uid: str) -> bool:
    refs = obj.get("metadata", {}).get("ownerReferences") or []
    return any(ref.get("uid") == owner_uid for ref in refs)


def controller_of(obj: Obj, kind: str) -> str | None:
    """The name of the ``kind`` object that controls ``obj`` (its owner reference)."""
    for ref in obj.get("metadata", {}).get("ownerReferences") or []:
        if ref.get("kind") == kind and ref.get("controller"):
            return str(ref["name"])
    return None


def job_name(owner: Obj, direction: str) -> str:
    return f"{PREFIX}{direction}-{owner['metadata']['name']}"


def cache_name(owner: Obj, direction: str) -> str:
    return f"{PREFIX}{direction}-{owner['metadata']['name']}-cache"


def storage_request(pvc: Obj) -> str:
    capacity = (pvc.get("status") or {}).get("capacity", {}).get("storage")
    requested = pvc["spec"].get("resources", {}).get("requests", {}).get("storage", "1Gi")
    return str(capacity or requested)


def pvc_manifest(
    owner: Obj,
    name: str,
    *,
    capacity: str,
    access_modes: list[str],
    storage_class: str | None,
    temporary: bool,
    data_source: Obj | None = None,
) -> Obj:
    spec: Obj = {
        "accessModes": list(access_modes),
        "resources": {"requests": {"storage": capacity}},
        "volumeMode": "Filesystem",
    }
    if storage_class:
        spec["storageClassName"] = storage_class
    if data_source:
        spec["dataSource"] = data_source
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": owned_metadata(owner, name, temporary=temporary),
        "spec": spec,
    }


def cache_pvc(owner: Obj, direction: str, restic: Obj, data_pvc: Obj) -> Obj:
    """The restic cache volume (VolSync's ensureCache: 1Gi unless cacheCapacity)."""
    modes = restic.get("cacheAccessModes") or restic.get("accessModes")
    storage_class = restic.get("cacheStorageClassName") or restic.get("storageClassName")
    return pvc_manifest(
        owner,
        cache_name(owner, direction),
        capacity=str(restic.get("cacheCapacity") or DEFAULT_CACHE_CAPACITY),
        access_modes=list(modes or data_pvc["spec"].get("accessModes") or ["ReadWriteOnce"]),
        storage_class=storage_class,
        temporary=bool(restic.get("cleanupCachePVC")),
    )


def snapshot_manifest(
    owner: Obj, name: str, pvc_name: str, snapshot_class: str | None, *, temporary: bool
) -> Obj:
    spec: Obj = {"source": {"persistentVolumeClaimName": pvc_name}}
    if snapshot_class:
        spec["volumeSnapshotClassName"] = snapshot_class
    return {
        "apiVersion": "snapshot.storage.k8s.io/v1",
        "kind": "VolumeSnapshot",
        "metadata": owned_metadata(owner, name, temporary=temporary),
        "spec": spec,
    }


def validate_secret(secret: Obj | None, name: str) -> None:
    """VolSync's GetAndValidateSecret: the Secret exists and holds the mandatory keys."""
    if secret is None:
        raise SyncError(f'Secret "{name}" not found')
    data = secret.get("data") or {}
    missing = [key for key in REQUIRED_KEYS if key not in data]
    if missing:
        raise SyncError(f"secret {name} is missing field(s): {', '.join(missing)}")


def forget_options(retain: Obj | None) -> str:
    """VolSync's generateForgetOptions: ``--keep-last 1`` unless ``retain`` says otherwise."""
    if not retain:
        return "--keep-last 1"
    parts = [
        f"--keep-{unit} {int(retain[field])}"
        for field, unit in (
            ("hourly", "hourly"),
            ("daily", "daily"),
            ("weekly", "weekly"),
            ("monthly", "monthly"),
            ("yearly", "yearly"),
        )
        if retain.get(field) is not None
    ]
    if retain.get("within"):
        parts.append(f"--keep-within {retain['within']}")
    if retain.get("last") is not None:
        parts.append(f"--keep-last {retain['last']}")
    return " ".join(parts) or "--keep-last 1"


def secret_env(secret: Obj) -> list[Obj]:
    data = secret.get("data") or {}
    name = secret["metadata"]["name"]
    env = [_from_secret(name, key, optional=False) for key in REQUIRED_KEYS]
    env += [_from_secret(name, key, optional=True) for key in OPTIONAL_KEYS]
    env += [
        _from_secret(name, key, optional=True) for key in sorted(data) if key.startswith("RCLONE_")
    ]
    return env


def _from_secret(secret_name: str, key: str, *, optional: bool) -> Obj:
    return {
        "name": key,
        "valueFrom": {"secretKeyRef": {"name": secret_name, "key": key, "optional": optional}},
    }


def mover_job(
    owner: Obj,
    direction: str,
    actions: list[str],
    *,
    data_pvc: str,
    cache_pvc_name: str,
    secret: Obj,
    env: dict[str, str],
    privileged: bool,
    read_only: bool = False,
) -> Obj:
    """The mover Job as VolSync's ensureJob builds it (container ``restic``, RestartNever)."""
    name = job_name(owner, direction)
    values = [{"name": key, "value": value} for key, value in env.items()]
    values += secret_env(secret)
    values.append({"name": "PRIVILEGED_MOVER", "value": "1" if privileged else "0"})
    values.append({"name": "PYTHONPATH", "value": PACKAGE_ROOT})
    container: Obj = {
        "name": "restic",
        "image": MOVER_IMAGE,
        "command": list(MOVER_COMMAND),
        "args": list(actions),
        "env": values,
        "volumeMounts": [
            {"name": "data", "mountPath": DATA_MOUNT},
            {"name": "cache", "mountPath": CACHE_MOUNT},
        ],
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "privileged": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]}
            | ({"add": ["DAC_OVERRIDE", "CHOWN", "FOWNER"]} if privileged else {}),
        },
    }
    metadata = owned_metadata(owner, name, temporary=True)
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": metadata,
        "spec": {
            "backoffLimit": BACKOFF_LIMIT,
            "parallelism": 1,
            "template": {
                "metadata": {"name": name, "labels": {CREATED_BY: "volsync"}},
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [container],
                    "volumes": [
                        {
                            "name": "data",
                            "persistentVolumeClaim": {"claimName": data_pvc, "readOnly": read_only},
                        },
                        {"name": "cache", "persistentVolumeClaim": {"claimName": cache_pvc_name}},
                    ],
                },
            },
        },
    }


def job_outcome(job: Obj) -> str:
    """``succeeded``, ``failed`` (backoff limit reached, as VolSync checks) or ``running``."""
    status = job.get("status") or {}
    if int(status.get("succeeded") or 0) > 0:
        return "succeeded"
    conditions = status.get("conditions") or []
    if any(c.get("type") == "Failed" and c.get("status") == "True" for c in conditions):
        return "failed"
    limit = int(job.get("spec", {}).get("backoffLimit", BACKOFF_LIMIT))
    if int(status.get("failed") or 0) >= max(limit, 1):
        return "failed"
    return "running"


def filter_success_logs(text: str) -> str:
    return "\n".join(line for line in text.splitlines() if _SUCCESS_LINES.search(line))


def tail_lines(text: str, count: int = FAILED_LOG_LINES) -> str:
    return "\n".join(text.splitlines()[-count:])

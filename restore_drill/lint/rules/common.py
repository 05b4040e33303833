"""Small helpers the rule families share."""

from __future__ import annotations

from collections.abc import Iterator

from restore_drill.kinds import dig
from restore_drill.lint.model import Deployed, Model, mapping, sequence, text


def gib(size: int) -> str:
    return f"{size / 2**30:g}Gi"


def pvc_request(pvc: Deployed) -> object:
    return dig(pvc.spec, "resources", "requests", "storage")


def restic(obj: Deployed) -> dict[str, object]:
    return mapping(obj.spec.get("restic"))


def restored_pvcs(model: Model, rd: Deployed) -> Iterator[Deployed]:
    """PVCs whose dataSourceRef names this ReplicationDestination."""
    for pvc in model.of_kind("PersistentVolumeClaim"):
        ref = mapping(pvc.spec.get("dataSourceRef"))
        if (
            pvc.namespace == rd.namespace
            and text(ref.get("kind")) == "ReplicationDestination"
            and text(ref.get("name")) == rd.name
        ):
            yield pvc


def backed_up_pvcs(model: Model) -> dict[tuple[str, str], Deployed]:
    """(namespace, PVC name) -> the ReplicationSource that backs it up."""
    return {
        (rs.namespace, text(rs.spec.get("sourcePVC"))): rs
        for rs in model.volsync("ReplicationSource")
    }


def pod_spec(workload: Deployed) -> dict[str, object]:
    """The pod template's spec of any workload kind (the Pod's own spec for a Pod)."""
    if workload.kind == "Pod":
        return workload.spec
    if workload.kind == "CronJob":
        return mapping(dig(workload.spec, "jobTemplate", "spec", "template", "spec"))
    return mapping(dig(workload.spec, "template", "spec"))


def claim_names(workload: Deployed) -> list[str]:
    volumes = sequence(pod_spec(workload).get("volumes"))
    return [
        text(dig(v, "persistentVolumeClaim", "claimName"))
        for v in volumes
        if dig(v, "persistentVolumeClaim", "claimName")
    ]

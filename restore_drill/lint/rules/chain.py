"""The restore chain: PVC -> ReplicationDestination, ReplicationSource -> PVC (RD001-RD006)."""

from __future__ import annotations

from collections.abc import Iterator

from restore_drill.kinds import quantity_bytes
from restore_drill.lint.catalog import finding
from restore_drill.lint.findings import Finding
from restore_drill.lint.model import Deployed, Model, mapping, sequence, text
from restore_drill.lint.policy import Policy
from restore_drill.lint.rules.common import gib, pvc_request, restic, restored_pvcs

VOLSYNC_GROUP = "volsync.backube"


def check_references(model: Model, policy: Policy) -> Iterator[Finding]:
    for pvc in model.of_kind("PersistentVolumeClaim"):
        label = f"{pvc.file}: PVC {pvc.namespace}/{pvc.name}"
        data_source = mapping(pvc.spec.get("dataSource"))
        if text(data_source.get("kind")) == "ReplicationDestination":
            yield finding(
                "RD002",
                f"{label} names ReplicationDestination in spec.dataSource, "
                "which only takes PVCs and VolumeSnapshots",
                file=pvc.file,
                **pvc.where(),
            )
        ref = mapping(pvc.spec.get("dataSourceRef"))
        kind, group, name = (text(ref.get(k)) for k in ("kind", "apiGroup", "name"))
        if not ref or ("ReplicationDestination" not in kind and group != VOLSYNC_GROUP):
            continue
        if kind != "ReplicationDestination" or group != VOLSYNC_GROUP:
            yield finding(
                "RD002",
                f"{label}: dataSourceRef is {group or '(no apiGroup)'}/{kind}, "
                f"expected {VOLSYNC_GROUP}/ReplicationDestination",
                file=pvc.file,
                **pvc.where(),
            )
            continue
        ref_ns = text(ref.get("namespace")) or pvc.namespace
        rd = model.get("ReplicationDestination", ref_ns, name)
        if rd is None or ref_ns != pvc.namespace:
            yield finding(
                "RD001",
                f"{label}: dataSourceRef -> ReplicationDestination {name} "
                f"not found in namespace {pvc.namespace}",
                file=pvc.file,
                **pvc.where(),
            )
    for rs in model.volsync("ReplicationSource"):
        source = text(rs.spec.get("sourcePVC"))
        if model.get("PersistentVolumeClaim", rs.namespace, source) is None:
            yield finding(
                "RD003",
                f"{rs.file}: ReplicationSource {rs.namespace}/{rs.name} backs "
                f"up PVC {source or '(none)'}, not deployed in {rs.namespace}",
                file=rs.file,
                **rs.where(),
            )


def check_destination_shape(model: Model, policy: Policy) -> Iterator[Finding]:
    for rd in model.volsync("ReplicationDestination"):
        settings = restic(rd)
        if settings.get("destinationPVC"):
            continue  # restores into an existing PVC: nothing to compare
        for pvc in restored_pvcs(model, rd):
            yield from _compare(model, rd, pvc, settings)


def _compare(
    model: Model, rd: Deployed, pvc: Deployed, settings: dict[str, object]
) -> Iterator[Finding]:
    label = f"{rd.file}: ReplicationDestination {rd.namespace}/{rd.name}"
    wanted, have = quantity_bytes(pvc_request(pvc)), quantity_bytes(settings.get("capacity"))
    if wanted is not None and have != wanted:
        shown = gib(have) if have is not None else "(none)"
        yield finding(
            "RD004",
            f"{label}: capacity {shown}, PVC {pvc.name} requests {gib(wanted)}",
            file=rd.file,
            **rd.where(),
        )
    pvc_modes = sorted(map(text, sequence(pvc.spec.get("accessModes"))))
    rd_modes = sorted(map(text, sequence(settings.get("accessModes"))))
    if pvc_modes and rd_modes != pvc_modes:
        yield finding(
            "RD005",
            f"{label}: accessModes {', '.join(rd_modes) or '(none)'}, PVC "
            f"{pvc.name} has {', '.join(pvc_modes)}",
            file=rd.file,
            **rd.where(),
        )
    pvc_class = model.storage_class_of(pvc)
    rd_class = text(settings.get("storageClassName")) or model.storage_class_of(rd)
    if pvc_class and rd_class != pvc_class:
        yield finding(
            "RD006",
            f"{label}: storageClassName {rd_class or '(default)'}, PVC {pvc.name} uses {pvc_class}",
            file=rd.file,
            **rd.where(),
        )

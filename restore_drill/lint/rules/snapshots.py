"""copyMethod Snapshot needs a usable VolumeSnapshotClass (RD020, RD021)."""

from __future__ import annotations

from collections.abc import Iterator

from restore_drill.lint.catalog import finding
from restore_drill.lint.findings import Finding
from restore_drill.lint.model import Deployed, Model, mapping, text
from restore_drill.lint.policy import Policy
from restore_drill.lint.rules.common import restic

LONGHORN_DRIVER = "driver.longhorn.io"
DEFAULT_CLASS_ANNOTATION = "snapshot.storage.kubernetes.io/is-default-class"


def check_snapshot_classes(model: Model, policy: Policy) -> Iterator[Finding]:
    reported: set[str] = set()
    for mover in [*model.volsync("ReplicationSource"), *model.volsync("ReplicationDestination")]:
        settings = restic(mover)
        if text(settings.get("copyMethod")) != "Snapshot":
            continue
        storage_class = _mover_storage_class(model, mover, settings)
        sc = model.get("StorageClass", "", storage_class) if storage_class else None
        if sc is None:
            continue  # the class is not in the repository: nothing to judge
        driver = text(sc.body.get("provisioner"))
        label = f"{mover.file}: {mover.kind} {mover.namespace}/{mover.name}"
        named = text(settings.get("volumeSnapshotClassName"))
        vsc = _snapshot_class(model, driver, named)
        if vsc is None:
            which = f"VolumeSnapshotClass {named}" if named else "a default VolumeSnapshotClass"
            yield finding(
                "RD020",
                f"{label}: copyMethod Snapshot on class {storage_class} needs "
                f"{which} for driver {driver}; none is deployed",
                file=mover.file,
                **mover.where(),
            )
        elif driver == LONGHORN_DRIVER and vsc.name not in reported:
            kind = text(mapping(vsc.body.get("parameters")).get("type"))
            if kind != "snap":
                reported.add(vsc.name)
                yield finding(
                    "RD021",
                    f"{vsc.file}: VolumeSnapshotClass {vsc.name} (Longhorn, "
                    f"type {kind or 'unset = bak'}) used by {mover.name} uploads a "
                    "backup to the backup target instead of an in-cluster snapshot",
                    file=vsc.file,
                    **vsc.where(),
                )


def _mover_storage_class(model: Model, mover: Deployed, settings: dict[str, object]) -> str:
    if mover.kind == "ReplicationSource":
        pvc = model.get("PersistentVolumeClaim", mover.namespace, text(mover.spec.get("sourcePVC")))
        return model.storage_class_of(pvc) if pvc is not None else ""
    named = text(settings.get("storageClassName"))
    return named or model.storage_class_of(Deployed({"spec": {}}, "", ""))


def _snapshot_class(model: Model, driver: str, named: str) -> Deployed | None:
    classes = [
        c for c in model.of_kind("VolumeSnapshotClass") if text(c.body.get("driver")) == driver
    ]
    if named:
        return next((c for c in classes if c.name == named), None)
    return next(
        (c for c in classes if text(c.annotations.get(DEFAULT_CLASS_ANNOTATION)) == "true"), None
    )

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
        named = text(settings.get("volumeSnapshotClassName"))
        if sc is None:
            # The StorageClass often comes from a chart (Longhorn's does); a snapshot class
            # named here and kept in the repository is still judged, by its own driver.
            vsc = model.get("VolumeSnapshotClass", "", named) if named else None
            if vsc is not None and vsc.name not in reported:
                yield from _longhorn_backup_class(vsc, mover, reported)
            continue
        driver = text(sc.body.get("provisioner"))
        label = f"{mover.file}: {mover.kind} {mover.namespace}/{mover.name}"
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
        elif vsc.name not in reported:
            yield from _longhorn_backup_class(vsc, mover, reported)


def _longhorn_backup_class(vsc: Deployed, mover: Deployed, reported: set[str]) -> Iterator[Finding]:
    """RD021 for a Longhorn snapshot class whose type is not ``snap``."""
    kind = text(mapping(vsc.body.get("parameters")).get("type"))
    if text(vsc.body.get("driver")) != LONGHORN_DRIVER or kind == "snap":
        return
    reported.add(vsc.name)
    yield finding(
        "RD021",
        f"{vsc.file}: VolumeSnapshotClass {vsc.name} (Longhorn, type {kind or 'unset = bak'}) "
        f"used by {mover.name} uploads a backup to the backup target instead of an "
        "in-cluster snapshot",
        file=vsc.file,
        **vsc.where(),
    )


def check_default_class_annotations(model: Model, policy: Policy) -> Iterator[Finding]:
    """RD022: an annotation that looks like the default-class one but is not, exactly: the
    snapshot-controller then has no default class, though the author meant one."""
    for vsc in model.of_kind("VolumeSnapshotClass"):
        for key, value in vsc.annotations.items():
            if "is-default" not in key.lower():
                continue
            if key == DEFAULT_CLASS_ANNOTATION and text(value) in ("true", "false"):
                continue
            yield finding(
                "RD022",
                f"{vsc.file}: VolumeSnapshotClass {vsc.name} has {key}: {text(value)!r}; only "
                f'{DEFAULT_CLASS_ANNOTATION}: "true" makes a class the default, so this one '
                "is not",
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

"""Which layer of the restore path left a volume empty, from the objects' own records.

The path has four layers, each leaving its own trace: the ReplicationDestination's restic
restore (its mover's words in ``status.latestMoverStatus.logs``), the snapshot it publishes
as ``status.latestImage``, the volume populator's prime PVC (its events on the user's PVC:
``VolSyncPopulatorPVCCreated``, ``...Error``, ``VolSyncPopulatorFinished``), and the rebind of
the prime PVC's volume to the user's PVC (the PV then carries
``volsync.backube/populated-from: <namespace>/<snapshot>``). The first layer whose trace is
missing or wrong is named; with every trace in order the volume came from elsewhere.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from restore_drill import k8s
from restore_drill.kinds import dig
from restore_drill.steps.snapshots import RESTORED, mover_snapshot
from restore_drill.steps.workloads import restored_volume

if TYPE_CHECKING:
    from restore_drill.steps.context import AppUnderTest, Drill

POPULATED_FROM = "volsync.backube/populated-from"
POPULATOR_FAILED = ("VolSyncPopulatorError", "VolSyncPopulatorPVCCreationError")
POPULATOR_DONE = "VolSyncPopulatorFinished"


def empty_volume_cause(drill: Drill, app: AppUnderTest, pvc: str, expected: int) -> str:
    """One line naming the layer that left ``pvc`` empty, with its evidence."""
    kube = drill.kube()
    head = (
        f"{app.name}/{pvc}: restored volume is EMPTY ({expected} entries expected) and the "
        "app started on it"
    )
    rd_name = app.fixture.destination_for(pvc)["metadata"]["name"]
    rd = kube.find(k8s.REPLICATION_DESTINATION, rd_name, app.namespace)
    restored = mover_snapshot(rd, RESTORED)
    if restored is None:
        logs = str(dig(rd, "status", "latestMoverStatus", "logs") or "")
        said = " (its mover said: No eligible snapshots found)" if "No eligible" in logs else ""
        return (
            f"{head}: layer ReplicationDestination restore: {rd_name} restored nothing{said}: its "
            "repository path holds no eligible backup (wrong or empty path, or restoreAsOf/"
            "previous beyond what retain kept): VolSync's silent empty-restore trap"
        )
    image = dig(rd, "status", "latestImage", "name")
    snapshot = kube.find(k8s.VOLUME_SNAPSHOT, str(image), app.namespace) if image else None
    if snapshot is None or not dig(snapshot, "status", "readyToUse"):
        state = "missing" if snapshot is None else "not readyToUse"
        return (
            f"{head}: layer latestImage: {rd_name} restored snapshot {restored}, but its "
            f"latestImage {image or '(none)'} is {state}"
        )
    events = kube.events_for(app.namespace, pvc)
    failed = [e for e in events if e.get("reason") in POPULATOR_FAILED]
    if failed:
        return (
            f"{head}: layer populator (prime PVC): {failed[-1].get('reason')}: "
            f"{failed[-1].get('message')}"
        )
    volume = restored_volume(kube, app, pvc)
    source = dig(volume, "metadata", "annotations", POPULATED_FROM)
    if not source:
        finished = any(e.get("reason") == POPULATOR_DONE for e in events)
        return (
            f"{head}: layer rebind: PV {dig(volume, 'metadata', 'name')} bound to the PVC has "
            f"no {POPULATED_FROM} annotation, so the populator did not fill it (populator "
            f"{'reported finished' if finished else 'never reported finished'}); {rd_name} "
            f"restored snapshot {restored} into {image}"
        )
    return (
        f"{head}: every layer reports success ({rd_name} restored snapshot {restored}; the PV "
        f"was populated from {source}): the snapshot's content is empty"
    )

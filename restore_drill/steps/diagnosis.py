"""Which restore filled a volume, and which layer left it empty, from the objects' records.

The path has four layers, each leaving its own trace. The populator fills the user's PVC
from a VolumeSnapshot and then rebinds the volume to it: the PV carries
``volsync.backube/populated-from: <namespace>/<snapshot>``. That snapshot is the
latestImage of one ReplicationDestination restore, whose mover said which restic snapshot
it restored (the drill notes it per image, since a later restore, such as the one a GitOps
re-sync starts, replaces the RD's latestImage and its logs). The populator's own steps
leave events on the PVC (``VolSyncPopulatorPVCCreated``, ``...Error``, ``...Finished``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from restore_drill import k8s, volsync
from restore_drill.kinds import dig
from restore_drill.steps import snapshots
from restore_drill.steps.workloads import restored_volume

if TYPE_CHECKING:
    from restore_drill.steps.context import AppUnderTest, Drill

POPULATOR_FAILED = ("VolSyncPopulatorError", "VolSyncPopulatorPVCCreationError")
POPULATOR_DONE = "VolSyncPopulatorFinished"


def restore_behind(drill: Drill, app: AppUnderTest, pvc: str) -> tuple[str | None, str | None]:
    """(the VolumeSnapshot that populated ``pvc``, the restic snapshot its restore restored);
    either is None where no record says."""
    kube = drill.kube()
    source = snapshots.populated_from(restored_volume(kube, app, pvc))
    key = snapshots.image_key(app.namespace, source or "")
    if source is not None and key in drill.images:
        return source, drill.images[key]
    name = app.fixture.destination_for(pvc)["metadata"]["name"]
    destination = kube.find(k8s.REPLICATION_DESTINATION, name, app.namespace)
    if source is None or snapshots.image_of(destination) == source:
        return source, snapshots.mover_snapshot(destination, snapshots.RESTORED)
    return source, None


def empty_volume_cause(drill: Drill, app: AppUnderTest, pvc: str, expected: int) -> str:
    """One line naming the layer that left ``pvc`` empty, with its evidence."""
    kube = drill.kube()
    head = (
        f"{app.name}/{pvc}: restored volume is EMPTY ({expected} entries expected) and the "
        "app started on it"
    )
    rd_name = app.fixture.destination_for(pvc)["metadata"]["name"]
    volume = restored_volume(kube, app, pvc)
    source, restored = restore_behind(drill, app, pvc)
    events = kube.events_for(app.namespace, pvc)
    if source is None:
        finished = any(e.get("reason") == POPULATOR_DONE for e in events)
        return (
            f"{head}: layer rebind: PV {dig(volume, 'metadata', 'name')} bound to the PVC has "
            f"no {snapshots.POPULATED_FROM} annotation, so the populator did not fill it "
            f"(populator {'reported finished' if finished else 'never reported finished'})"
        )
    if restored is None:
        logs = volsync.mover_logs(kube, k8s.REPLICATION_DESTINATION, rd_name, app.namespace)
        said = " (its mover said: No eligible snapshots found)" if "No eligible" in logs else ""
        return (
            f"{head}: layer ReplicationDestination restore: the PVC was populated from "
            f"{source}, made by a restore of {rd_name} that restored nothing{said}: its "
            "repository path held no eligible backup (wrong or empty path, or restoreAsOf/"
            "previous beyond what retain kept): VolSync's silent empty-restore trap"
        )
    failed = [e for e in events if e.get("reason") in POPULATOR_FAILED]
    if failed:
        return (
            f"{head}: layer populator (prime PVC): {failed[-1].get('reason')}: "
            f"{failed[-1].get('message')}"
        )
    return (
        f"{head}: every layer reports success (the PV was populated from {source}, whose "
        f"restore restored snapshot {restored}): that snapshot's content is empty"
    )

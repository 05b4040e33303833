"""ReplicationDestination (restic mover): restore a restic snapshot into a PVC.

Copies VolSync's ``replicationdestination_controller.go`` (state machine, ``latestImage``),
``mover/restic/mover.go`` (destination PVC ``spec.restic.destinationPVC`` or a new
``volsync-<rd>-dest`` from capacity/accessModes/storageClassName, cache PVC, restore Job
with ``RESTORE_AS_OF``/``SELECT_PREVIOUS``, snapshot annotation removed at cleanup) and
``volumehandler.EnsureImage`` (copyMethod Snapshot: a VolumeSnapshot ``<pvc>-<timestamp>``
named through the PVC annotation ``volsync.backube/snapname``, reported once bound to its
content; Direct: the PVC itself). An empty repository restores nothing and the sync still
completes, exactly as the real mover does: the drills must catch that with a data check.
"""

from __future__ import annotations

from restore_drill.clusters.sim.controllers import volsync_machine as machine
from restore_drill.clusters.sim.controllers import volsync_objects as objects
from restore_drill.clusters.sim.controllers.replication import ReplicationController, Step
from restore_drill.clusters.sim.controllers.volsync_objects import Obj, SyncError
from restore_drill.k8s import JOB, PVC, REPLICATION_DESTINATION, SECRET, VOLUME_SNAPSHOT

SNAPSHOT_GROUP = "snapshot.storage.k8s.io"


def destination_pvc_name(owner: Obj) -> tuple[bool, str]:
    """(provided by the user?, name) as VolSync's getDestinationPVCName decides."""
    provided = owner["spec"]["restic"].get("destinationPVC")
    if provided:
        return True, str(provided)
    return False, f"{objects.PREFIX}{owner['metadata']['name']}-dest"


def restore_env(restic: Obj) -> dict[str, str]:
    env = {
        "FORGET_OPTIONS": objects.forget_options(restic.get("retain")),
        "DATA_DIR": objects.DATA_MOUNT,
        "RESTIC_CACHE_DIR": objects.CACHE_MOUNT,
        "RESTORE_AS_OF": str(restic.get("restoreAsOf") or ""),
        "SELECT_PREVIOUS": str(int(restic.get("previous") or 0)),
    }
    if restic.get("enableFileDeletion"):
        env["RESTORE_OPTIONS"] = "--delete"
    return env


class ReplicationDestinationController(ReplicationController):
    owner_kind = REPLICATION_DESTINATION
    direction = "dst"
    watches = (REPLICATION_DESTINATION, JOB, PVC, VOLUME_SNAPSHOT, SECRET)

    def synchronize(self, owner: Obj, status: Obj) -> Step:
        restic = owner["spec"]["restic"]
        destination = self.destination_pvc(owner)
        cache = self.ensure(owner, objects.cache_pvc(owner, "dst", restic, destination), "", "")
        secret = self.repository_secret(owner)
        job = objects.mover_job(
            owner,
            "dst",
            ["restore"],
            data_pvc=destination["metadata"]["name"],
            cache_pvc_name=cache["metadata"]["name"],
            secret=secret,
            env=restore_env(restic),
            privileged=False,
        )
        step = self.run_mover(owner, status, job)
        if not step.done:
            return step
        image, wait = self.ensure_image(owner, destination)
        if image is None:
            return Step(requeue=wait)
        self.replace_image(owner, status, image)
        return Step(done=True)

    def destination_pvc(self, owner: Obj) -> Obj:
        restic = owner["spec"]["restic"]
        provided, name = destination_pvc_name(owner)
        namespace = owner["metadata"]["namespace"]
        if provided:
            found = self.kube.find(PVC, name, namespace)
            if found is None:
                raise SyncError(f'PersistentVolumeClaim "{name}" not found')
            return found
        if not restic.get("accessModes"):
            raise SyncError("accessModes must be provided when destinationPVC is not")
        if not restic.get("capacity"):
            raise SyncError("capacity must be provided when destinationPVC is not")
        temporary = bool(restic.get("cleanupTempPVC")) and restic.get("copyMethod") == "Snapshot"
        manifest = objects.pvc_manifest(
            owner,
            name,
            capacity=str(restic["capacity"]),
            access_modes=list(restic["accessModes"]),
            storage_class=restic.get("storageClassName"),
            temporary=temporary,
        )
        return self.ensure(
            owner,
            manifest,
            "PersistentVolumeClaimCreated",
            f"created PersistentVolumeClaim/{name} to receive incoming data",
        )

    def ensure_image(self, owner: Obj, pvc: Obj) -> tuple[Obj | None, float | None]:
        """The image of the restored PVC (a bound VolumeSnapshot, or the PVC when Direct)."""
        method = owner["spec"]["restic"].get("copyMethod") or "Direct"
        name = pvc["metadata"]["name"]
        if method in ("Direct", "None"):
            return {"apiGroup": "", "kind": "PersistentVolumeClaim", "name": name}, None
        if method != "Snapshot":
            raise SyncError(
                f"unsupported copyMethod: {method} -- must be Direct, None, or Snapshot"
            )
        namespace = pvc["metadata"]["namespace"]
        annotations = pvc["metadata"].get("annotations") or {}
        snap_name = annotations.get(objects.SNAPNAME)
        if not snap_name:
            stamp = machine.utcnow().strftime("%Y%m%d%H%M%S")
            snap_name = f"{name}-{stamp}"
            patch = {"metadata": {"annotations": {objects.SNAPNAME: snap_name}}}
            self.kube.patch(PVC, name, patch, namespace)
        snapshot = self.ensure(
            owner,
            objects.snapshot_manifest(
                owner,
                snap_name,
                name,
                owner["spec"]["restic"].get("volumeSnapshotClassName"),
                temporary=False,
            ),
            "VolumeSnapshotCreated",
            f"created VolumeSnapshot/{snap_name} from PersistentVolumeClaim/{name}",
        )
        if snapshot["metadata"].get("deletionTimestamp"):
            return None, 1.0
        bound = bool((snapshot.get("status") or {}).get("boundVolumeSnapshotContentName"))
        if not bound:
            hint = "check VolumeSnapshotClass name and ensure CSI driver supports volume snapshots"
            return None, self.warn_if_unbound(owner, snapshot, bound, hint)
        return {"apiGroup": SNAPSHOT_GROUP, "kind": "VolumeSnapshot", "name": snap_name}, None

    def replace_image(self, owner: Obj, status: Obj, image: Obj) -> None:
        """Publish the new image; the old snapshot is cleaned up unless a population uses it."""
        old = status.get("latestImage") or {}
        status["latestImage"] = image
        if old.get("kind") != "VolumeSnapshot" or old.get("name") == image["name"]:
            return
        namespace = owner["metadata"]["namespace"]
        snapshot = self.kube.find(VOLUME_SNAPSHOT, old["name"], namespace)
        if snapshot is None:
            return
        labels = snapshot["metadata"].get("labels") or {}
        in_use = any(key.startswith(objects.VOLPOP_IN_USE) for key in labels)
        if objects.DO_NOT_DELETE in labels or in_use:
            # Keep it: drop our ownership so deleting the RD does not take it along.
            refs = [
                ref
                for ref in snapshot["metadata"].get("ownerReferences") or []
                if ref.get("uid") != owner["metadata"]["uid"]
            ]
            self.kube.patch(
                VOLUME_SNAPSHOT, old["name"], {"metadata": {"ownerReferences": refs}}, namespace
            )
            return
        patch = {"metadata": {"labels": {objects.CLEANUP: owner["metadata"]["uid"]}}}
        self.kube.patch(VOLUME_SNAPSHOT, old["name"], patch, namespace)

    def cleanup(self, owner: Obj, status: Obj) -> bool:
        _, name = destination_pvc_name(owner)
        namespace = owner["metadata"]["namespace"]
        pvc = self.kube.find(PVC, name, namespace)
        if pvc is not None and objects.SNAPNAME in (pvc["metadata"].get("annotations") or {}):
            # next sync takes a new snapshot rather than reusing this one
            patch = {"metadata": {"annotations": {objects.SNAPNAME: None}}}
            self.kube.patch(PVC, name, patch, namespace)
        return super().cleanup(owner, status)

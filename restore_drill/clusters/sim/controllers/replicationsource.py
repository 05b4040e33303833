"""ReplicationSource (restic mover): back a PVC up to a restic repository.

Copies VolSync's ``replicationsource_controller.go`` (state machine, triggers, status),
``mover/restic/mover.go`` (``Synchronize``: source PVC -> cache -> Secret -> Job; unlock
and prune bookkeeping in ``status.restic``) and ``volumehandler.EnsurePVCFromSrc``
(copyMethod Snapshot: VolumeSnapshot ``volsync-<rs>-src`` then a PVC of the same name from
it; Clone: a PVC with ``dataSource`` the source PVC; Direct: the live PVC).
"""

from __future__ import annotations

from datetime import timedelta

from restore_drill.clusters.sim.controllers import volsync_machine as machine
from restore_drill.clusters.sim.controllers import volsync_objects as objects
from restore_drill.clusters.sim.controllers.replication import ReplicationController, Step
from restore_drill.clusters.sim.controllers.volsync_objects import Obj, SyncError
from restore_drill.k8s import JOB, NAMESPACE, PVC, REPLICATION_SOURCE, SECRET, VOLUME_SNAPSHOT

DEFAULT_PRUNE_DAYS = 7


def should_prune(owner: Obj, status: Obj) -> bool:
    """VolSync's shouldPrune: every pruneIntervalDays (7), counted from creation at first."""
    days = owner["spec"]["restic"].get("pruneIntervalDays")
    interval = timedelta(days=int(DEFAULT_PRUNE_DAYS if days is None else days))
    last = machine.parse_timestamp((status.get("restic") or {}).get("lastPruned"))
    since = last or machine.parse_timestamp(owner["metadata"].get("creationTimestamp"))
    return since is not None and machine.utcnow() > since + interval


def should_unlock(owner: Obj, status: Obj) -> bool:
    unlock = owner["spec"]["restic"].get("unlock") or ""
    return bool(unlock) and (status.get("restic") or {}).get("lastUnlocked") != unlock


def mover_actions(owner: Obj, status: Obj) -> list[str]:
    actions = ["unlock", "backup"] if should_unlock(owner, status) else ["backup"]
    if should_prune(owner, status):
        actions.append("prune")
    return actions


class ReplicationSourceController(ReplicationController):
    owner_kind = REPLICATION_SOURCE
    direction = "src"
    watches = (REPLICATION_SOURCE, JOB, PVC, VOLUME_SNAPSHOT, SECRET)

    def synchronize(self, owner: Obj, status: Obj) -> Step:
        restic = owner["spec"]["restic"]
        data_pvc, wait = self.source_data_pvc(owner)
        if data_pvc is None:
            return Step(requeue=wait)
        cache = self.ensure(owner, objects.cache_pvc(owner, "src", restic, data_pvc), "", "")
        secret = self.repository_secret(owner)
        actions = mover_actions(owner, status)
        env = {
            "FORGET_OPTIONS": objects.forget_options(restic.get("retain")),
            "DATA_DIR": objects.DATA_MOUNT,
            "RESTIC_CACHE_DIR": objects.CACHE_MOUNT,
            "RESTORE_AS_OF": "",
            "SELECT_PREVIOUS": "0",
        }
        job = objects.mover_job(
            owner,
            "src",
            actions,
            data_pvc=data_pvc["metadata"]["name"],
            cache_pvc_name=cache["metadata"]["name"],
            secret=secret,
            env=env,
            privileged=self.privileged(owner),
        )
        step = self.run_mover(owner, status, job)
        if step.done:
            self.record_maintenance(owner, status)
        return step

    def record_maintenance(self, owner: Obj, status: Obj) -> None:
        restic_status = dict(status.get("restic") or {})
        unlock = owner["spec"]["restic"].get("unlock") or ""
        if should_unlock(owner, status):
            restic_status["lastUnlocked"] = unlock
        elif not unlock:
            restic_status.pop("lastUnlocked", None)
        if should_prune(owner, status):
            restic_status["lastPruned"] = machine.timestamp(machine.utcnow())
        status["restic"] = restic_status or None

    def privileged(self, owner: Obj) -> bool:
        namespace = self.kube.find(NAMESPACE, owner["metadata"]["namespace"])
        annotations = (namespace or {}).get("metadata", {}).get("annotations") or {}
        return annotations.get("volsync.backube/privileged-movers") == "true"

    def source_data_pvc(self, owner: Obj) -> tuple[Obj | None, float | None]:
        """The PVC the mover reads, per copyMethod; (None, requeue) while it is not ready."""
        spec = owner["spec"]
        restic = spec["restic"]
        namespace = owner["metadata"]["namespace"]
        source_name = str(spec.get("sourcePVC") or "")
        source = self.kube.find(PVC, source_name, namespace)
        if source is None:
            raise SyncError(f'PersistentVolumeClaim "{source_name}" not found')
        method = restic.get("copyMethod") or "Clone"
        if method in ("Direct", "None"):
            return source, None
        name = f"{objects.PREFIX}{owner['metadata']['name']}-src"
        capacity = str(restic.get("capacity") or objects.storage_request(source))
        modes = list(restic.get("accessModes") or source["spec"].get("accessModes") or [])
        storage_class = restic.get("storageClassName") or source["spec"].get("storageClassName")
        if method == "Clone":
            clone = objects.pvc_manifest(
                owner,
                name,
                capacity=capacity,
                access_modes=modes,
                storage_class=storage_class,
                temporary=True,
                data_source={"kind": "PersistentVolumeClaim", "name": source_name},
            )
            made = self.ensure(
                owner,
                clone,
                "PersistentVolumeClaimCreated",
                f"created PersistentVolumeClaim/{name} as a clone of "
                f"PersistentVolumeClaim/{source_name}",
            )
            return (None, 1.0) if made["metadata"].get("deletionTimestamp") else (made, None)
        if method != "Snapshot":
            raise SyncError(
                f"unsupported copyMethod: {method} -- must be Direct, None, Clone, or Snapshot"
            )
        snapshot = self.ensure(
            owner,
            objects.snapshot_manifest(
                owner, name, source_name, restic.get("volumeSnapshotClassName"), temporary=True
            ),
            "VolumeSnapshotCreated",
            f"created VolumeSnapshot/{name} from PersistentVolumeClaim/{source_name}",
        )
        if snapshot["metadata"].get("deletionTimestamp"):
            return None, 1.0
        snap_status = snapshot.get("status") or {}
        bound = bool(snap_status.get("boundVolumeSnapshotContentName"))
        if not bound or snap_status.get("readyToUse") is False:
            hint = "check VolumeSnapshotClass name and ensure CSI driver supports volume snapshots"
            return None, self.warn_if_unbound(owner, snapshot, bound, hint)
        from_snapshot = objects.pvc_manifest(
            owner,
            name,
            capacity=capacity,
            access_modes=modes,
            storage_class=storage_class,
            temporary=True,
            data_source={
                "apiGroup": "snapshot.storage.k8s.io",
                "kind": "VolumeSnapshot",
                "name": name,
            },
        )
        made = self.ensure(
            owner,
            from_snapshot,
            "PersistentVolumeClaimCreated",
            f"created PersistentVolumeClaim/{name} from VolumeSnapshot/{name}",
        )
        return (None, 1.0) if made["metadata"].get("deletionTimestamp") else (made, None)

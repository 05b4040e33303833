"""VolumeSnapshots: what external-snapshotter's snapshot-controller and the csi-snapshotter
sidecar (with the csi-hostpath driver) do, with a directory copy as the snapshot.

* A VolumeSnapshot with ``source.persistentVolumeClaimName`` gets its class resolved: the named
  class, or the one default class (``snapshot.storage.kubernetes.io/is-default-class: "true"``)
  of the source PV's CSI driver, which is then written into the spec. No class -> Warning event
  (``GetSnapshotClassFailed`` / ``SetDefaultSnapshotClassFailed``, the real reasons and
  messages), ``status.error`` set and ``readyToUse: false``; retried.
* Then a point-in-time copy of the PVC's volume is taken (``cp -a --reflink=auto``: symlinks,
  hard links, modes, owners, xattrs and times kept) into run_dir/snapshots/<content name>, a
  VolumeSnapshotContent ``snapcontent-<snapshot uid>`` records it (snapshotHandle, creationTime,
  restoreSize = the volume's capacity, as csi-hostpath reports) and the snapshot's status gets
  ``boundVolumeSnapshotContentName``, ``creationTime``, ``readyToUse: true``, ``restoreSize``.
  The copy is taken synchronously, so the snapshot is ready as soon as it is bound.
* Finalizers as the real controller sets them: ``volumesnapshot-as-source-protection`` and
  ``volumesnapshot-bound-protection`` on the snapshot, ``volumesnapshotcontent-bound-protection``
  on the content, ``pvc-as-source-protection`` on the PVC while the copy is taken.
* Deleting a snapshot whose content has ``deletionPolicy: Delete`` deletes the content and its
  copy; ``Retain`` keeps both. A snapshot that a Pending PVC is being provisioned from is kept
  until that PVC is bound (the as-source protection).
"""

from __future__ import annotations

import shutil
import time

from restore_drill.clusters.sim.controllers.base import Controller, Obj, now
from restore_drill.clusters.sim.controllers.storage import copy_tree, quantity
from restore_drill.errors import KubeError
from restore_drill.k8s import (
    PV,
    PVC,
    VOLUME_SNAPSHOT,
    VOLUME_SNAPSHOT_CLASS,
    VOLUME_SNAPSHOT_CONTENT,
    Kind,
)

PREFIX = "snapshot.storage.kubernetes.io/"
AS_SOURCE = PREFIX + "volumesnapshot-as-source-protection"
BOUND = PREFIX + "volumesnapshot-bound-protection"
CONTENT_BOUND = PREFIX + "volumesnapshotcontent-bound-protection"
PVC_AS_SOURCE = PREFIX + "pvc-as-source-protection"
DEFAULT_CLASS = PREFIX + "is-default-class"
COMPONENT = "snapshot-controller"


class ClassProblem(Exception):
    """No usable VolumeSnapshotClass: (reason, message) for the Warning event."""


def finalizers(obj: Obj) -> list[str]:
    return list(obj["metadata"].get("finalizers") or [])


class SnapshotController(Controller):
    watches = (VOLUME_SNAPSHOT, VOLUME_SNAPSHOT_CONTENT, VOLUME_SNAPSHOT_CLASS)

    def reconcile(self, kind: Kind, namespace: str | None, name: str) -> float | None:
        if kind == VOLUME_SNAPSHOT_CLASS:  # a class appeared or changed: retry waiting ones
            for waiting in self.kube.list(VOLUME_SNAPSHOT):
                if not (waiting.get("status") or {}).get("readyToUse"):
                    self.enqueue(VOLUME_SNAPSHOT, *_key(waiting))
            return None
        if kind == VOLUME_SNAPSHOT_CONTENT:
            return self.reconcile_content(name)
        snapshot = self.kube.find(VOLUME_SNAPSHOT, name, namespace)
        if snapshot is None:
            return None
        if snapshot["metadata"].get("deletionTimestamp"):
            return self.delete_snapshot(snapshot)
        status = snapshot.get("status") or {}
        if status.get("readyToUse") and status.get("boundVolumeSnapshotContentName"):
            return None
        return self.take(snapshot)

    # --- creating --------------------------------------------------------------------------

    def take(self, snapshot: Obj) -> float | None:
        meta, spec = snapshot["metadata"], snapshot.get("spec") or {}
        claim_name = (spec.get("source") or {}).get("persistentVolumeClaimName")
        if not claim_name:
            return None  # pre-provisioned snapshots (volumeSnapshotContentName): not simulated
        pvc = self.kube.find(PVC, claim_name, meta["namespace"])
        pv = (
            self.kube.find(PV, pvc["spec"]["volumeName"])
            if pvc and pvc["spec"].get("volumeName")
            else None
        )
        try:
            snapshot_class = self.snapshot_class(snapshot, pv)
        except ClassProblem as problem:
            reason, message = problem.args
            self.ctx.event(snapshot, "Warning", reason, message, COMPONENT)
            self.kube.patch(
                VOLUME_SNAPSHOT,
                meta["name"],
                {"status": {"readyToUse": False, "error": {"message": message, "time": now()}}},
                meta["namespace"],
                subresource="status",
            )
            return 5.0
        if pvc is None or pv is None or pvc.get("status", {}).get("phase") != "Bound":
            self.ctx.event(
                snapshot,
                "Warning",
                "SnapshotContentCreationFailed",
                f"Failed to create snapshot content with error the PVC {claim_name} "
                "is not yet bound to a PV, will not attempt to take a snapshot",
                COMPONENT,
            )
            return 1.0
        snapshot = self.kube.get(VOLUME_SNAPSHOT, meta["name"], meta["namespace"])  # spec changed
        self.add_finalizers(VOLUME_SNAPSHOT, snapshot, [AS_SOURCE, BOUND])
        self.add_finalizers(PVC, pvc, [PVC_AS_SOURCE])
        content_name = f"snapcontent-{meta['uid']}"
        if self.kube.find(VOLUME_SNAPSHOT_CONTENT, content_name) is None:
            copy_tree(
                self.ctx.volumes_dir / pv["metadata"]["name"], self.ctx.snapshots_dir / content_name
            )
            self.create_content(snapshot, snapshot_class, pv, content_name)
        restore_size = (pv["spec"].get("capacity") or {}).get("storage")
        self.kube.patch(
            VOLUME_SNAPSHOT,
            meta["name"],
            {
                "status": {
                    "boundVolumeSnapshotContentName": content_name,
                    "creationTime": now(),
                    "readyToUse": True,
                    "restoreSize": restore_size,
                    "error": None,
                }
            },
            meta["namespace"],
            subresource="status",
        )
        self.remove_finalizer(PVC, self.kube.get(PVC, claim_name, meta["namespace"]), PVC_AS_SOURCE)
        self.ctx.event(
            snapshot,
            "Normal",
            "SnapshotCreated",
            f"Snapshot {meta['namespace']}/{meta['name']} was successfully created "
            "by the CSI driver.",
            "csi-snapshotter hostpath.csi.k8s.io",
        )
        self.ctx.event(
            snapshot,
            "Normal",
            "SnapshotReady",
            f"Snapshot {meta['namespace']}/{meta['name']} is ready to use.",
            COMPONENT,
        )
        return None

    def snapshot_class(self, snapshot: Obj, pv: Obj | None) -> Obj:
        meta, spec = snapshot["metadata"], snapshot.get("spec") or {}
        name = spec.get("volumeSnapshotClassName")
        if name:
            found = self.kube.find(VOLUME_SNAPSHOT_CLASS, name)
            if found is None:
                raise ClassProblem(
                    "GetSnapshotClassFailed",
                    "Failed to get snapshot class with error "
                    f'volumesnapshotclass.snapshot.storage.k8s.io "{name}" not found',
                )
            return found
        if pv is None:
            raise ClassProblem(
                "SetDefaultSnapshotClassFailed",
                "Failed to set default snapshot class with error failed to "
                f"retrieve PV from the PVC {spec.get('source')}",
            )
        driver = (pv["spec"].get("csi") or {}).get("driver")
        defaults = [
            c
            for c in self.kube.list(VOLUME_SNAPSHOT_CLASS)
            if c.get("driver") == driver
            and (c["metadata"].get("annotations") or {}).get(DEFAULT_CLASS) == "true"
        ]
        if len(defaults) != 1:
            detail = (
                "cannot find default snapshot class"
                if not defaults
                else f"{len(defaults)} default snapshot classes were found"
            )
            raise ClassProblem(
                "SetDefaultSnapshotClassFailed",
                f"Failed to set default snapshot class with error {detail}",
            )
        self.kube.patch(
            VOLUME_SNAPSHOT,
            meta["name"],
            {"spec": {"volumeSnapshotClassName": defaults[0]["metadata"]["name"]}},
            meta["namespace"],
        )
        return defaults[0]

    def create_content(self, snapshot: Obj, snapshot_class: Obj, pv: Obj, name: str) -> None:
        meta = snapshot["metadata"]
        self.kube.create(
            {
                "apiVersion": "snapshot.storage.k8s.io/v1",
                "kind": "VolumeSnapshotContent",
                "metadata": {"name": name, "finalizers": [CONTENT_BOUND]},
                "spec": {
                    "deletionPolicy": snapshot_class.get("deletionPolicy") or "Delete",
                    "driver": snapshot_class.get("driver"),
                    "source": {"volumeHandle": (pv["spec"].get("csi") or {}).get("volumeHandle")},
                    "volumeSnapshotClassName": snapshot_class["metadata"]["name"],
                    "volumeSnapshotRef": {
                        "apiVersion": "snapshot.storage.k8s.io/v1",
                        "kind": "VolumeSnapshot",
                        "name": meta["name"],
                        "namespace": meta["namespace"],
                        "uid": meta["uid"],
                    },
                },
            }
        )
        size = (pv["spec"].get("capacity") or {}).get("storage")
        self.kube.patch(
            VOLUME_SNAPSHOT_CONTENT,
            name,
            {
                "status": {
                    "snapshotHandle": name,
                    "creationTime": time.time_ns(),
                    "readyToUse": True,
                    "restoreSize": quantity(size),
                }
            },
            subresource="status",
        )

    # --- deleting ------------------------------------------------------------------------------

    def delete_snapshot(self, snapshot: Obj) -> float | None:
        meta = snapshot["metadata"]
        if self.used_as_source(snapshot):
            return None  # the provisioner's binding re-enqueues nothing here: poll gently
        content_name = (snapshot.get("status") or {}).get("boundVolumeSnapshotContentName")
        content = self.kube.find(VOLUME_SNAPSHOT_CONTENT, content_name) if content_name else None
        if content is not None and content["spec"].get("deletionPolicy") == "Delete":
            self.kube.delete(VOLUME_SNAPSHOT_CONTENT, content_name or "")
        current: Obj | None = snapshot
        for finalizer in (AS_SOURCE, BOUND):
            if current is not None:
                current = self.remove_finalizer(VOLUME_SNAPSHOT, current, finalizer)
        self.log.info("snapshot %s/%s deleted", meta["namespace"], meta["name"])
        return None

    def used_as_source(self, snapshot: Obj) -> bool:
        meta = snapshot["metadata"]
        for pvc in self.kube.list(PVC, meta["namespace"]):
            spec = pvc.get("spec") or {}
            source = spec.get("dataSourceRef") or spec.get("dataSource") or {}
            if (
                source.get("kind") == "VolumeSnapshot"
                and source.get("name") == meta["name"]
                and not spec.get("volumeName")
            ):
                self.enqueue(VOLUME_SNAPSHOT, meta["namespace"], meta["name"], after=1.0)
                return True
        return False

    def reconcile_content(self, name: str) -> float | None:
        content = self.kube.find(VOLUME_SNAPSHOT_CONTENT, name)
        if content is None:
            shutil.rmtree(self.ctx.snapshots_dir / name, ignore_errors=True)
            return None
        ref = content["spec"].get("volumeSnapshotRef") or {}
        snapshot = self.kube.find(VOLUME_SNAPSHOT, ref.get("name", ""), ref.get("namespace"))
        gone = snapshot is None or snapshot["metadata"]["uid"] != ref.get("uid")
        if content["metadata"].get("deletionTimestamp"):
            handle = (content.get("status") or {}).get("snapshotHandle") or name
            shutil.rmtree(self.ctx.snapshots_dir / str(handle), ignore_errors=True)
            self.remove_finalizer(VOLUME_SNAPSHOT_CONTENT, content, CONTENT_BOUND)
        elif gone and content["spec"].get("deletionPolicy") == "Delete":
            self.kube.delete(VOLUME_SNAPSHOT_CONTENT, name)
        elif gone:
            self.remove_finalizer(VOLUME_SNAPSHOT_CONTENT, content, CONTENT_BOUND)  # Retain
        return None

    # --- finalizers ----------------------------------------------------------------------------

    def add_finalizers(self, kind: Kind, obj: Obj, wanted: list[str]) -> None:
        missing = [f for f in wanted if f not in finalizers(obj)]
        if missing and not obj["metadata"].get("deletionTimestamp"):
            self.kube.patch(
                kind,
                obj["metadata"]["name"],
                {
                    "metadata": {
                        "finalizers": finalizers(obj) + missing,
                        "resourceVersion": obj["metadata"]["resourceVersion"],
                    }
                },
                obj["metadata"].get("namespace"),
            )

    def remove_finalizer(self, kind: Kind, obj: Obj, finalizer: str) -> Obj | None:
        present = finalizers(obj)
        if finalizer not in present:
            return obj
        index = present.index(finalizer)
        try:
            return self.kube.patch(
                kind,
                obj["metadata"]["name"],
                [
                    {"op": "test", "path": f"/metadata/finalizers/{index}", "value": finalizer},
                    {"op": "remove", "path": f"/metadata/finalizers/{index}"},
                ],
                obj["metadata"].get("namespace"),
                content_type="application/json-patch+json",
            )
        except KubeError as error:
            if error.status == 404:
                return None
            raise


def _key(obj: Obj) -> tuple[str | None, str]:
    return obj["metadata"].get("namespace"), str(obj["metadata"]["name"])

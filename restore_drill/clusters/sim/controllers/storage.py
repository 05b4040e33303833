"""Dynamic provisioning for ``hostpath.csi.k8s.io``: what the PV controller, the CSI
external-provisioner and the csi-hostpath driver do together, with one directory per volume.

* A Pending PVC of a class whose provisioner is ``hostpath.csi.k8s.io`` gets a PV named
  ``pvc-<pvc uid>`` backed by run_dir/volumes/<pv name>; the PV's ``claimRef`` names the PVC,
  the PVC gets ``spec.volumeName`` and both become Bound.
* ``volumeBindingMode: WaitForFirstConsumer``: nothing happens until the scheduler (the
  sim's PodController) writes ``volume.kubernetes.io/selected-node`` on the PVC.
* ``dataSource``/``dataSourceRef`` of kind VolumeSnapshot: waits until the snapshot is
  readyToUse, then the volume starts as a copy of the snapshot's content; kind
  PersistentVolumeClaim: a copy of that PVC's volume (a CSI clone). Any other kind from a
  non-core group belongs to a volume populator and is left alone, as the real
  external-provisioner does.
* Reclaim: when the claim of a PV is gone the PV becomes Released; with reclaim policy Delete
  its directory is removed and the PV is deleted (pv-protection then lets it go).
* Capacity is recorded in the PV and the PVC status, not enforced: a directory has no quota
  (the csi-hostpath driver does not enforce one for filesystem volumes either). Restoring a
  snapshot larger than the request fails as the real provisioner does.
"""

from __future__ import annotations

import shutil
import subprocess
import uuid
from pathlib import Path

from restore_drill.clusters.sim.controllers.base import Controller, Obj
from restore_drill.errors import KubeError
from restore_drill.k8s import PV, PVC, STORAGE_CLASS, VOLUME_SNAPSHOT, VOLUME_SNAPSHOT_CONTENT, Kind

DRIVER = "hostpath.csi.k8s.io"
NODE = "sim-node"
SELECTED_NODE = "volume.kubernetes.io/selected-node"
SNAPSHOT_GROUP = "snapshot.storage.k8s.io"
PV_CONTROLLER = "persistentvolume-controller"
PROVISIONER = f"{DRIVER}_csi-hostpathplugin-0_sim"  # external-provisioner's identity form
UNITS = {
    "Ki": 2**10,
    "Mi": 2**20,
    "Gi": 2**30,
    "Ti": 2**40,
    "k": 10**3,
    "M": 10**6,
    "G": 10**9,
    "T": 10**12,
}


def quantity(text: str | int | None) -> int:
    """Bytes in a Kubernetes quantity ("1Gi" -> 1073741824)."""
    text = str(text or "0")
    for suffix, factor in UNITS.items():
        if text.endswith(suffix):
            return int(float(text[: -len(suffix)]) * factor)
    return int(float(text))


def copy_tree(source: Path, target: Path) -> None:
    """Copy a volume keeping symlinks, hard links, modes, owners, xattrs and timestamps.

    Copies into a temporary sibling and renames it, so nobody ever sees half a copy.
    """
    partial = target.with_name(target.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    subprocess.run(
        ["cp", "-a", "--reflink=auto", f"{source}/.", str(partial)], check=True, capture_output=True
    )
    shutil.rmtree(target, ignore_errors=True)
    partial.rename(target)


def tree_size(root: Path) -> int:
    """Bytes used by the regular files under ``root`` (hard links counted once)."""
    seen: set[tuple[int, int]] = set()
    total = 0
    for path in root.rglob("*"):
        stat = path.lstat()
        if path.is_file() and not path.is_symlink() and (stat.st_dev, stat.st_ino) not in seen:
            seen.add((stat.st_dev, stat.st_ino))
            total += stat.st_size
    return total


def volume_dir(volumes_dir: Path, pv: Obj) -> Path:
    return volumes_dir / str(pv["metadata"]["name"])


def data_source(pvc: Obj) -> Obj | None:
    spec = pvc.get("spec") or {}
    return spec.get("dataSourceRef") or spec.get("dataSource") or None


def is_populated_elsewhere(pvc: Obj) -> bool:
    """A dataSourceRef to a populator (neither core nor snapshot): not the provisioner's job."""
    source = data_source(pvc)
    return bool(source) and (source or {}).get("apiGroup") not in (None, "", SNAPSHOT_GROUP)


class ProvisionerController(Controller):
    """PVC -> PV binding and provisioning, and reclaiming (see the module docstring)."""

    watches = (PVC, PV, VOLUME_SNAPSHOT)

    def reconcile(self, kind: Kind, namespace: str | None, name: str) -> float | None:
        if kind == PV:
            return self.reconcile_volume(name)
        if kind == VOLUME_SNAPSHOT and namespace:
            for pvc in self.kube.list(PVC, namespace):
                source = data_source(pvc) or {}
                if source.get("kind") == "VolumeSnapshot" and source.get("name") == name:
                    self.enqueue(PVC, namespace, pvc["metadata"]["name"])
            return None
        if kind != PVC or not namespace:
            return None
        found = self.kube.find(PVC, name, namespace)
        if found is None:
            for pv in self.kube.list(PV):
                ref = pv["spec"].get("claimRef") or {}
                if ref.get("namespace") == namespace and ref.get("name") == name:
                    self.enqueue(PV, None, pv["metadata"]["name"])
            return None
        pvc = found
        if pvc["metadata"].get("deletionTimestamp"):
            return None
        if pvc["spec"].get("volumeName"):
            return self.complete_binding(pvc)
        return self.provision(pvc)

    # --- PVC side ------------------------------------------------------------------------

    def provision(self, pvc: Obj) -> float | None:
        if is_populated_elsewhere(pvc):
            return None
        meta, spec = pvc["metadata"], pvc["spec"]
        class_name = spec.get("storageClassName")
        sc = self.kube.find(STORAGE_CLASS, class_name) if class_name else None
        if sc is None:
            if class_name:
                self.ctx.event(
                    pvc,
                    "Warning",
                    "ProvisioningFailed",
                    f'storageclass.storage.k8s.io "{class_name}" not found',
                    PV_CONTROLLER,
                )
            return None
        if sc.get("provisioner") != DRIVER:
            return None
        waits = sc.get("volumeBindingMode") == "WaitForFirstConsumer"
        if waits and SELECTED_NODE not in (meta.get("annotations") or {}):
            self.ctx.event(
                pvc,
                "Normal",
                "WaitForFirstConsumer",
                "waiting for first consumer to be created before binding",
                PV_CONTROLLER,
            )
            return None
        self.ctx.event(
            pvc,
            "Normal",
            "Provisioning",
            f"External provisioner is provisioning volume for claim "
            f'"{meta["namespace"]}/{meta["name"]}"',
            PROVISIONER,
        )
        pv_name = f"pvc-{meta['uid']}"
        target = self.ctx.volumes_dir / pv_name
        if self.kube.find(PV, pv_name) is None:
            if not self.fill(pvc, target):
                return 2.0  # the source is not ready yet: try again
            self.kube.create(self.volume_for(pvc, sc, pv_name))
        self.kube.patch(
            PVC,
            meta["name"],
            {
                "metadata": {
                    "annotations": {
                        "pv.kubernetes.io/bind-completed": "yes",
                        "pv.kubernetes.io/bound-by-controller": "yes",
                        "volume.kubernetes.io/storage-provisioner": DRIVER,
                        "volume.beta.kubernetes.io/storage-provisioner": DRIVER,
                    }
                },
                "spec": {"volumeName": pv_name},
            },
            meta["namespace"],
        )
        self.ctx.event(
            pvc,
            "Normal",
            "ProvisioningSucceeded",
            f"Successfully provisioned volume {pv_name}",
            PROVISIONER,
        )
        return self.complete_binding(self.kube.get(PVC, meta["name"], meta["namespace"]))

    def fill(self, pvc: Obj, target: Path) -> bool:
        """Create the volume's directory, from its data source when it has one."""
        source = data_source(pvc)
        namespace = pvc["metadata"]["namespace"]
        if not source:
            target.mkdir(parents=True, exist_ok=True)
            return True
        if source.get("kind") == "PersistentVolumeClaim":
            origin = self.kube.find(PVC, source["name"], namespace)
            if origin is None or not origin["spec"].get("volumeName"):
                self.ctx.event(
                    pvc,
                    "Warning",
                    "ProvisioningFailed",
                    f"error getting handle for DataSource Type PersistentVolumeClaim "
                    f"by Name {source['name']}: claim not bound",
                    PROVISIONER,
                )
                return False
            copy_tree(self.ctx.volumes_dir / origin["spec"]["volumeName"], target)
            return True
        if source.get("kind") == "VolumeSnapshot":
            snapshot = self.kube.find(VOLUME_SNAPSHOT, source["name"], namespace)
            status = (snapshot or {}).get("status") or {}
            content_name = status.get("boundVolumeSnapshotContentName")
            if snapshot is None or not status.get("readyToUse") or not content_name:
                self.ctx.event(
                    pvc,
                    "Warning",
                    "ProvisioningFailed",
                    f"error getting handle for DataSource Type VolumeSnapshot by Name "
                    f"{source['name']}: snapshot {source['name']} is not Ready",
                    PROVISIONER,
                )
                return False
            wanted = quantity(pvc["spec"].get("resources", {}).get("requests", {}).get("storage"))
            size = quantity(status.get("restoreSize"))
            if size > wanted:
                self.ctx.event(
                    pvc,
                    "Warning",
                    "ProvisioningFailed",
                    f"requested volume size {wanted} is less than the size {size} "
                    f"for the source snapshot {source['name']}",
                    PROVISIONER,
                )
                return False
            content = self.kube.find(VOLUME_SNAPSHOT_CONTENT, content_name)
            handle = ((content or {}).get("status") or {}).get("snapshotHandle") or content_name
            copy_tree(self.ctx.snapshots_dir / str(handle), target)
            return True
        target.mkdir(parents=True, exist_ok=True)  # core kinds the sim does not know: empty
        return True

    def volume_for(self, pvc: Obj, sc: Obj, pv_name: str) -> Obj:
        meta, spec = pvc["metadata"], pvc["spec"]
        storage = spec.get("resources", {}).get("requests", {}).get("storage", "1Gi")
        return {
            "apiVersion": "v1",
            "kind": "PersistentVolume",
            "metadata": {
                "name": pv_name,
                "annotations": {"pv.kubernetes.io/provisioned-by": DRIVER},
            },
            "spec": {
                "capacity": {"storage": storage},
                "accessModes": spec.get("accessModes") or ["ReadWriteOnce"],
                "persistentVolumeReclaimPolicy": sc.get("reclaimPolicy") or "Delete",
                "storageClassName": sc["metadata"]["name"],
                "volumeMode": spec.get("volumeMode") or "Filesystem",
                "claimRef": {
                    "apiVersion": "v1",
                    "kind": "PersistentVolumeClaim",
                    "namespace": meta["namespace"],
                    "name": meta["name"],
                    "uid": meta["uid"],
                    "resourceVersion": meta.get("resourceVersion"),
                },
                "csi": {
                    "driver": DRIVER,
                    "fsType": "ext4",
                    "volumeHandle": str(uuid.uuid5(uuid.NAMESPACE_URL, pv_name)),
                    "volumeAttributes": {"kind": "directory"},
                },
                "nodeAffinity": {
                    "required": {
                        "nodeSelectorTerms": [
                            {
                                "matchExpressions": [
                                    {
                                        "key": "topology.hostpath.csi/node",
                                        "operator": "In",
                                        "values": [NODE],
                                    }
                                ]
                            }
                        ]
                    }
                },
            },
        }

    def complete_binding(self, pvc: Obj) -> float | None:
        """The PV controller's half: PV and PVC both Bound once they point at each other."""
        pv = self.kube.find(PV, pvc["spec"]["volumeName"])
        if pv is None:
            if pvc.get("status", {}).get("phase") == "Bound":
                self.kube.patch(
                    PVC,
                    pvc["metadata"]["name"],
                    {"status": {"phase": "Lost"}},
                    pvc["metadata"]["namespace"],
                    subresource="status",
                )
            return None
        ref = pv["spec"].get("claimRef") or {}
        if ref.get("uid") and ref["uid"] != pvc["metadata"]["uid"]:
            return None
        if not ref.get("uid"):  # static binding: the PV controller fills in the claimRef
            meta = pvc["metadata"]
            pv = self.kube.patch(
                PV,
                pv["metadata"]["name"],
                {
                    "spec": {
                        "claimRef": {
                            "apiVersion": "v1",
                            "kind": "PersistentVolumeClaim",
                            "namespace": meta["namespace"],
                            "name": meta["name"],
                            "uid": meta["uid"],
                        }
                    }
                },
            )
        if (pv.get("status") or {}).get("phase") != "Bound":
            self.kube.patch(
                PV, pv["metadata"]["name"], {"status": {"phase": "Bound"}}, subresource="status"
            )
        status = pvc.get("status") or {}
        wanted = {
            "phase": "Bound",
            "accessModes": pv["spec"].get("accessModes"),
            "capacity": pv["spec"].get("capacity"),
        }
        if any(status.get(k) != v for k, v in wanted.items()):
            self.kube.patch(
                PVC,
                pvc["metadata"]["name"],
                {"status": wanted},
                pvc["metadata"]["namespace"],
                subresource="status",
            )
        return None

    # --- PV side -------------------------------------------------------------------------

    def reconcile_volume(self, name: str) -> float | None:
        pv = self.kube.find(PV, name)
        if pv is None:
            shutil.rmtree(self.ctx.volumes_dir / name, ignore_errors=True)
            return None
        ref = pv["spec"].get("claimRef") or {}
        if not ref.get("name"):
            return None
        claim = self.kube.find(PVC, ref["name"], ref.get("namespace"))
        if claim is not None and (not ref.get("uid") or claim["metadata"]["uid"] == ref["uid"]):
            if claim["spec"].get("volumeName") == name and not pv["metadata"].get(
                "deletionTimestamp"
            ):
                self.enqueue(PVC, ref.get("namespace"), ref["name"])
            return None
        # The claim is gone: read the PV again, since a populator may have just rebound it.
        fresh = self.kube.find(PV, name)
        if fresh is None or (fresh["spec"].get("claimRef") or {}).get("uid") != ref.get("uid"):
            return None
        if (fresh.get("status") or {}).get("phase") != "Released":
            self.kube.patch(PV, name, {"status": {"phase": "Released"}}, subresource="status")
        if fresh["spec"].get("persistentVolumeReclaimPolicy") == "Delete" and (
            (fresh["spec"].get("csi") or {}).get("driver") == DRIVER
        ):
            shutil.rmtree(volume_dir(self.ctx.volumes_dir, fresh), ignore_errors=True)
            try:
                self.kube.delete(PV, name)
            except KubeError:
                return 1.0
        return None


__all__ = ["ProvisionerController", "copy_tree", "quantity", "tree_size"]

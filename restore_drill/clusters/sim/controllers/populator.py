"""VolSync's Volume Populator: fill a PVC whose ``dataSourceRef`` is a ReplicationDestination.

Copies ``volumepopulator/volumepopulator_controller.go`` (itself adapted from Kubernetes'
lib-volume-populator): for an unbound PVC with ``dataSourceRef {apiGroup: volsync.backube,
kind: ReplicationDestination, name}`` it checks the StorageClass (WaitForFirstConsumer ->
wait for the ``volume.kubernetes.io/selected-node`` annotation), reads the RD's
``status.latestImage``, labels that VolumeSnapshot ``volsync.backube/volpop-pvc-<pvc uid>``,
creates the temporary PVC ``vs-prime-<pvc uid>`` from it (label
``volsync.backube/populator-pvc-for``, owned by the user's PVC), and once the prime PVC is
bound rebinds its PV to the user's PVC (claimRef + annotation
``volsync.backube/populated-from``), then deletes the prime PVC. Events and their reasons
are VolSync's. Where Kubernetes' PV controller would complete the rebind (user PVC Bound,
prime PVC Lost), the sim does that step here, since the sim has no PV binder for it.
"""

from __future__ import annotations

from restore_drill.clusters.sim.controllers import volsync_objects as objects
from restore_drill.clusters.sim.controllers.base import Controller
from restore_drill.clusters.sim.controllers.volsync_objects import Obj
from restore_drill.errors import NotFound
from restore_drill.k8s import (
    PV,
    PVC,
    REPLICATION_DESTINATION,
    STORAGE_CLASS,
    VOLUME_SNAPSHOT,
    Kind,
)

GROUP = "volsync.backube"
PRIME_PREFIX = "vs-prime-"
SELECTED_NODE = "volume.kubernetes.io/selected-node"
POPULATED_FROM = "volsync.backube/populated-from"
PRIME_FOR = "volsync.backube/populator-pvc-for"
SNAPSHOT_GROUP = "snapshot.storage.k8s.io"


def wants_population(pvc: Obj) -> bool:
    """VolSync's pvcHasReplicationDestinationDataSourceRef."""
    ref = pvc.get("spec", {}).get("dataSourceRef") or {}
    return (
        ref.get("apiGroup") == GROUP
        and ref.get("kind") == "ReplicationDestination"
        and bool(ref.get("name"))
    )


def prime_name(pvc: Obj) -> str:
    return f"{PRIME_PREFIX}{pvc['metadata']['uid']}"


def in_use_label(pvc: Obj) -> str:
    return f"{objects.VOLPOP_IN_USE}{pvc['metadata']['uid']}"


class VolumePopulatorController(Controller):
    watches = (PVC, REPLICATION_DESTINATION, STORAGE_CLASS)

    def reconcile(self, kind: Kind, namespace: str | None, name: str) -> float | None:
        if kind == REPLICATION_DESTINATION and namespace:
            for pvc in self.kube.list(PVC, namespace):
                if (
                    wants_population(pvc)
                    and not pvc["spec"].get("volumeName")
                    and pvc["spec"]["dataSourceRef"]["name"] == name
                ):
                    self.enqueue(PVC, namespace, pvc["metadata"]["name"])
            return None
        if kind == STORAGE_CLASS:
            for pvc in self.kube.list(PVC):
                if wants_population(pvc) and pvc["spec"].get("storageClassName") == name:
                    self.enqueue(PVC, pvc["metadata"]["namespace"], pvc["metadata"]["name"])
            return None
        if kind != PVC or not namespace:
            return None
        found = self.kube.find(PVC, name, namespace)
        if found is None:
            self.collect_orphan_primes(namespace)
            return None
        pvc = found
        owner = (pvc["metadata"].get("labels") or {}).get(PRIME_FOR)
        if owner:  # a prime PVC changed: its user PVC may progress
            self.enqueue(PVC, namespace, owner)
            return None
        if not wants_population(pvc) or pvc["metadata"].get("deletionTimestamp"):
            return None
        return self.reconcile_pvc(pvc)

    def reconcile_pvc(self, pvc: Obj) -> float | None:
        namespace = pvc["metadata"]["namespace"]
        ensure_pending(self, pvc)
        node = self.selected_node(pvc)
        if node is None:
            return None
        prime = self.kube.find(PVC, prime_name(pvc), namespace)
        if not pvc["spec"].get("volumeName"):
            if prime is None:
                prime = self.create_prime(pvc, node or None)
                if prime is None:
                    return None
            self.own_snapshots(pvc, prime)
            if not self.rebind(pvc, prime):
                return None
        if prime is None or prime["metadata"].get("deletionTimestamp"):
            return None  # already populated; the prime PVC is gone or going
        self.ctx.event(pvc, "Normal", "VolSyncPopulatorFinished", "Populator finished")
        self.cleanup(pvc, prime)
        return None

    def selected_node(self, pvc: Obj) -> str | None:
        """'' (Immediate), the selected node (WaitForFirstConsumer), or None to wait."""
        class_name = pvc["spec"].get("storageClassName")
        if not class_name:
            return ""
        storage_class = self.kube.find(STORAGE_CLASS, class_name)
        if storage_class is None:
            return None  # the StorageClass watch brings us back
        if storage_class.get("volumeBindingMode") != "WaitForFirstConsumer":
            return ""
        node = (pvc["metadata"].get("annotations") or {}).get(SELECTED_NODE, "")
        return str(node) or None

    def create_prime(self, pvc: Obj, node: str | None) -> Obj | None:
        namespace = pvc["metadata"]["namespace"]
        rd_name = pvc["spec"]["dataSourceRef"]["name"]
        rd = self.kube.find(REPLICATION_DESTINATION, rd_name, namespace)
        if rd is None:
            self.ctx.event(
                pvc,
                "Warning",
                "VolSyncPopulatorReplicationDestinationMissing",
                f"Unable to populate volume: replicationdestinations.volsync.backube "
                f'"{rd_name}" not found',
            )
            return None
        image = (rd.get("status") or {}).get("latestImage")
        if not image:
            self.ctx.event(
                pvc,
                "Warning",
                "VolSyncPopulatorReplicationDestinationNoLatestImage",
                "Unable to populate volume, waiting for replicationdestination to have latestImage",
            )
            return None
        if image.get("kind") != "VolumeSnapshot" or image.get("apiGroup") != SNAPSHOT_GROUP:
            self.ctx.event(
                pvc,
                "Warning",
                "VolSyncPopulatorError",
                "Unable to populate volume: ReplicationDestination latestImage is not a "
                "volumesnapshot",
            )
            return None
        snapshot = self.kube.find(VOLUME_SNAPSHOT, image["name"], namespace)
        if snapshot is None:
            raise NotFound(f'VolumeSnapshot "{image["name"]}" not found', status=404)
        self.kube.patch(
            VOLUME_SNAPSHOT,
            image["name"],
            {"metadata": {"labels": {in_use_label(pvc): pvc["metadata"]["name"]}}},
            namespace,
        )
        spec = pvc["spec"]
        prime_spec: Obj = {
            "accessModes": spec.get("accessModes") or ["ReadWriteOnce"],
            "resources": spec.get("resources") or {},
            "volumeMode": spec.get("volumeMode") or "Filesystem",
            "dataSourceRef": {
                "apiGroup": "snapshot.storage.k8s.io",
                "kind": "VolumeSnapshot",
                "name": image["name"],
            },
        }
        if spec.get("storageClassName"):
            prime_spec["storageClassName"] = spec["storageClassName"]
        metadata: Obj = {
            "name": prime_name(pvc),
            "namespace": namespace,
            "labels": {PRIME_FOR: pvc["metadata"]["name"], objects.CREATED_BY: "volsync"},
            "ownerReferences": [objects.owner_reference(pvc)],
        }
        if node:
            metadata["annotations"] = {SELECTED_NODE: node}
        prime = self.kube.create(
            {
                "apiVersion": "v1",
                "kind": "PersistentVolumeClaim",
                "metadata": metadata,
                "spec": prime_spec,
            }
        )
        self.ctx.event(
            pvc,
            "Normal",
            "VolSyncPopulatorPVCCreated",
            f"Populator pvc created from snapshot {image['name']}",
        )
        return prime

    def own_snapshots(self, pvc: Obj, prime: Obj) -> None:
        """Snapshots this population uses get the prime PVC as owner (for later GC)."""
        namespace = pvc["metadata"]["namespace"]
        for snapshot in self.kube.list(
            VOLUME_SNAPSHOT, namespace, label_selector=in_use_label(pvc)
        ):
            labels = snapshot["metadata"].get("labels") or {}
            if objects.DO_NOT_DELETE in labels or objects.is_owned_by(
                snapshot, prime["metadata"]["uid"]
            ):
                continue
            ref = {**objects.owner_reference(prime), "controller": False}
            refs = [*(snapshot["metadata"].get("ownerReferences") or []), ref]
            self.kube.patch(
                VOLUME_SNAPSHOT,
                snapshot["metadata"]["name"],
                {"metadata": {"ownerReferences": refs}},
                namespace,
            )

    def rebind(self, pvc: Obj, prime: Obj) -> bool:
        """Move the prime PVC's PV to the user's PVC; True once the user's PVC is Bound."""
        volume = prime["spec"].get("volumeName")
        if not volume:
            return False  # the prime PVC's watch brings us back when it binds
        pv = self.kube.find(PV, volume)
        if pv is None:
            return False
        meta = pvc["metadata"]
        snapshot = prime["spec"]["dataSourceRef"]["name"]
        claim = (pv.get("spec") or {}).get("claimRef") or {}
        if claim.get("uid") != meta["uid"]:
            self.kube.patch(
                PV,
                volume,
                {
                    "metadata": {
                        "annotations": {POPULATED_FROM: f"{meta['namespace']}/{snapshot}"}
                    },
                    "spec": {
                        "claimRef": {
                            "apiVersion": "v1",
                            "kind": "PersistentVolumeClaim",
                            "namespace": meta["namespace"],
                            "name": meta["name"],
                            "uid": meta["uid"],
                            "resourceVersion": meta.get("resourceVersion"),
                        }
                    },
                },
            )
        # Kubernetes' PV controller's part: bind the claim to the volume it now points at.
        self.kube.patch(PVC, meta["name"], {"spec": {"volumeName": volume}}, meta["namespace"])
        capacity = (pv.get("spec") or {}).get("capacity") or {}
        self.kube.patch(
            PVC,
            meta["name"],
            {
                "status": {
                    "phase": "Bound",
                    "accessModes": pv["spec"].get("accessModes") or pvc["spec"].get("accessModes"),
                    "capacity": capacity,
                }
            },
            meta["namespace"],
            subresource="status",
        )
        self.kube.patch(
            PVC,
            prime["metadata"]["name"],
            {"status": {"phase": "Lost"}},
            meta["namespace"],
            subresource="status",
        )
        return True

    def cleanup(self, pvc: Obj, prime: Obj | None) -> None:
        namespace = pvc["metadata"]["namespace"]
        label = in_use_label(pvc)
        for snapshot in self.kube.list(VOLUME_SNAPSHOT, namespace, label_selector=label):
            self.kube.patch(
                VOLUME_SNAPSHOT,
                snapshot["metadata"]["name"],
                {"metadata": {"labels": {label: None}}},
                namespace,
            )
        if prime is not None and not prime["metadata"].get("deletionTimestamp"):
            self.kube.delete(PVC, prime["metadata"]["name"], namespace)

    def collect_orphan_primes(self, namespace: str) -> None:
        """Prime PVCs whose user PVC is gone (Kubernetes' garbage collector would do this)."""
        alive = {pvc["metadata"]["uid"] for pvc in self.kube.list(PVC, namespace)}
        for prime in self.kube.list(PVC, namespace, label_selector=PRIME_FOR):
            owners = [ref.get("uid") for ref in prime["metadata"].get("ownerReferences") or []]
            if owners and not any(uid in alive for uid in owners):
                if not prime["metadata"].get("deletionTimestamp"):
                    self.log.info("deleting orphaned populator PVC %s", prime["metadata"]["name"])
                    self.kube.delete(PVC, prime["metadata"]["name"], namespace)


def ensure_pending(controller: Controller, pvc: Obj) -> None:
    """An unbound populated PVC reports Pending (the sim's storage controller leaves it)."""
    if pvc["spec"].get("volumeName") or (pvc.get("status") or {}).get("phase"):
        return
    controller.kube.patch(
        PVC,
        pvc["metadata"]["name"],
        {"status": {"phase": "Pending"}},
        pvc["metadata"]["namespace"],
        subresource="status",
    )

"""The PVC and PV protection controllers: let a deleting PVC or PV go only when unused.

Like Kubernetes' ``pvcprotection`` controller, ``kubernetes.io/pvc-protection`` is removed from
a deleting PVC only when no pod that has not terminated (phase other than Succeeded/Failed)
names it in ``spec.volumes``; like ``pvprotection``, ``kubernetes.io/pv-protection`` is removed
from a deleting PV only when its phase is not Bound. (The API server adds both finalizers.)
"""

from __future__ import annotations

from restore_drill.clusters.sim.controllers.base import Controller, Obj
from restore_drill.k8s import POD, PV, PVC, Kind

PVC_PROTECTION = "kubernetes.io/pvc-protection"
PV_PROTECTION = "kubernetes.io/pv-protection"


def claims_of(pod: Obj) -> set[str]:
    return {
        str(v["persistentVolumeClaim"]["claimName"])
        for v in (pod.get("spec") or {}).get("volumes") or []
        if v.get("persistentVolumeClaim")
    }


def terminated(pod: Obj) -> bool:
    return (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed")


class ProtectionController(Controller):
    watches = (PVC, PV, POD)

    def reconcile(self, kind: Kind, namespace: str | None, name: str) -> float | None:
        if kind == POD and namespace:
            # a pod going away or finishing may free its claims
            for pvc in self.kube.list(PVC, namespace):
                if pvc["metadata"].get("deletionTimestamp"):
                    self.enqueue(PVC, namespace, pvc["metadata"]["name"])
            return None
        obj = self.kube.find(kind, name, namespace)
        if obj is None or not obj["metadata"].get("deletionTimestamp"):
            return None
        if kind == PVC and namespace:
            if self.pvc_in_use(namespace, name):
                return None
            self.drop(obj, PVC_PROTECTION)
        elif kind == PV:
            if (obj.get("status") or {}).get("phase") == "Bound":
                return None
            self.drop(obj, PV_PROTECTION)
        return None

    def pvc_in_use(self, namespace: str, name: str) -> bool:
        # As Kubernetes' pvc-protection controller: only a SCHEDULED pod uses a claim (the
        # kubelet never starts a pod whose claim is being deleted).
        return any(
            name in claims_of(pod)
            and not terminated(pod)
            and (pod.get("spec") or {}).get("nodeName")
            for pod in self.kube.list(POD, namespace)
        )

    def drop(self, obj: Obj, finalizer: str) -> None:
        meta = obj["metadata"]
        finalizers = meta.get("finalizers") or []
        if finalizer not in finalizers:
            return
        # a JSON patch with a test: never drop somebody else's finalizer added meanwhile
        index = finalizers.index(finalizer)
        self.kube.patch(
            PV if obj["kind"] == "PersistentVolume" else PVC,
            meta["name"],
            [
                {"op": "test", "path": f"/metadata/finalizers/{index}", "value": finalizer},
                {"op": "remove", "path": f"/metadata/finalizers/{index}"},
            ],
            meta.get("namespace"),
            content_type="application/json-patch+json",
        )

"""GitOps re-sync, as ArgoCD's auto-sync does it: the fixture's manifests applied
server-side with one field manager, PVCs that exist left with the fields their
controllers filled in."""

from __future__ import annotations

import base64
import copy

from restore_drill import k8s
from restore_drill.k8s import Kube, Obj

# Fields a GitOps tool must not touch on a PVC that exists: they are immutable, and the
# populator/binder has filled them in (ArgoCD's ignoreDifferences for the user's PVCs).
IGNORED_PVC_FIELDS = ("dataSourceRef", "dataSource", "volumeName")
GITOPS_FIELD_MANAGER = k8s.FIELD_MANAGER


def _order(manifest: Obj) -> int:
    # Namespace first, then what others refer to, the Deployment (the consumer) last.
    ranks = {"Namespace": 0, "Secret": 1, "ConfigMap": 1, "ReplicationDestination": 2}
    return ranks.get(manifest["kind"], 3 if manifest["kind"] != "Deployment" else 4)


def for_existing_pvc(manifest: Obj) -> Obj:
    """The manifest without the fields GitOps ignores on a PVC that already exists."""
    stripped = copy.deepcopy(manifest)
    for name in IGNORED_PVC_FIELDS:
        stripped.get("spec", {}).pop(name, None)
    return stripped


def secret_data(manifest: Obj) -> Obj:
    """A Secret with ``stringData`` folded into base64 ``data``, as the API server stores it
    (done here so that every backend's server, strict or not, ends with the same object)."""
    if manifest["kind"] != "Secret" or not manifest.get("stringData"):
        return manifest
    folded = copy.deepcopy(manifest)
    strings = folded.pop("stringData")
    data = dict(folded.get("data") or {})
    data.update({k: base64.b64encode(str(v).encode()).decode() for k, v in strings.items()})
    folded["data"] = data
    return folded


def gitops_sync(kube: Kube, manifests: list[Obj]) -> list[str]:
    """Apply ``manifests`` as ArgoCD's auto-sync would: server-side apply, one field manager.

    PVCs that exist keep their immutable, controller-filled fields (ignoreDifferences).
    Returns ``kind/name`` of each object applied, in order.
    """
    applied: list[str] = []
    for manifest in sorted(manifests, key=_order):
        body = secret_data(manifest)
        meta = manifest["metadata"]
        if manifest["kind"] == "PersistentVolumeClaim":
            existing = kube.find(k8s.PVC, meta["name"], meta.get("namespace"))
            if existing is not None and not existing["metadata"].get("deletionTimestamp"):
                body = for_existing_pvc(manifest)
        kube.apply(body, field_manager=GITOPS_FIELD_MANAGER)
        applied.append(f"{manifest['kind']}/{meta['name']}")
    return applied

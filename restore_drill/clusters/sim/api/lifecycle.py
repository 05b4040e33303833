"""Deletion: finalizers, ownerReference garbage collection and namespace termination.

The real garbage collector and namespace controller act asynchronously, a moment after the
API write; here they act synchronously inside the same locked write, so a watcher sees the
same sequence of events, only sooner.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from restore_drill.clusters.sim.api.resources import BY_KIND, NAMESPACES, RESOURCES, ResourceType
from restore_drill.clusters.sim.api.status import ApiError
from restore_drill.clusters.sim.api.store import Key

if TYPE_CHECKING:
    from restore_drill.clusters.sim.api.registry import Registry

Obj = dict[str, Any]
FOREGROUND = "foregroundDeletion"
PROTECTED_NAMESPACES = ("default", "kube-system", "kube-public")
ORPHAN = "orphan"
BY_KEY = {r.key: r for r in RESOURCES}
SERVICE_ACCOUNTS = BY_KIND[("v1", "ServiceAccount")]


def populate_namespace(registry: Registry, namespace: str) -> None:
    """What the service-account controller does for a new namespace."""
    registry.create(SERVICE_ACCOUNTS, namespace, {"metadata": {"name": "default"}})


def _now() -> str:
    from restore_drill.clusters.sim.api.registry import now

    return now()


def delete(registry: Registry, resource: ResourceType, obj: Obj, policy: str | None) -> Obj:
    """Start deleting ``obj``; it goes away now unless finalizers (or dependents, for
    foreground deletion) hold it. Returns the object's last state."""
    store = registry.store
    meta = obj["metadata"]
    if meta.get("deletionTimestamp"):
        return copy.deepcopy(obj)  # already being deleted
    if policy is None:
        # batch/v1 Jobs still default to orphaning their pods; everything else to background
        policy = "Orphan" if resource.kind == "Job" else "Background"
    uid = str(meta.get("uid"))
    if resource is NAMESPACES:
        if meta["name"] in PROTECTED_NAMESPACES:
            raise ApiError(
                403,
                f'namespaces "{meta["name"]}" is forbidden: this namespace may not be deleted',
                details={"name": meta["name"], "kind": "namespaces"},
            )
        return _terminate_namespace(registry, obj)
    if policy == "Orphan":
        _orphan_dependents(registry, uid)
    finalizers = list(meta.get("finalizers") or [])
    if policy == "Foreground" and store.dependents.get(uid):
        finalizers.append(FOREGROUND)
    if not finalizers:
        store.remove(resource.key, obj)
        _after_removal(registry, resource, obj)
        return copy.deepcopy(obj)
    updated = copy.deepcopy(obj)
    updated["metadata"].update(
        deletionTimestamp=_now(),
        deletionGracePeriodSeconds=0,
        finalizers=finalizers,
        generation=int(meta.get("generation", 1)) + 1,
    )
    stored = store.put(resource.key, updated, "MODIFIED")
    result = copy.deepcopy(stored)
    if FOREGROUND in finalizers:
        for key in sorted(store.dependents.get(uid, set())):
            _delete_key(registry, key, "Background")
        _release_foreground(registry, uid)
    return result


def finalize_if_done(registry: Registry, resource: ResourceType, obj: Obj) -> None:
    """Remove an object whose deletion is pending once its last finalizer is gone."""
    meta = obj["metadata"]
    if meta.get("deletionTimestamp") and not meta.get("finalizers"):
        if resource is NAMESPACES and (obj.get("spec") or {}).get("finalizers"):
            return
        registry.store.remove(resource.key, obj)
        _after_removal(registry, resource, obj)


def _delete_key(registry: Registry, key: Key, policy: str) -> None:
    obj = registry.store.lookup(key)
    if obj is not None:
        delete(registry, BY_KEY[key[0]], obj, policy)


def _orphan_dependents(registry: Registry, uid: str) -> None:
    store = registry.store
    for key in sorted(store.dependents.get(uid, set())):
        dependent = store.lookup(key)
        if dependent is None:
            continue
        updated = copy.deepcopy(dependent)
        refs = [r for r in updated["metadata"].get("ownerReferences") or [] if r.get("uid") != uid]
        if refs:
            updated["metadata"]["ownerReferences"] = refs
        else:
            updated["metadata"].pop("ownerReferences", None)
        store.put(key[0], updated, "MODIFIED")


def _after_removal(registry: Registry, resource: ResourceType, obj: Obj) -> None:
    """What happens once an object is gone: its dependents are collected, a foreground owner
    waiting for it may go, and a terminating namespace may become empty."""
    store = registry.store
    meta = obj["metadata"]
    uid = str(meta.get("uid"))
    for key in sorted(store.dependents.get(uid, set())):
        dependent = store.lookup(key)
        if dependent is None:
            continue
        owners = [str(r.get("uid")) for r in dependent["metadata"].get("ownerReferences") or []]
        if any(owner in store.by_uid for owner in owners if owner != uid):
            _orphan_dependents_of(registry, key, uid)  # another owner lives: drop the dangling ref
        else:
            delete(registry, BY_KEY[key[0]], dependent, "Background")
    for ref in meta.get("ownerReferences") or []:
        _release_foreground(registry, str(ref.get("uid")))
    namespace = meta.get("namespace")
    if namespace:
        _finish_namespace_if_empty(registry, namespace)


def _orphan_dependents_of(registry: Registry, key: Key, owner_uid: str) -> None:
    dependent = registry.store.lookup(key)
    if dependent is None:
        return
    updated = copy.deepcopy(dependent)
    updated["metadata"]["ownerReferences"] = [
        r for r in updated["metadata"].get("ownerReferences") or [] if r.get("uid") != owner_uid
    ]
    registry.store.put(key[0], updated, "MODIFIED")


def _release_foreground(registry: Registry, owner_uid: str) -> None:
    """Drop the foregroundDeletion finalizer of an owner whose dependents are all gone."""
    store = registry.store
    key = store.by_uid.get(owner_uid)
    owner = store.lookup(key) if key else None
    if owner is None or key is None:
        return
    if FOREGROUND not in (owner["metadata"].get("finalizers") or []):
        return
    if store.dependents.get(owner_uid):
        return
    updated = copy.deepcopy(owner)
    updated["metadata"]["finalizers"] = [
        f for f in updated["metadata"]["finalizers"] if f != FOREGROUND
    ]
    stored = store.put(key[0], updated, "MODIFIED")
    finalize_if_done(registry, BY_KEY[key[0]], stored)


def _terminate_namespace(registry: Registry, namespace: Obj) -> Obj:
    store = registry.store
    name = namespace["metadata"]["name"]
    updated = copy.deepcopy(namespace)
    updated["metadata"]["deletionTimestamp"] = _now()
    updated["metadata"]["deletionGracePeriodSeconds"] = 0
    updated["status"] = {"phase": "Terminating"}
    stored = store.put(NAMESPACES.key, updated, "MODIFIED")
    result = copy.deepcopy(stored)
    for resource in RESOURCES:
        if resource.namespaced:
            for obj in list(store.items(resource.key, name)):
                if not obj["metadata"].get("deletionTimestamp"):
                    delete(registry, resource, obj, "Background")
    _finish_namespace_if_empty(registry, name)
    return result


def _finish_namespace_if_empty(registry: Registry, name: str) -> None:
    store = registry.store
    namespace = store.get(NAMESPACES.key, "", name)
    if namespace is None or not namespace["metadata"].get("deletionTimestamp"):
        return
    if store.in_namespace.get(name, 0) > 0:
        _report_remaining(registry, namespace)
        return
    updated = copy.deepcopy(namespace)
    updated["spec"]["finalizers"] = []
    stored = store.put(NAMESPACES.key, updated, "MODIFIED")
    finalize_if_done(registry, NAMESPACES, stored)


def _report_remaining(registry: Registry, namespace: Obj) -> None:
    """Conditions like the namespace controller's, naming finalizers that hold content."""
    store = registry.store
    name = namespace["metadata"]["name"]
    held: dict[str, int] = {}
    for resource in RESOURCES:
        if resource.namespaced:
            for obj in store.items(resource.key, name):
                for finalizer in obj["metadata"].get("finalizers") or []:
                    held[finalizer] = held.get(finalizer, 0) + 1
    if not held:
        return
    message = "Some content in the namespace has finalizers remaining: " + ", ".join(
        f"{finalizer} in {count} resource instances" for finalizer, count in sorted(held.items())
    )
    conditions = [
        {
            "type": "NamespaceFinalizersRemaining",
            "status": "True",
            "reason": "SomeFinalizersRemain",
            "message": message,
            "lastTransitionTime": _now(),
        }
    ]
    old = (namespace.get("status") or {}).get("conditions") or []
    if [c.get("message") for c in old] == [message]:
        return
    updated = copy.deepcopy(namespace)
    updated["status"]["conditions"] = conditions
    store.put(NAMESPACES.key, updated, "MODIFIED")

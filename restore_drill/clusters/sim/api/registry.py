"""The API operations (create, get, list, update, patch, delete) with defaulting, admission
and validation, on top of the store. Every operation runs under the store's one lock."""

from __future__ import annotations

import base64
import copy
import json
import secrets
import uuid
from datetime import UTC, datetime
from typing import Any

import yaml

from restore_drill.clusters.sim.api import lifecycle, patching
from restore_drill.clusters.sim.api.resources import (
    BY_KIND,
    NAMESPACES,
    RESOURCES,
    ResourceType,
    crd_for,
)
from restore_drill.clusters.sim.api.selectors import field_matcher, label_matcher
from restore_drill.clusters.sim.api.status import ApiError, already_exists, conflict, not_found
from restore_drill.clusters.sim.api.store import Store
from restore_drill.clusters.sim.api.validation import validate

Obj = dict[str, Any]

PVC_PROTECTION = "kubernetes.io/pvc-protection"
PV_PROTECTION = "kubernetes.io/pv-protection"
DEFAULT_CLASS = "storageclass.kubernetes.io/is-default-class"
# Top-level fields that are not "spec" for the purpose of metadata.generation.
_NOT_SPEC = ("metadata", "status", "apiVersion", "kind")


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _spec_of(obj: Obj) -> Obj:
    return {k: v for k, v in obj.items() if k not in _NOT_SPEC}


class Registry:
    """All reads and writes of API objects."""

    def __init__(self, store: Store) -> None:
        self.store = store
        with store.lock:
            for name in ("default", "kube-system", "kube-public", "kube-node-lease"):
                self.create(NAMESPACES, None, {"metadata": {"name": name}})
            crds = BY_KIND[("apiextensions.k8s.io/v1", "CustomResourceDefinition")]
            for resource in RESOURCES:
                if resource.custom:
                    self.create(crds, None, crd_for(resource))

    # --- reads -------------------------------------------------------------------------------

    def get(self, resource: ResourceType, namespace: str | None, name: str) -> Obj:
        with self.store.lock:
            found = self.store.get(resource.key, namespace or "", name)
            if found is None:
                raise not_found(resource.plural, name, resource.group)
            return copy.deepcopy(found)

    def list(
        self, resource: ResourceType, namespace: str | None, labels: str | None, fields: str | None
    ) -> Obj:
        by_label, by_field = label_matcher(labels), field_matcher(fields, resource.kind)
        with self.store.lock:
            items = [
                copy.deepcopy(obj)
                for obj in self.store.items(resource.key, namespace)
                if by_label(obj) and by_field(obj)
            ]
            revision = str(self.store.revision)
        items.sort(key=lambda o: (o["metadata"].get("namespace", ""), o["metadata"]["name"]))
        return {
            "kind": f"{resource.kind}List",
            "apiVersion": resource.api_version,
            "metadata": {"resourceVersion": revision},
            "items": items,
        }

    # --- create ------------------------------------------------------------------------------

    def create(
        self, resource: ResourceType, namespace: str | None, body: Any, *, dry_run: bool = False
    ) -> Obj:
        """Create an object; ``dry_run`` (``?dryRun=All``) checks everything, stores nothing."""
        obj = self._typed(resource, body)
        meta = obj["metadata"]
        if resource.namespaced:
            if meta.get("namespace") and namespace and meta["namespace"] != namespace:
                raise ApiError(
                    400,
                    "the namespace of the provided object does not match the namespace "
                    "sent on the request",
                )
            meta["namespace"] = namespace or meta.get("namespace") or "default"
        else:
            meta.pop("namespace", None)
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = meta["generateName"] + secrets.token_hex(3)[:5]
        with self.store.lock:
            if resource.namespaced:
                self._check_namespace_open(resource, meta["namespace"], meta.get("name", ""))
            for field in ("resourceVersion", "deletionTimestamp", "deletionGracePeriodSeconds"):
                meta.pop(field, None)
            meta.update(uid=str(uuid.uuid4()), creationTimestamp=now(), generation=1)
            self._defaults(resource, obj)
            validate(resource, obj, None)
            if self.store.get(resource.key, meta.get("namespace", ""), meta["name"]) is not None:
                raise already_exists(resource.plural, meta["name"], resource.group)
            if dry_run:
                return obj
            stored = self.store.put(resource.key, obj, "ADDED")
            if resource is NAMESPACES and meta["name"] != "kube-node-lease":
                lifecycle.populate_namespace(self, meta["name"])
            return copy.deepcopy(stored)

    def _typed(self, resource: ResourceType, body: Any) -> Obj:
        if not isinstance(body, dict):
            raise ApiError(400, "the request body is not an object")
        obj = copy.deepcopy(body)
        obj.setdefault("apiVersion", resource.api_version)
        obj.setdefault("kind", resource.kind)
        if (obj["apiVersion"], obj["kind"]) != (resource.api_version, resource.kind):
            raise ApiError(
                400,
                f"the API version in the data ({obj['apiVersion']}) does not match the "
                f"expected API version ({resource.api_version}) or kind {obj['kind']}",
            )
        if not isinstance(obj.setdefault("metadata", {}), dict):
            raise ApiError(400, "metadata must be an object")
        if resource.kind == "Secret":
            _fold_string_data(obj)
        return obj

    def _check_namespace_open(self, resource: ResourceType, namespace: str, name: str) -> None:
        ns = self.store.get(NAMESPACES.key, "", namespace)
        if ns is None:
            raise not_found("namespaces", namespace)
        if ns["metadata"].get("deletionTimestamp"):
            raise ApiError(
                403,
                f'{resource.plural} "{name}" is forbidden: unable to create new content in '
                f"namespace {namespace} because it is being terminated",
                details={
                    "name": name,
                    "group": resource.group,
                    "kind": resource.plural,
                    "causes": [
                        {
                            "reason": "NamespaceTerminating",
                            "message": f"namespace {namespace} is being terminated",
                            "field": "metadata.namespace",
                        }
                    ],
                },
            )

    def _defaults(self, resource: ResourceType, obj: Obj) -> None:
        """Defaulting and the admission plugins a drill relies on."""
        if resource.status:
            obj.pop("status", None)  # status is written through /status only
        kind, meta = resource.kind, obj["metadata"]
        spec = (
            obj.setdefault("spec", {})
            if kind
            in (
                "Namespace",
                "Pod",
                "PersistentVolumeClaim",
                "PersistentVolume",
                "Deployment",
                "StatefulSet",
                "Job",
            )
            else None
        )
        if kind == "Namespace" and spec is not None:
            spec["finalizers"] = ["kubernetes"]
            obj["status"] = {"phase": "Active"}
        elif kind == "PersistentVolumeClaim" and spec is not None:
            _add_finalizer(meta, PVC_PROTECTION)
            spec.setdefault("volumeMode", "Filesystem")
            if "storageClassName" not in spec and (default := self._default_class()):
                spec["storageClassName"] = default
            obj["status"] = {"phase": "Pending"}
        elif kind == "PersistentVolume" and spec is not None:
            _add_finalizer(meta, PV_PROTECTION)
            spec.setdefault("volumeMode", "Filesystem")
            spec.setdefault("persistentVolumeReclaimPolicy", "Retain")
            obj["status"] = {"phase": "Pending"}
        elif kind == "Pod" and spec is not None:
            spec.setdefault("restartPolicy", "Always")
            spec.setdefault("serviceAccountName", "default")
            obj["status"] = {"phase": "Pending", "qosClass": "BestEffort"}
        elif kind in ("Deployment", "StatefulSet") and spec is not None:
            spec.setdefault("replicas", 1)
        elif kind == "Job" and spec is not None:
            spec.setdefault("backoffLimit", 6)
            spec.setdefault("completions", 1)
            spec.setdefault("parallelism", 1)

    def _default_class(self) -> str | None:
        classes = BY_KIND[("storage.k8s.io/v1", "StorageClass")]
        for sc in self.store.items(classes.key):
            if (sc["metadata"].get("annotations") or {}).get(DEFAULT_CLASS) == "true":
                return str(sc["metadata"]["name"])
        return None

    # --- update and patch --------------------------------------------------------------------

    def update(
        self,
        resource: ResourceType,
        namespace: str | None,
        name: str,
        body: Any,
        subresource: str | None = None,
        *,
        dry_run: bool = False,
    ) -> Obj:
        new = self._typed(resource, body)
        if new["metadata"].get("name", name) != name:
            raise ApiError(400, "the name of the object does not match the name on the URL")
        with self.store.lock:
            old = self.store.get(resource.key, namespace or "", name)
            if old is None:
                raise not_found(resource.plural, name, resource.group)
            wanted = new["metadata"].get("resourceVersion")
            if wanted and wanted != old["metadata"]["resourceVersion"]:
                raise conflict(resource.plural, name, resource.group)
            return self._write(resource, old, new, subresource, dry_run)

    def patch(
        self,
        resource: ResourceType,
        namespace: str | None,
        name: str,
        content_type: str,
        raw: bytes,
        *,
        subresource: str | None = None,
        dry_run: bool = False,
    ) -> Obj:
        media = content_type.split(";", maxsplit=1)[0].strip()
        if media == patching.STRATEGIC and resource.custom:
            raise ApiError(
                415,
                f"the body of the request was in an unknown format - accepted media types "
                f"include: {patching.JSON_PATCH}, {patching.MERGE}, {patching.APPLY}",
            )
        if media not in (patching.MERGE, patching.JSON_PATCH, patching.STRATEGIC, patching.APPLY):
            raise ApiError(415, f"the body of the request was in an unknown format - {media}")
        try:
            body = yaml.load(raw, Loader=_LOADER) if media == patching.APPLY else json.loads(raw)
        except (ValueError, yaml.YAMLError) as exc:
            raise ApiError(400, f"the patch could not be decoded: {exc}") from exc
        with self.store.lock:
            old = self.store.get(resource.key, namespace or "", name)
            if old is None:
                if media == patching.APPLY and subresource is None:
                    return self.create(resource, namespace, body, dry_run=dry_run)
                raise not_found(resource.plural, name, resource.group)
            if media == patching.MERGE:
                new = patching.merge_patch(old, body)
            elif media == patching.JSON_PATCH:
                new = patching.json_patch(old, body)
            elif media == patching.STRATEGIC:
                new = patching.strategic_merge(old, body)
            else:
                if not isinstance(body, dict):
                    raise ApiError(400, "an apply configuration must be an object")
                new = patching.apply_config(old, self._typed(resource, body))
            if new.get("metadata", {}).get("resourceVersion") != old["metadata"]["resourceVersion"]:
                raise conflict(resource.plural, name, resource.group)
            return self._write(resource, old, self._typed(resource, new), subresource, dry_run)

    def _write(
        self, resource: ResourceType, old: Obj, new: Obj, subresource: str | None, dry_run: bool
    ) -> Obj:
        """Store ``new`` in place of ``old`` (caller holds the lock and checked versions)."""
        name = old["metadata"]["name"]
        if subresource == "status":
            merged = copy.deepcopy(old)
            if "status" in new:
                merged["status"] = new["status"]
            else:
                merged.pop("status", None)
            new = merged
        else:
            if resource.status:
                new.pop("status", None)
                if "status" in old:
                    new["status"] = copy.deepcopy(old["status"])
            meta, old_meta = new["metadata"], old["metadata"]
            for field in (
                "uid",
                "creationTimestamp",
                "deletionTimestamp",
                "generation",
                "namespace",
                "name",
                "deletionGracePeriodSeconds",
            ):
                if field in old_meta:
                    meta[field] = old_meta[field]
                else:
                    meta.pop(field, None)
            if old_meta.get("deletionTimestamp"):
                added = set(meta.get("finalizers") or []) - set(old_meta.get("finalizers") or [])
                if added:
                    raise ApiError(
                        422,
                        f'{resource.kind} "{name}" is invalid: metadata.finalizers: '
                        "Forbidden: no new finalizers can be added if the object is being deleted",
                    )
            if resource.kind == "Namespace":
                new["spec"] = copy.deepcopy(old.get("spec", {})) | {
                    k: v for k, v in (new.get("spec") or {}).items() if k != "finalizers"
                }
            if _spec_of(new) != _spec_of(old):
                meta["generation"] = int(old_meta.get("generation", 1)) + 1
            validate(resource, new, old)
        new["metadata"]["resourceVersion"] = old["metadata"]["resourceVersion"]
        if new == old:
            return copy.deepcopy(old)  # a no-op write does not bump the resourceVersion
        if dry_run:
            return new
        stored = self.store.put(resource.key, new, "MODIFIED")
        result = copy.deepcopy(stored)
        lifecycle.finalize_if_done(self, resource, stored)
        return result

    def scale(self, resource: ResourceType, namespace: str, name: str) -> Obj:
        """The autoscaling/v1 Scale view of a Deployment or StatefulSet."""
        obj = self.get(resource, namespace, name)
        meta, spec = obj["metadata"], obj.get("spec") or {}
        labels = (spec.get("selector") or {}).get("matchLabels") or {}
        return {
            "kind": "Scale",
            "apiVersion": "autoscaling/v1",
            "metadata": {
                k: meta[k]
                for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
                if k in meta
            },
            "spec": {"replicas": spec.get("replicas", 1)},
            "status": {
                "replicas": (obj.get("status") or {}).get("replicas", 0),
                "selector": ",".join(f"{k}={v}" for k, v in sorted(labels.items())),
            },
        }

    # --- delete ------------------------------------------------------------------------------

    def delete(
        self,
        resource: ResourceType,
        namespace: str | None,
        name: str,
        options: Obj,
        *,
        dry_run: bool = False,
    ) -> Obj:
        with self.store.lock:
            obj = self.store.get(resource.key, namespace or "", name)
            if obj is None:
                raise not_found(resource.plural, name, resource.group)
            preconditions = options.get("preconditions") or {}
            for field in ("uid", "resourceVersion"):
                if preconditions.get(field) and preconditions[field] != obj["metadata"][field]:
                    raise conflict(resource.plural, name, resource.group)
            if dry_run:
                return copy.deepcopy(obj)
            policy = options.get("propagationPolicy") or (
                "Orphan" if options.get("orphanDependents") else None
            )
            return lifecycle.delete(self, resource, obj, policy)

    def delete_collection(
        self,
        resource: ResourceType,
        namespace: str | None,
        labels: str | None,
        fields: str | None,
        options: Obj,
    ) -> Obj:
        listed = self.list(resource, namespace, labels, fields)
        for item in listed["items"]:
            meta = item["metadata"]
            try:
                self.delete(resource, meta.get("namespace"), meta["name"], options)
            except ApiError as exc:
                if exc.code != 404:
                    raise
        return listed


def _add_finalizer(meta: Obj, finalizer: str) -> None:
    finalizers = meta.setdefault("finalizers", [])
    if finalizer not in finalizers:
        finalizers.append(finalizer)


_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _fold_string_data(secret: Obj) -> None:
    """Merge ``stringData`` into base64 ``data`` and drop it, as the real API server does on
    every write (``stringData`` is write-only and wins over ``data`` for the same key)."""
    string_data = secret.pop("stringData", None)
    if not string_data:
        return
    if not isinstance(string_data, dict):
        raise ApiError(400, "stringData must be an object of strings")
    data = secret.setdefault("data", {}) or {}
    for key, value in string_data.items():
        data[key] = base64.b64encode(str(value).encode()).decode()
    secret["data"] = data

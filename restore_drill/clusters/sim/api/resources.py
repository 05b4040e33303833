"""The resource types the sim API server serves, and the discovery documents built from them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

Obj = dict[str, Any]

VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
SCALABLE = ("Deployment", "StatefulSet")  # kinds with a /scale subresource
KUBE_VERSION = {"major": "1", "minor": "33", "gitVersion": "v1.33.1-sim"}


@dataclass(frozen=True)
class ResourceType:
    """One served resource: ``group`` is "" for the core group."""

    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool = True
    status: bool = False  # has a /status subresource
    short_names: tuple[str, ...] = ()
    custom: bool = False  # served from a CustomResourceDefinition on a real cluster
    builtin_schema: bool = True  # kubernetes-validate has a schema for it

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def group_version(self) -> str:
        return self.api_version

    @property
    def singular(self) -> str:
        return self.kind.lower()

    @property
    def key(self) -> str:
        """Store key: the plural qualified by its group (``jobs.batch``)."""
        return f"{self.plural}.{self.group}" if self.group else self.plural


RESOURCES: tuple[ResourceType, ...] = (
    ResourceType("", "v1", "Namespace", "namespaces", False, True, ("ns",)),
    ResourceType("", "v1", "Pod", "pods", True, True, ("po",)),
    ResourceType("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims", True, True, ("pvc",)),
    ResourceType("", "v1", "PersistentVolume", "persistentvolumes", False, True, ("pv",)),
    ResourceType("", "v1", "Secret", "secrets"),
    ResourceType("", "v1", "ConfigMap", "configmaps", short_names=("cm",)),
    ResourceType("", "v1", "Event", "events", short_names=("ev",)),
    ResourceType("", "v1", "ServiceAccount", "serviceaccounts", short_names=("sa",)),
    ResourceType("apps", "v1", "Deployment", "deployments", True, True, ("deploy",)),
    ResourceType("apps", "v1", "StatefulSet", "statefulsets", True, True, ("sts",)),
    ResourceType("batch", "v1", "Job", "jobs", True, True),
    ResourceType("storage.k8s.io", "v1", "StorageClass", "storageclasses", False, False, ("sc",)),
    ResourceType(
        "snapshot.storage.k8s.io",
        "v1",
        "VolumeSnapshot",
        "volumesnapshots",
        True,
        True,
        ("vs",),
        custom=True,
        builtin_schema=False,
    ),
    ResourceType(
        "snapshot.storage.k8s.io",
        "v1",
        "VolumeSnapshotContent",
        "volumesnapshotcontents",
        False,
        True,
        ("vsc", "vscs"),
        custom=True,
        builtin_schema=False,
    ),
    ResourceType(
        "snapshot.storage.k8s.io",
        "v1",
        "VolumeSnapshotClass",
        "volumesnapshotclasses",
        False,
        False,
        ("vsclass", "vsclasses"),
        custom=True,
        builtin_schema=False,
    ),
    ResourceType(
        "volsync.backube",
        "v1alpha1",
        "ReplicationSource",
        "replicationsources",
        True,
        True,
        custom=True,
        builtin_schema=False,
    ),
    ResourceType(
        "volsync.backube",
        "v1alpha1",
        "ReplicationDestination",
        "replicationdestinations",
        True,
        True,
        custom=True,
        builtin_schema=False,
    ),
    ResourceType(
        "apiextensions.k8s.io",
        "v1",
        "CustomResourceDefinition",
        "customresourcedefinitions",
        False,
        True,
        ("crd", "crds"),
        builtin_schema=False,
    ),
)

BY_PATH: dict[tuple[str, str, str], ResourceType] = {
    (r.group, r.version, r.plural): r for r in RESOURCES
}
BY_KIND: dict[tuple[str, str], ResourceType] = {(r.api_version, r.kind): r for r in RESOURCES}
NAMESPACES = BY_PATH[("", "v1", "namespaces")]


def group_versions() -> dict[str, list[ResourceType]]:
    found: dict[str, list[ResourceType]] = {}
    for resource in RESOURCES:
        found.setdefault(resource.group_version, []).append(resource)
    return found


def api_versions(server_address: str) -> Obj:
    """``GET /api``."""
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [
            {"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}
        ],
    }


def api_group_list() -> Obj:
    """``GET /apis``: every named group with its one version."""
    groups: dict[str, list[str]] = {}
    for resource in RESOURCES:
        if resource.group and resource.version not in groups.setdefault(resource.group, []):
            groups[resource.group].append(resource.version)
    return {
        "kind": "APIGroupList",
        "apiVersion": "v1",
        "groups": [_group(name, versions) for name, versions in groups.items()],
    }


def _group(name: str, versions: list[str]) -> Obj:
    listed = [{"groupVersion": f"{name}/{v}", "version": v} for v in versions]
    return {"name": name, "versions": listed, "preferredVersion": listed[0]}


def api_group(name: str) -> Obj | None:
    """``GET /apis/<group>``."""
    versions = sorted({r.version for r in RESOURCES if r.group == name})
    if not versions:
        return None
    return {"kind": "APIGroup", "apiVersion": "v1", **_group(name, versions)}


def api_resource_list(group_version: str) -> Obj | None:
    """``GET /api/v1`` or ``GET /apis/<group>/<version>``."""
    served = group_versions().get(group_version)
    if not served:
        return None
    entries: list[Obj] = []
    for resource in served:
        entry: Obj = {
            "name": resource.plural,
            "singularName": resource.singular,
            "namespaced": resource.namespaced,
            "kind": resource.kind,
            "verbs": VERBS,
        }
        if resource.short_names:
            entry["shortNames"] = list(resource.short_names)
        if resource.group in ("", "apps", "batch"):
            entry["categories"] = ["all"] if resource.kind in ("Pod", *SCALABLE, "Job") else []
        entries.append(entry)
        sub = {"singularName": "", "namespaced": resource.namespaced, "kind": resource.kind}
        if resource.status:
            entries.append(
                {**sub, "name": f"{resource.plural}/status", "verbs": ["get", "patch", "update"]}
            )
        if resource.kind == "Pod":
            entries.append({**sub, "name": "pods/log", "kind": "Pod", "verbs": ["get"]})
        if resource.kind in SCALABLE:
            entries.append(
                {
                    **sub,
                    "name": f"{resource.plural}/scale",
                    "kind": "Scale",
                    "group": "autoscaling",
                    "version": "v1",
                    "verbs": ["get", "patch", "update"],
                }
            )
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": group_version,
        "resources": entries,
    }


def crd_for(resource: ResourceType) -> Obj:
    """A CustomResourceDefinition object describing a custom resource the server serves."""
    name = f"{resource.plural}.{resource.group}"
    names: Obj = {
        "plural": resource.plural,
        "singular": resource.singular,
        "kind": resource.kind,
        "listKind": f"{resource.kind}List",
    }
    if resource.short_names:
        names["shortNames"] = list(resource.short_names)
    version: Obj = {
        "name": resource.version,
        "served": True,
        "storage": True,
        "schema": {
            "openAPIV3Schema": {
                "type": "object",
                "x-kubernetes-preserve-unknown-fields": True,
            }
        },
    }
    if resource.status:
        version["subresources"] = {"status": {}}
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": name},
        "spec": {
            "group": resource.group,
            "names": names,
            "scope": "Namespaced" if resource.namespaced else "Cluster",
            "versions": [version],
        },
    }


def _openapi_path(resource: ResourceType) -> str:
    prefix = f"/apis/{resource.group_version}" if resource.group else "/api/v1"
    scope = "/namespaces/{namespace}" if resource.namespaced else ""
    return f"{prefix}{scope}/{resource.plural}/{{name}}"


def openapi_v3_index() -> Obj:
    """``GET /openapi/v3``: one document per group version."""
    paths = {}
    for group_version in group_versions():
        relative = "api/v1" if group_version == "v1" else f"apis/{group_version}"
        paths[relative] = {"serverRelativeURL": f"/openapi/v3/{relative}"}
    return {"paths": paths}


def openapi_v3_document(group_version: str) -> Obj | None:
    """A minimal OpenAPI v3 document: only the PATCH operations with their
    ``fieldValidation`` parameter, which is what kubectl reads to decide that the server
    validates fields itself (no schemas: kubectl then computes patches from its own types)."""
    served = group_versions().get(group_version)
    if not served:
        return None
    paths: Obj = {}
    for resource in served:
        gvk = {"group": resource.group, "version": resource.version, "kind": resource.kind}
        paths[_openapi_path(resource)] = {
            "patch": {
                "operationId": f"patch{resource.kind}",
                "x-kubernetes-group-version-kind": gvk,
                "x-kubernetes-action": "patch",
                "parameters": [
                    {"name": "fieldValidation", "in": "query", "schema": {"type": "string"}},
                    {"name": "fieldManager", "in": "query", "schema": {"type": "string"}},
                ],
                "responses": {"200": {"description": "OK"}},
            }
        }
    info = {"title": "Kubernetes", "version": KUBE_VERSION["gitVersion"]}
    return {"openapi": "3.0.0", "info": info, "paths": paths}


def discovery(path: str, server_address: str) -> Obj | None:
    """The discovery document at ``path``; None when ``path`` is not a discovery path.
    Raises 404 for a group or group version the server does not serve."""
    from restore_drill.clusters.sim.api.status import ApiError

    parts = path.strip("/").split("/")
    answer: Obj | None
    if path == "/version":
        return {
            **KUBE_VERSION,
            "platform": "linux/amd64",
            "goVersion": "sim",
            "compiler": "sim",
            "buildDate": "2026-01-01T00:00:00Z",
            "gitCommit": "sim",
            "gitTreeState": "clean",
        }
    if path == "/api":
        return api_versions(server_address)
    if path == "/apis":
        return api_group_list()
    if path == "/openapi/v3":
        return openapi_v3_index()
    if parts[:2] == ["openapi", "v3"]:
        relative = parts[2:]
        answer = openapi_v3_document("/".join(relative[1:]) if relative else "")
    elif parts[0] == "api" and len(parts) == 2:
        answer = api_resource_list(parts[1])
    elif parts[0] == "apis" and len(parts) == 2:
        answer = api_group(parts[1])
    elif parts[0] == "apis" and len(parts) == 3:
        answer = api_resource_list(f"{parts[1]}/{parts[2]}")
    else:
        return None
    if answer is None:
        raise ApiError(404, "the server could not find the requested resource")
    return answer

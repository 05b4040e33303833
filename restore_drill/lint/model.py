"""The deployed objects of a repository, indexed by kind, namespace and name.

Objects are plain dicts written by strangers: every accessor here tolerates a wrong type
(a list where a mapping belongs, a number where a string belongs) and answers "absent".
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from restore_drill.lint.charts import ChartUse

CLUSTER_SCOPED = {
    "Namespace",
    "StorageClass",
    "VolumeSnapshotClass",
    "PersistentVolume",
    "ClusterRole",
    "ClusterRoleBinding",
    "CustomResourceDefinition",
    "ClusterSecretStore",
    "PriorityClass",
    "VolumeSnapshotContent",
    "CSIDriver",
    "ValidatingWebhookConfiguration",
    "MutatingWebhookConfiguration",
    "ClusterIssuer",
}
WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob", "Pod", "ReplicaSet")


@dataclass(frozen=True)
class Deployer:
    """What deploys an object: an ArgoCD Application/ApplicationSet or a Flux Kustomization."""

    kind: str
    name: str
    namespace: str
    file: str
    body: dict[str, Any] = field(compare=False, hash=False)


@dataclass
class Deployed:
    """One deployed object and where it came from."""

    body: dict[str, Any]
    file: str
    app: str
    deployer: Deployer | None = None

    @property
    def kind(self) -> str:
        return text(self.body.get("kind"))

    @property
    def api_version(self) -> str:
        return text(self.body.get("apiVersion"))

    @property
    def group(self) -> str:
        return self.api_version.rpartition("/")[0]

    @property
    def name(self) -> str:
        return text(mapping(self.body.get("metadata")).get("name"))

    @property
    def namespace(self) -> str:
        return text(mapping(self.body.get("metadata")).get("namespace"))

    @property
    def spec(self) -> dict[str, Any]:
        return mapping(self.body.get("spec"))

    @property
    def labels(self) -> dict[str, Any]:
        return mapping(mapping(self.body.get("metadata")).get("labels"))

    @property
    def annotations(self) -> dict[str, Any]:
        return mapping(mapping(self.body.get("metadata")).get("annotations"))

    def where(self) -> dict[str, str]:
        """Keyword arguments naming this object in a finding."""
        return {"kind": self.kind, "namespace": self.namespace, "name": self.name, "app": self.app}


def mapping(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def sequence(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def text(value: object) -> str:
    if isinstance(value, bool) or value is None:
        return "" if value is None else str(value).lower()
    return value if isinstance(value, str) else str(value) if isinstance(value, int) else ""


class Model:
    """An index of deployed objects: ``get(kind, namespace, name)``, ``of_kind(kind)``."""

    def __init__(self, objects: list[Deployed], charts: Sequence[ChartUse] = ()) -> None:
        self.objects = objects
        self.charts = list(charts)  # inflated by kustomizations (their workloads are unseen)
        self._by_key: dict[tuple[str, str, str], list[Deployed]] = defaultdict(list)
        self._by_kind: dict[str, list[Deployed]] = defaultdict(list)
        for obj in objects:
            self._by_key[(obj.kind, obj.namespace, obj.name)].append(obj)
            self._by_kind[obj.kind].append(obj)

    def get(self, kind: str, namespace: str, name: str) -> Deployed | None:
        found = self._by_key.get((kind, namespace, name))
        return found[0] if found else None

    def of_kind(self, *kinds: str) -> Iterator[Deployed]:
        for kind in kinds:
            yield from self._by_kind.get(kind, [])

    def volsync(self, kind: str) -> Iterator[Deployed]:
        """ReplicationSources or ReplicationDestinations of VolSync's one served API version."""
        return (o for o in self.of_kind(kind) if o.api_version == "volsync.backube/v1alpha1")

    def storage_class_of(self, pvc: Deployed) -> str:
        """The PVC's class: its own, else the repository's default class (empty if unknown)."""
        name = pvc.spec.get("storageClassName")
        if isinstance(name, str):
            return name
        for sc in self.of_kind("StorageClass"):
            if text(sc.annotations.get("storageclass.kubernetes.io/is-default-class")) == "true":
                return sc.name
        return ""

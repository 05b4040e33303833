"""The ``existing`` backend: a cluster someone else runs (e.g. staging with Longhorn).

Nothing here may hurt that cluster: it needs an explicit kubeconfig, context and opt-in
flag; every object lives in a namespace named after the run id; only namespaces this run
created may be deleted; the cluster itself and its VolSync are never deleted nor changed.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from restore_drill.clusters.base import Cluster
from restore_drill.errors import KubeError, RefusedDestructiveAction, UsageError
from restore_drill.k8s import DEPLOYMENT, NAMESPACE

if TYPE_CHECKING:
    from restore_drill.objectstore import ObjectStore

RUN_LABEL = "restore-drill/run-id"
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


class ExistingCluster(Cluster):
    """A cluster the run did not create and will never delete."""

    backend = "existing"

    def __init__(
        self,
        name: str,
        run_dir: Path,
        object_store: ObjectStore,
        *,
        kubeconfig: Path | str | None,
        context: str | None,
        allow_existing: bool = False,
        run_id: str,
        storage_class: str | None = None,
        snapshot_class: str | None = None,
    ) -> None:
        if not allow_existing:
            raise UsageError(
                "the existing backend runs drills on a cluster you did not create: "
                "pass --allow-existing to confirm"
            )
        if not kubeconfig or not context:
            raise UsageError("the existing backend needs an explicit --kubeconfig and --context")
        if not _DNS_LABEL.match(run_id) or len(run_id) > 40:
            raise UsageError(f"run id {run_id!r} must be a short DNS label (a-z, 0-9, '-')")
        super().__init__(name, run_dir, object_store)
        self._kubeconfig = Path(kubeconfig).expanduser()
        if not self._kubeconfig.is_file():
            raise UsageError(f"kubeconfig not found: {self._kubeconfig}")
        self._context = context
        self.run_id = run_id
        self.created_namespaces: set[str] = set()
        if storage_class:
            self.storage_class = storage_class
        if snapshot_class:
            self.snapshot_class = snapshot_class

    # The user's file, read only (the client never persists to it). It is not copied into
    # the run directory, whose contents may end up as a CI artifact.
    @property
    def kubeconfig(self) -> Path:
        return self._kubeconfig

    @property
    def context(self) -> str | None:
        return self._context

    # --- lifecycle ------------------------------------------------------------------------

    def create(self) -> None:
        """Check that the cluster answers; nothing is created at cluster scope."""
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.kube().list(NAMESPACE, label_selector=f"{RUN_LABEL}={self.run_id}")

    def delete(self) -> None:
        # Whatever created_by_this_run says: this backend never owns its cluster.
        self._destroy()

    def _destroy(self) -> None:
        raise RefusedDestructiveAction(f"refusing to delete existing cluster {self.name!r}")

    def rebuild(self) -> None:
        raise RefusedDestructiveAction(
            f"refusing to rebuild existing cluster {self.name!r}: cluster-rebuild drills "
            "need a backend that owns its cluster (kind)"
        )

    def install_volsync(self, version: str) -> None:
        raise RefusedDestructiveAction(
            f"refusing to install VolSync {version} on existing cluster {self.name!r}: "
            "its VolSync belongs to its owners"
        )

    # --- namespaces -------------------------------------------------------------------------

    def namespace(self, name: str) -> str:
        """The run's namespace for ``name``: ``<run id>-<name>``."""
        if name.startswith(f"{self.run_id}-"):
            return name
        full = f"{self.run_id}-{name}"
        if len(full) > 63 or not _DNS_LABEL.match(full):
            raise UsageError(f"namespace {full!r} is not a valid DNS label")
        return full

    def create_namespace(self, name: str) -> str:
        """Create ``<run id>-<name>`` (labelled with the run id); refuse one that exists."""
        full = self.namespace(name)
        if self.kube().find(NAMESPACE, full) is not None and full not in self.created_namespaces:
            raise RefusedDestructiveAction(
                f"namespace {full!r} already exists and this run did not create it"
            )
        self.kube().apply(
            {
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {"name": full, "labels": {RUN_LABEL: self.run_id}},
            }
        )
        self.created_namespaces.add(full)
        return full

    def assert_may_touch(self, namespace: str | None) -> None:
        """Refuse a destructive step outside the namespaces this run created."""
        if namespace is None or namespace not in self.created_namespaces:
            raise RefusedDestructiveAction(
                f"refusing a destructive step in {namespace or 'cluster scope'!r}: "
                "this run did not create it"
            )

    def delete_namespace(self, namespace: str, *, timeout: float = 300) -> None:
        self.assert_may_delete_namespace(namespace, self.created_namespaces)
        self.kube().delete_and_wait_gone(NAMESPACE, namespace, timeout=timeout)
        self.created_namespaces.discard(namespace)

    def cleanup(self) -> None:
        """Delete every namespace this run created (and nothing else)."""
        for namespace in sorted(self.created_namespaces):
            self.delete_namespace(namespace)

    # --- what drills need to know -----------------------------------------------------------

    def versions(self) -> dict[str, str]:
        found = {"kubernetes-server": "unknown", "volsync": "unknown"}
        try:
            found["kubernetes-server"] = self.kube().server_version()
        except KubeError as exc:
            found["kubernetes-server"] = f"unknown ({exc})"
        try:
            deployments = self.kube().list(
                DEPLOYMENT, label_selector="app.kubernetes.io/name=volsync"
            )
        except KubeError:
            return found
        for deployment in deployments:
            containers = deployment["spec"]["template"]["spec"].get("containers") or []
            for container in containers:
                image = str(container.get("image", ""))
                if "volsync" in image and ":" in image.rsplit("/", 1)[-1]:
                    found["volsync"] = image.rsplit(":", 1)[-1]
                    return found
        return found

"""The ``existing`` backend: a cluster someone else runs (e.g. staging with Longhorn).

Nothing here may hurt that cluster: it needs an explicit kubeconfig, context and opt-in
flag; drills put every object in namespaces of their own (``rd-<run id>-<app>``, made and
removed by the runner, which refuses one it did not create); the cluster itself and its
VolSync are never deleted nor changed.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from restore_drill.clusters.base import Cluster
from restore_drill.errors import KubeError, RefusedDestructiveAction, UsageError
from restore_drill.k8s import DEPLOYMENT, NAMESPACE

if TYPE_CHECKING:
    from restore_drill.objectstore import ObjectStore


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
        storage_class: str | None = None,
        snapshot_class: str | None = None,
        agent_image: str | None = None,
    ) -> None:
        if not allow_existing:
            raise UsageError(
                "the existing backend runs drills on a cluster you did not create: "
                "pass --allow-existing to confirm"
            )
        if not kubeconfig or not context:
            raise UsageError("the existing backend needs an explicit --kubeconfig and --context")
        super().__init__(name, run_dir, object_store)
        self._kubeconfig = Path(kubeconfig).expanduser()
        if not self._kubeconfig.is_file():
            raise UsageError(f"kubeconfig not found: {self._kubeconfig}")
        contexts = kubeconfig_contexts(self._kubeconfig)
        if context not in contexts:
            raise UsageError(
                f"context {context!r} is not in {self._kubeconfig} "
                f"(it has: {', '.join(contexts) or 'none'})"
            )
        self._context = context
        self._agent_image = agent_image
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

    @property
    def agent_image(self) -> str:
        return self._agent_image or super().agent_image

    # --- lifecycle ------------------------------------------------------------------------

    def create(self) -> None:
        """Check that the cluster answers; nothing is created at cluster scope."""
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.kube().list(NAMESPACE, label_selector="app.kubernetes.io/managed-by=restore-drill")

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


def kubeconfig_contexts(path: Path) -> list[str]:
    """The context names a kubeconfig file holds (read only; one line when unreadable)."""
    try:
        config = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise UsageError(f"kubeconfig {path} cannot be read: {exc}".splitlines()[0]) from None
    entries = config.get("contexts") if isinstance(config, dict) else None
    return [str(e.get("name")) for e in entries or [] if isinstance(e, dict) and e.get("name")]

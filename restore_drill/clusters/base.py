"""The cluster backend contract: what every backend (kind, existing) provides.

Scenario code talks only to this interface, so the same drill runs on every backend;
backend differences live in the backend.
"""

from __future__ import annotations

import abc
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from restore_drill.errors import RefusedDestructiveAction
from restore_drill.k8s import Kube

if TYPE_CHECKING:
    from restore_drill.objectstore import ObjectStore


class Cluster(abc.ABC):
    """One Kubernetes cluster a drill runs against.

    ``run_dir`` holds everything the run writes (kubeconfig, volumes, logs, bundles).
    ``created_by_this_run`` guards every destructive step: a cluster, namespace or bucket
    the run did not create is never deleted.
    """

    backend: str = ""  # "kind" | "existing": printed in every report

    def __init__(self, name: str, run_dir: Path, object_store: ObjectStore) -> None:
        self.name = name
        self.run_dir = Path(run_dir)
        self.object_store = object_store
        self.created_by_this_run = False
        self._kube: Kube | None = None
        self._kube_made_from: tuple[int, int] | None = None  # the kubeconfig's (mtime, size)

    # --- lifecycle ------------------------------------------------------------------------

    @staticmethod
    def ensure_available() -> None:
        """Raise :class:`BackendUnavailable` with one line when this backend cannot run
        here; called before anything is made. Most backends can always try."""
        return None

    @abc.abstractmethod
    def create(self) -> None:
        """Create the cluster (or reuse one that exists) with every addon Ready."""

    @abc.abstractmethod
    def _destroy(self) -> None:
        """Tear the cluster down (only called when this run created it)."""

    def delete(self) -> None:
        """Delete the cluster, refusing when this run did not create it."""
        if not self.created_by_this_run:
            raise RefusedDestructiveAction(
                f"refusing to delete {self.backend} cluster {self.name!r}: "
                "this run did not create it (a run reuses a cluster that already exists, "
                "e.g. one kept after a failure)"
            )
        self.close_client()
        self._destroy()
        self.created_by_this_run = False

    def rebuild(self) -> None:
        """Lose the cluster and build a new one with the same addons; the object store stays."""
        self.delete()
        self.create()

    # --- access ---------------------------------------------------------------------------

    @property
    def kubeconfig(self) -> Path:
        """The kubeconfig for this cluster, inside the run directory (never ~/.kube/config)."""
        return self.run_dir / "kubeconfig"

    @property
    def context(self) -> str | None:
        return None

    def kube(self) -> Kube:
        """The client for the cluster's kubeconfig as it is now: a rebuilt cluster's
        kubeconfig names a new port, and a client made from the old one (by another thread
        while the cluster was rebuilt) would talk to nothing."""
        made_from = _stamp(self.kubeconfig)
        if self._kube is None or made_from != self._kube_made_from:
            self.close_client()
            self._kube, self._kube_made_from = Kube(self.kubeconfig, self.context), made_from
        return self._kube

    def close_client(self) -> None:
        if self._kube is not None:
            self._kube.close()
            self._kube = None

    # --- what drills need to know -----------------------------------------------------------

    @property
    def agent_image(self) -> str:
        """The image the data agent's pods run (pinned in ``clusters/addons.yaml``)."""
        from restore_drill.addons import load_addons

        return str(load_addons().section("agent")["image"])

    storage_class: str = "csi-hostpath-sc"
    snapshot_class: str = "csi-hostpath-snapclass"

    @abc.abstractmethod
    def versions(self) -> dict[str, str]:
        """Component versions for reports: kubernetes, volsync, restic, snapshotter, ..."""

    def volsync_version_named(self, name: str) -> str:
        """``default`` or ``upgrade_from`` as pinned for this cluster, else ``name`` itself."""
        from restore_drill.addons import load_addons

        addons = load_addons()
        named = {"default": addons.volsync_default, "upgrade_from": addons.volsync_upgrade_from}
        return addons.check_volsync_version(named.get(name, name))

    @abc.abstractmethod
    def install_volsync(self, version: str) -> None:
        """Install or upgrade VolSync to ``version`` (one of the pinned versions)."""

    def assert_may_delete_namespace(self, namespace: str, created: set[str]) -> None:
        """Refuse to delete a namespace this run did not create."""
        if namespace not in created:
            raise RefusedDestructiveAction(
                f"refusing to delete namespace {namespace!r}: this run did not create it"
            )

    def collect_bundle(self, dest: Path, namespaces: list[str]) -> None:
        """Write objects, events and pod/mover logs of ``namespaces`` under ``dest``.

        Backends add their own extras (``kind export logs``). Secrets are redacted.
        """
        from restore_drill.clusters.bundle import store_secrets, write_bundle

        write_bundle(self.kube(), dest, namespaces, secrets=store_secrets(self.object_store))

    def __enter__(self) -> Cluster:
        self.create()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close_client()


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        info = path.stat()
    except OSError:
        return None
    return info.st_mtime_ns, info.st_size

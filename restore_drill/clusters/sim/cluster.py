"""``SimCluster``: the sim backend: the sim API server plus every sim controller, in-process.

``create()`` starts an empty :class:`SimApiServer` on 127.0.0.1, writes run_dir/kubeconfig,
creates the "addons" a kind cluster of VolSync's e2e setup has (namespace kube-system,
StorageClass ``csi-hostpath-sc`` as the default class, VolumeSnapshotClass
``csi-hostpath-snapclass`` as the default snapshot class; the CRDs of VolumeSnapshots and
VolSync are served by the API server itself), starts ``all_controllers`` and waits until each
has listed what it watches. ``_destroy()`` stops the controllers (killing pod processes), stops
the server and removes volumes, snapshots and pod directories: everything is lost, like a lost
cluster. The object store is the caller's: it is never touched, so it survives a rebuild.

Versions on the sim are labels: ``install_volsync(version)`` records which VolSync version the
drill asked for; the sim's VolSync behaviour is the same for all of them.
"""

from __future__ import annotations

import shutil
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from restore_drill.clusters.base import Cluster
from restore_drill.clusters.sim.api import SimApiServer
from restore_drill.clusters.sim.api.resources import KUBE_VERSION
from restore_drill.clusters.sim.controllers import all_controllers
from restore_drill.clusters.sim.controllers.base import Controller, SimContext
from restore_drill.clusters.sim.controllers.storage import DRIVER
from restore_drill.clusters.sim.runner import read_log
from restore_drill.errors import BackendUnavailable, DrillError
from restore_drill.restic import Restic

if TYPE_CHECKING:
    from restore_drill.objectstore import ObjectStore

DEFAULT_VOLSYNC = "0.16.0"
SYNC_TIMEOUT = 30.0


def addons(storage_class: str, snapshot_class: str) -> list[dict[str, Any]]:
    """What csi-driver-host-path's deploy script and VolSync's e2e setup create."""
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "kube-system"}},
        {
            "apiVersion": "storage.k8s.io/v1",
            "kind": "StorageClass",
            "metadata": {
                "name": storage_class,
                "annotations": {"storageclass.kubernetes.io/is-default-class": "true"},
            },
            "provisioner": DRIVER,
            "reclaimPolicy": "Delete",
            "volumeBindingMode": "Immediate",
            "allowVolumeExpansion": True,
        },
        {
            "apiVersion": "snapshot.storage.k8s.io/v1",
            "kind": "VolumeSnapshotClass",
            "metadata": {
                "name": snapshot_class,
                "annotations": {"snapshot.storage.kubernetes.io/is-default-class": "true"},
            },
            "driver": DRIVER,
            "deletionPolicy": "Delete",
        },
    ]


class SimCluster(Cluster):
    """A simulated cluster: real data path (directories, restic, S3), simulated control plane."""

    backend = "sim"

    def __init__(
        self,
        name: str,
        run_dir: Path,
        object_store: ObjectStore | None = None,
        *,
        volsync_version: str = DEFAULT_VOLSYNC,
        port: int = 0,
    ) -> None:
        super().__init__(name, run_dir, cast("ObjectStore", object_store))
        self.volsync_version = volsync_version
        self.port = port
        self.server: SimApiServer | None = None
        self.controllers: list[Controller] = []

    # --- lifecycle ----------------------------------------------------------------------

    def create(self) -> None:
        if self.server is not None:
            return
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.server = SimApiServer(host="127.0.0.1", port=self.port).start()
        self.created_by_this_run = True
        try:
            self.server.write_kubeconfig(self.kubeconfig)
            pods_dir = self.context_for().pods_dir
            self.server.set_log_source(
                lambda namespace, pod, container: read_log(pods_dir, namespace, pod, container)
            )
            kube = self.kube()
            for manifest in addons(self.storage_class, self.snapshot_class):
                if kube.find(*_identity(manifest)) is None:
                    kube.create(manifest)
            self.controllers = all_controllers(self.context_for())
            for controller in self.controllers:
                controller.start()
            for controller in self.controllers:
                if not controller.wait_synced(SYNC_TIMEOUT):
                    raise BackendUnavailable(
                        f"sim controller {controller.name} did not list its objects within "
                        f"{SYNC_TIMEOUT:.0f}s (see {self.run_dir / 'logs'})"
                    )
        except BaseException:
            self._destroy()
            raise

    def context_for(self) -> SimContext:
        return SimContext(run_dir=self.run_dir, kubeconfig=self.kubeconfig)

    def _destroy(self) -> None:
        self.close_client()
        # controllers stop in parallel: pod processes get their (capped) grace period at once
        stoppers = [threading.Thread(target=c.stop, daemon=True) for c in self.controllers]
        for thread in stoppers:
            thread.start()
        for thread in stoppers:
            thread.join(10)
        self.controllers = []
        if self.server is not None:
            self.server.stop()
            self.server = None
        for lost in ("volumes", "snapshots", "pods"):
            shutil.rmtree(self.run_dir / lost, ignore_errors=True)

    def rebuild(self) -> None:
        """A new, empty API server and fresh controllers; the object store is kept."""
        self.delete()
        self.create()

    # --- what drills need to know ---------------------------------------------------------

    def versions(self) -> dict[str, str]:
        try:
            restic = Restic.version()
        except DrillError as exc:
            restic = f"unknown ({exc})"
        return {
            "backend": "sim",
            "kubernetes": f"sim-{KUBE_VERSION['gitVersion']}",
            "volsync": self.volsync_version,
            "restic": restic,
        }

    def install_volsync(self, version: str) -> None:
        """On the sim a VolSync version is only a label in reports (same behaviour for all)."""
        self.volsync_version = version

    @classmethod
    def serve(cls, *, kubeconfig: Path, port: int = 0, run_dir: Path | None = None) -> int:
        """``restore-drill sim serve``: the full sim cluster in the foreground until Ctrl-C."""
        directory = Path(run_dir) if run_dir else kubeconfig.parent / "sim-run"
        cluster = cls("sim", directory, None, port=port)
        cluster.create()
        try:
            shutil.copyfile(cluster.kubeconfig, kubeconfig)
            assert cluster.server is not None
            print(f"sim cluster listening on {cluster.server.url}", flush=True)
            print(f"kubeconfig: {kubeconfig}", flush=True)
            print("press Ctrl-C to stop (the cluster is lost when it stops)", flush=True)
            threading.Event().wait()
        except KeyboardInterrupt:
            print("stopping", flush=True)
        finally:
            cluster.delete()
        return 0


def _identity(manifest: dict[str, Any]) -> tuple[Any, str]:
    from restore_drill.k8s import kind_of

    return kind_of(manifest), str(manifest["metadata"]["name"])

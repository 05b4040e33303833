"""The ``kind`` backend: a real single-node Kubernetes in Docker, with pinned addons.

The cluster is made with the kind CLI on PATH, not with pytest-kind's ``KindCluster``:
that class downloads its own kind (v0.17.0, too old for the pinned node image) unless
given a path, writes ``.pytest-kind/`` into the current directory, reuses an existing
cluster without saying so (we must know whether this run created it before we may delete
it), and has no ``--wait`` nor ``kind export logs``. The kind CLI gives all of that in
four commands, each an argv list built below and tested.
"""

from __future__ import annotations

import logging
import re
import shutil
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from restore_drill.addons import (
    KIND_CONFIG_FILE,
    AddonInstaller,
    Addons,
    load_addons,
    run_command,
)
from restore_drill.addons.together import run_together
from restore_drill.clusters.base import Cluster
from restore_drill.clusters.bundle import store_secrets, write_bundle
from restore_drill.clusters.kind_offline import (
    KIND_OFFLINE_OVERLAY,
    ImageLoads,
    built_image_versions,
    choose_images,
    load_config_overlay,
    load_order,
    merge_config,
    node_images,
    wait_pod_network,
    write_pod_network,
)
from restore_drill.errors import BackendUnavailable, DrillError, UsageError
from restore_drill.images.pins import Offline
from restore_drill.images.tools import missing_tools

if TYPE_CHECKING:
    from restore_drill.objectstore import ObjectStore

log = logging.getLogger(__name__)

DOCKER_TIMEOUT = 10.0
NO_DOCKER_HINT = "start a Docker engine (`make setup` starts Debian's dockerd where it can)"


def docker_engine_answers(timeout: float = DOCKER_TIMEOUT) -> tuple[bool, str]:
    """(True, server version) when a Docker engine answers; else (False, why)."""
    if shutil.which("docker") is None:
        return False, "the docker CLI is not installed"
    try:
        done = subprocess.run(
            ["docker", "info", "--format", "{{.ServerVersion}}"],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return False, f"the Docker engine did not answer within {timeout:.0f}s"
    version = done.stdout.strip()
    if done.returncode == 0 and version:
        return True, f"Docker engine {version}"
    lines = [line.strip() for line in (done.stderr or "").splitlines() if line.strip()]
    why = lines[-1] if lines else f"docker info exited {done.returncode}"
    return False, f"no Docker engine answers ({why})"


REQUIRED_TOOLS = ("kind", "kubectl", "helm")
KIND_WAIT = "180s"  # `kind create cluster --wait`: the control plane Ready
# kind's own rule for cluster names (it also names Docker containers after them).
CLUSTER_NAME = re.compile(r"^[a-z0-9.-]+$")


def validate_cluster_name(name: str) -> str:
    """``name`` if kind accepts it, else a :class:`UsageError` saying why."""
    # Its node container is <name>-control-plane, a hostname of at most 63 characters.
    if not CLUSTER_NAME.fullmatch(name) or len(name) > 49:
        raise UsageError(
            f"kind cluster name {name!r} is invalid: use lower-case letters, digits, '.' "
            "and '-' only, at most 49 characters"
        )
    return name


def kind_unavailable_reason() -> str | None:
    """One line saying why the kind backend cannot run here and what to do; None if it can.

    Also used to skip tests marked ``kind`` (tests/conftest.py, the pytest plugin)."""
    answers, why = docker_engine_answers()
    if not answers:
        return f"{why}; {NO_DOCKER_HINT}"
    missing = missing_tools(REQUIRED_TOOLS)
    if missing:
        return (
            f"{', '.join(missing)} not found; 'restore-drill images build' builds the pinned "
            f"kind {load_addons().kind_version}, kubectl and helm (see 'restore-drill doctor')"
        )
    return None


def render_kind_config(
    addons: Addons, name: str, source: Path = KIND_CONFIG_FILE
) -> dict[str, Any]:
    """``clusters/kind.yaml`` with this cluster's name (the image comes from ``--image``)."""
    config = yaml.safe_load(source.read_text(encoding="utf-8"))
    if not isinstance(config, dict):
        raise UsageError(f"{source}: expected a kind Cluster mapping")
    config["name"] = name
    return config


def kind_create_argv(
    name: str, config: Path, image: str, kubeconfig: Path, wait: str | None = KIND_WAIT
) -> list[str]:
    argv = [
        "kind",
        "create",
        "cluster",
        "--name",
        name,
        "--config",
        str(config),
        "--image",
        image,
        "--kubeconfig",
        str(kubeconfig),
    ]
    return [*argv, "--wait", wait] if wait else argv


def kind_cluster_exists(name: str) -> bool:
    return name in run_command(["kind", "get", "clusters"], timeout=60).stdout.split()


def kind_delete_argv(name: str, kubeconfig: Path) -> list[str]:
    return ["kind", "delete", "cluster", "--name", name, "--kubeconfig", str(kubeconfig)]


def kind_export_kubeconfig_argv(name: str, kubeconfig: Path) -> list[str]:
    return ["kind", "export", "kubeconfig", "--name", name, "--kubeconfig", str(kubeconfig)]


def kind_export_logs_argv(name: str, dest: Path) -> list[str]:
    return ["kind", "export", "logs", str(dest), "--name", name]


class KindCluster(Cluster):
    """A kind cluster named ``name``; reused (never claimed) when it already exists."""

    backend = "kind"

    def __init__(
        self,
        name: str,
        run_dir: Path,
        object_store: ObjectStore,
        *,
        addons: Addons | None = None,
        volsync_version: str | None = None,
        install_addons: bool = True,
        images: str = "auto",
    ) -> None:
        super().__init__(validate_cluster_name(name), run_dir, object_store)
        self.addons = addons or load_addons()
        # "built": the offline image set made by `restore-drill images build`;
        # "pulled": upstream images from their registries (kindest/node, upstream addons).
        self.images = choose_images(self.addons, images)
        self.volsync_version = self.addons.check_volsync_version(
            volsync_version or self.addons.volsync_default
        )
        self.install_addons = install_addons

    # --- lifecycle ------------------------------------------------------------------------

    @staticmethod
    def ensure_available() -> None:
        """Raise :class:`BackendUnavailable` with one line when kind cannot run here."""
        why = kind_unavailable_reason()
        if why:
            raise BackendUnavailable(f"kind backend unavailable: {why}")

    def exists(self) -> bool:
        return kind_cluster_exists(self.name)

    def create(self) -> None:
        self.ensure_available()
        self.run_dir.mkdir(parents=True, exist_ok=True)
        if self.exists():
            # Someone else's (or an earlier run's) cluster: use it, never claim it.
            # Said plainly: a reused cluster is never deleted, so cluster-rebuild refuses it.
            print(
                f"restore-drill: reusing kind cluster {self.name} (not made by this run: it is "
                f"never deleted; 'kind delete cluster --name {self.name}' removes it)",
                flush=True,
            )
            run_command(kind_export_kubeconfig_argv(self.name, self.kubeconfig), timeout=60)
        else:
            self._create_cluster()
        self.kubeconfig.chmod(0o600)
        if not self.offline:  # `kind create --wait` waited for the node
            if self.install_addons:
                self._installer().install_all(self.kube(), self.volsync_version)
            return
        # Offline: the images load in the background while the node's network comes up
        # and the addons are applied; each addon waits only for its own images.
        node = f"{self.name}-control-plane"
        loads = ImageLoads(self.name, load_order(self.addons, self.volsync_version))
        write_pod_network(self.kube(), node)
        steps = {"pod network": lambda: wait_pod_network(self.kube(), node)}
        if self.install_addons:
            installer = self._installer(loads)
            steps["addons"] = lambda: installer.install_all(self.kube(), self.volsync_version)
        run_together(steps)
        loads.wait_all()  # what drills run later (the data agent) is in the node too

    def volsync_version_named(self, name: str) -> str:
        if self.offline and name == "upgrade_from":
            # Offline, the releases the module proxy serves: docs/offline-images.md.
            return self.addons.check_volsync_version(str(Offline(self.addons).spec[name]))
        return super().volsync_version_named(name)

    @property
    def agent_image(self) -> str:
        return Offline(self.addons).agent_image if self.offline else super().agent_image

    @property
    def offline(self) -> bool:
        return self.images == "built"

    def _installer(self, loads: ImageLoads | None = None) -> AddonInstaller:
        node = f"{self.name}-control-plane"
        return AddonInstaller(
            self.addons,
            self.kubeconfig,
            self.run_dir,
            offline=self.offline,
            node_images=(lambda: node_images(node)) if self.offline else None,
            images_loaded=loads.wait_for if loads else None,
        )

    def _create_cluster(self) -> None:
        config_path = self.run_dir / "kind.yaml"
        config = render_kind_config(self.addons, self.name)
        image = self.addons.node_image
        if self.offline:
            config = merge_config(config, load_config_overlay(KIND_OFFLINE_OVERLAY))
            image = Offline(self.addons).node_image
        config_path.write_text(yaml.safe_dump(config))
        # Offline nodes have no CNI until write_pod_network: kind's --wait would time out.
        wait = None if self.offline else KIND_WAIT
        self.created_by_this_run = True  # from here on, a half-made cluster is ours to delete
        run_command(
            kind_create_argv(self.name, config_path, image, self.kubeconfig, wait), timeout=600
        )

    def _destroy(self) -> None:
        run_command(kind_delete_argv(self.name, self.kubeconfig), timeout=300)

    # --- what drills need -----------------------------------------------------------------

    def install_volsync(self, version: str) -> None:
        self.addons.check_volsync_version(version)
        self._installer().install_volsync(self.kube(), version)
        self.volsync_version = version

    def versions(self) -> dict[str, str]:
        found = self.addons.versions()
        found["volsync"] = self.volsync_version
        found["kubernetes-server"] = self.server_version()
        found["images"] = self.images
        found["csi-driver"] = f"csi-driver-host-path {found.pop('csi-driver-host-path')}"
        if self.offline:
            offline = Offline(self.addons)
            found.update(
                {
                    "node-image": offline.node_image,
                    "csi-driver": f"{offline.csi_driver_image} (stand-in, docs/csi-hostpath.md)",
                    "minio-image": offline.minio_image,
                    "agent-image": offline.agent_image,
                    "volsync-upgrade-from": self.volsync_version_named("upgrade_from"),
                    "volume-data-source-validator": "not installed (docs/offline-images.md)",
                }
            )
            found.update(built_image_versions(self.addons))
        return found

    def server_version(self) -> str:
        try:
            return self.kube().server_version()
        except DrillError as exc:  # versions decorate reports: never fail a run for them
            return f"unknown ({exc})"

    def collect_bundle(self, dest: Path, namespaces: list[str]) -> None:
        write_bundle(self.kube(), dest, namespaces, secrets=store_secrets(self.object_store))
        # What the addon installers printed (csi-driver-host-path's deploy.sh among them).
        for log in sorted((self.run_dir / "addons").glob("*.log")):
            (dest / "addons").mkdir(parents=True, exist_ok=True)
            shutil.copy2(log, dest / "addons" / log.name)
        try:
            run_command(kind_export_logs_argv(self.name, dest / "kind-logs"), timeout=300)
        except DrillError as exc:
            # A bundle is collected when things already went wrong: note, never raise.
            dest.mkdir(parents=True, exist_ok=True)
            with (dest / "errors.txt").open("a", encoding="utf-8") as errors:
                errors.write(f"kind export logs: {exc}\n")

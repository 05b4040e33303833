"""Installing the addons, each followed by its readiness wait (watch-driven): the snapshot
CRDs first (the snapshot-controller, the CSI driver's snapshotter and VolSync watch them),
then every other addon side by side (``together.run_together``)."""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from restore_drill.addons import offline
from restore_drill.addons.commands import (
    csi_hostpath_clone_argv,
    csi_hostpath_deploy_argv,
    data_source_validator_argv,
    helm_env,
    helm_repo_argv,
    helm_volsync_argv,
    kubectl,
    run_command,
    snapshotter_argv,
    with_controller_args,
)
from restore_drill.addons.pins import (
    Addons,
    demote_default_class_patch,
    snapshot_class_manifest,
    storage_class_manifest,
)
from restore_drill.addons.together import run_together
from restore_drill.k8s import CRD, DEPLOYMENT, STATEFUL_SET, STORAGE_CLASS, Kind, Kube, Obj
from restore_drill.kinds import dig

log = logging.getLogger(__name__)

# csi-driver-host-path's deploy.sh waits up to ~310 s on its own before it prints its
# diagnostics; a shorter timeout would kill it before it says what went wrong.
CSI_DEPLOY_SECONDS = 420.0

# --- readiness --------------------------------------------------------------------------------


def _condition(obj: Obj | None, kind: str) -> bool:
    if obj is None:
        return False
    for cond in dig(obj, "status", "conditions") or []:
        if cond.get("type") == kind:
            return bool(cond.get("status") == "True")
    return False


def crd_established(obj: Obj | None) -> bool:
    return _condition(obj, "Established")


def deployment_available(obj: Obj | None) -> bool:
    """Available, with its current template rolled out: every replica updated and no old
    one left (as ``kubectl rollout status`` and ``helm --wait`` wait; an upgrade keeps the
    old pod Available until the new one is ready). Available itself allows what the
    Deployment's maxUnavailable allows, as before."""
    if obj is None:
        return False
    current = (dig(obj, "status", "observedGeneration") or 0) >= (
        dig(obj, "metadata", "generation") or 0
    )
    replicas = dig(obj, "spec", "replicas")
    wanted = 1 if replicas is None else replicas
    status = obj.get("status") or {}
    updated = status.get("updatedReplicas", 0)
    rolled_out = updated >= wanted and status.get("replicas", 0) <= updated
    return current and rolled_out and _condition(obj, "Available")


def statefulset_ready(obj: Obj | None) -> bool:
    if obj is None:
        return False
    replicas = dig(obj, "spec", "replicas")
    wanted = 1 if replicas is None else replicas
    status = obj.get("status") or {}
    return bool(
        status.get("readyReplicas", 0) >= wanted and status.get("updatedReplicas", 0) >= wanted
    )


@dataclass(frozen=True)
class Readiness:
    """One thing that must hold before drills start: ``predicate`` on one object."""

    what: str
    kind: Kind
    name: str
    namespace: str | None

    def wait(self, kube: Kube, timeout: float) -> None:
        start = time.monotonic()
        predicate = {
            CRD: crd_established,
            DEPLOYMENT: deployment_available,
            STATEFUL_SET: statefulset_ready,
        }[self.kind]
        kube.wait_for(
            self.kind, self.name, self.namespace, predicate, timeout=timeout, what=self.what
        )
        log.info("%s (after %.1fs)", self.what, time.monotonic() - start)


def snapshotter_readiness(addons: Addons) -> list[Readiness]:
    snap = addons.section("snapshotter")
    crds = [Readiness(f"CRD {name} Established", CRD, str(name), None) for name in snap["crds"]]
    ns, deploy = str(snap["controller_namespace"]), str(snap["controller_deployment"])
    return [*crds, Readiness(f"{ns}/{deploy} Available", DEPLOYMENT, deploy, ns)]


def data_source_validator_readiness(addons: Addons) -> list[Readiness]:
    dsv = addons.section("data_source_validator")
    if not dsv.get("enabled", False):
        return []
    return [Readiness(f"CRD {name} Established", CRD, str(name), None) for name in dsv["crds"]]


def csi_hostpath_readiness(addons: Addons) -> list[Readiness]:
    hp = addons.section("csi_hostpath")
    ns, name = str(hp["namespace"]), str(hp["statefulset"])
    return [Readiness(f"StatefulSet {ns}/{name} ready", STATEFUL_SET, name, ns)]


def offline_csi_readiness() -> Readiness:
    what = "StatefulSet kube-system/csi-hostpathplugin ready"
    return Readiness(what, STATEFUL_SET, "csi-hostpathplugin", "kube-system")


def volsync_readiness(addons: Addons) -> list[Readiness]:
    vs = addons.section("volsync")
    crds = [Readiness(f"CRD {name} Established", CRD, str(name), None) for name in vs["crds"]]
    ns, deploy = str(vs["namespace"]), str(vs["deployment"])
    return [*crds, Readiness(f"VolSync {ns}/{deploy} Available", DEPLOYMENT, deploy, ns)]


# --- installing ----------------------------------------------------------------------------


class AddonInstaller:
    """Installs every addon at its pinned version into the cluster behind ``kubeconfig``."""

    def __init__(
        self,
        addons: Addons,
        kubeconfig: Path,
        run_dir: Path,
        *,
        timeout: float = 300,
        offline: bool = False,
        node_images: Callable[[], set[str]] | None = None,
        images_loaded: Callable[[set[str]], None] | None = None,
    ) -> None:
        self.addons = addons
        self.offline = offline  # sources from the module cache, our CSI driver
        self.node_images = node_images  # what the node has, where nothing may be pulled
        # Waits until these images are in the node (loaded in the background meanwhile).
        self.images_loaded = images_loaded
        self.kubeconfig = Path(kubeconfig)
        self.run_dir = Path(run_dir)
        self.timeout = timeout
        self.env = {"KUBECONFIG": str(self.kubeconfig)}

    def install_all(self, kube: Kube, volsync_version: str | None = None) -> None:
        """The snapshot CRDs, then every other addon side by side, each with its waits."""
        version = volsync_version or self.addons.volsync_default
        self.install_snapshot_crds(kube)
        run_together(
            {
                "snapshot-controller": lambda: self.install_snapshot_controller(kube),
                "data-source-validator": lambda: self.install_data_source_validator(kube),
                "csi-hostpath": lambda: self.install_csi_hostpath(kube),
                "storage-classes": lambda: self.install_storage_classes(kube),
                f"volsync-{version}": lambda: self.install_volsync(kube, version),
            }
        )

    def _run_all(self, commands: Iterable[Sequence[str]], **kwargs: Any) -> None:
        for argv in commands:
            run_command(argv, env=self.env, timeout=self.timeout, **kwargs)

    def _require_images(self, objects: list[Obj], what: str) -> None:
        wanted = offline.manifest_images(objects)
        if self.images_loaded is not None:
            self.images_loaded(wanted)
        if self.node_images is not None:
            offline.require_images(wanted, self.node_images(), what)

    def _wait_all(self, kube: Kube, checks: Iterable[Readiness]) -> None:
        for check in checks:
            check.wait(kube, self.timeout)

    def install_snapshotter(self, kube: Kube) -> None:
        self.install_snapshot_crds(kube)
        self.install_snapshot_controller(kube)

    def install_snapshot_crds(self, kube: Kube) -> None:
        if self.offline:
            crds = offline.snapshotter_crds_argv(self.addons, self.kubeconfig)
        else:
            crds = snapshotter_argv(self.addons, self.kubeconfig)[0]
        run_command(crds, env=self.env, timeout=self.timeout)
        # The controller watches the CRDs: let them settle before it starts.
        self._wait_all(kube, [r for r in snapshotter_readiness(self.addons) if r.kind == CRD])

    def install_snapshot_controller(self, kube: Kube) -> None:
        if self.offline:
            render = offline.snapshot_controller_render_argv(self.addons, self.kubeconfig)
        else:
            render = snapshotter_argv(self.addons, self.kubeconfig)[1]
        rendered = run_command(render, env=self.env, timeout=self.timeout).stdout
        objects = [doc for doc in yaml.safe_load_all(rendered) if isinstance(doc, dict)]
        if self.offline:
            offline.pin_controller_image(objects, self.addons)
            self._require_images(objects, "the snapshot-controller")
        namespace = str(self.addons.section("snapshotter")["controller_namespace"])
        run_command(
            kubectl(self.kubeconfig, *offline.SERVER_SIDE, "-n", namespace, "-f", "-"),
            env=self.env,
            timeout=self.timeout,
            stdin=yaml.safe_dump_all(with_controller_args(objects, self.addons)),
        )
        self._wait_all(kube, [r for r in snapshotter_readiness(self.addons) if r.kind != CRD])

    def install_data_source_validator(self, kube: Kube) -> None:
        if self.offline:
            # Its VolumePopulator CRD lives in a nested module the proxy does not serve.
            return
        self._run_all(data_source_validator_argv(self.addons, self.kubeconfig))
        self._wait_all(kube, data_source_validator_readiness(self.addons))

    def install_csi_hostpath(self, kube: Kube) -> None:
        if self.offline:
            objects = offline.csi_driver_objects(self.addons)
            self._require_images(objects, "the CSI hostpath driver")
            for obj in objects:
                kube.apply(obj)
            self._wait_all(kube, [offline_csi_readiness()])
            return
        checkout = self.run_dir / "addons" / "csi-driver-host-path"
        if checkout.exists():
            shutil.rmtree(checkout)
        checkout.parent.mkdir(parents=True, exist_ok=True)
        run_command(csi_hostpath_clone_argv(self.addons, checkout), timeout=self.timeout)
        for manifest in self.addons.section("csi_hostpath").get("drop_manifests") or []:
            (checkout / str(manifest)).unlink(missing_ok=True)
        run_command(
            csi_hostpath_deploy_argv(self.addons, checkout),
            env=self.env,
            cwd=checkout,
            timeout=max(self.timeout, CSI_DEPLOY_SECONDS),
            log_path=self.run_dir / "addons" / "csi-hostpath-deploy.log",
        )
        self._wait_all(kube, csi_hostpath_readiness(self.addons))

    def install_storage_classes(self, kube: Kube) -> None:
        kind_default = str(self.addons.section("storage").get("kind_default_class") or "")
        if kind_default and kube.find(STORAGE_CLASS, kind_default) is not None:
            kube.patch(STORAGE_CLASS, kind_default, demote_default_class_patch())
        # Our offline driver cannot expand volumes; csi-driver-host-path can.
        kube.apply(storage_class_manifest(self.addons, expansion=not self.offline))
        kube.apply(snapshot_class_manifest(self.addons))

    def install_volsync(self, kube: Kube, version: str) -> None:
        self.addons.check_volsync_version(version)
        env = helm_env(self.run_dir, self.kubeconfig)
        if self.offline:
            chart = offline.volsync_chart(self.addons, version)
            values = offline.write_volsync_values(self.run_dir, version)
            argv = helm_volsync_argv(self.addons, self.kubeconfig, version, chart, values)
            template = ["helm", "template", "volsync", str(chart), "--values", str(values)]
            rendered = run_command(template, env=env, timeout=self.timeout).stdout
            objects = [o for o in yaml.safe_load_all(rendered) if isinstance(o, dict)]
            self._require_images(objects, f"VolSync {version}'s chart")
        else:
            for repo_argv in helm_repo_argv(self.addons):
                run_command(repo_argv, env=env, timeout=self.timeout)
            argv = helm_volsync_argv(self.addons, self.kubeconfig, version)
        run_command(
            argv,
            env=env,
            timeout=max(self.timeout, 660),
        )
        self._wait_all(kube, volsync_readiness(self.addons))

"""The ``offline`` section of ``clusters/addons.yaml``: the pinned Go modules, VolSync
releases and image names of the offline image set, read in one place."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from restore_drill.addons.pins import REPO_ROOT, Addons

IMAGES_DIR = REPO_ROOT / "images"
K8S_COMPONENTS = ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "kube-proxy")


@dataclass(frozen=True)
class Module:
    """One pinned Go module of ``offline.modules`` and its wrapper under ``images/``."""

    module: str
    version: str
    dir: str

    @property
    def path(self) -> Path:
        return IMAGES_DIR / self.dir


class Offline:
    """The ``offline`` section of ``clusters/addons.yaml``, read as the build needs it."""

    def __init__(self, addons: Addons) -> None:
        self.addons = addons
        self.spec = addons.section("offline")

    def module(self, name: str) -> Module:
        raw = self.spec["modules"][name]
        return Module(str(raw["module"]), str(raw["version"]), str(raw.get("dir", "")))

    @property
    def suite(self) -> str:
        return str(self.spec["debian"]["suite"])

    @property
    def mirror(self) -> str:
        return str(self.spec["debian"]["mirror"])

    @property
    def base_image(self) -> str:
        return f"restore-drill/debian-base:{self.suite}"

    @property
    def node_rootfs_image(self) -> str:
        return f"restore-drill/node-rootfs:{self.suite}"

    @property
    def node_image(self) -> str:
        return f"{self.spec['node_image']}:{self.addons.kubernetes_version}"

    @property
    def volsync_versions(self) -> list[str]:
        return [str(v) for v in self.spec["volsync"]]

    def restic_version(self, volsync: str) -> str:
        return str(self.spec["volsync"][volsync]["restic"])

    @property
    def pause(self) -> str:
        return str(self.spec["pause"])

    @property
    def csi_driver_image(self) -> str:
        driver = self.spec["csi_driver"]
        return f"{driver['image']}:{driver['version']}"

    @property
    def minio_image(self) -> str:
        return f"{self.spec['minio_image']}:{self.module('minio').version}"

    @property
    def agent_image(self) -> str:
        return str(self.spec["agent_image"])

    # --- upstream names the images keep -------------------------------------------------

    def control_plane_images(self) -> dict[str, str]:
        """Image per control-plane component, as ``kubeadm config images list`` names them."""
        k8s = self.addons.kubernetes_version
        names = {c: f"registry.k8s.io/{c}:{k8s}" for c in K8S_COMPONENTS}
        names["etcd"] = f"registry.k8s.io/etcd:{self.spec['modules']['etcd']['tag']}"
        names["coredns"] = f"registry.k8s.io/coredns/coredns:{self.module('coredns').version}"
        names["pause"] = f"registry.k8s.io/pause:{self.pause}"
        return names

    def addon_images(self) -> dict[str, str]:
        """Images ``kind load`` puts into a new cluster: everything but the node's own."""
        snap = self.module("external_snapshotter").version
        images = {
            "snapshot-controller": f"registry.k8s.io/sig-storage/snapshot-controller:{snap}",
            "csi-snapshotter": f"registry.k8s.io/sig-storage/csi-snapshotter:{snap}",
            "csi-provisioner": "registry.k8s.io/sig-storage/csi-provisioner:"
            + self.module("external_provisioner").version,
            "csi-hostpath": self.csi_driver_image,
            "agent": self.agent_image,
            "kube-rbac-proxy": "quay.io/brancz/kube-rbac-proxy:"
            + self.module("kube_rbac_proxy").version,
        }
        for version in self.volsync_versions:
            images[f"volsync-{version}"] = volsync_image(version)
        return images


def volsync_image(version: str) -> str:
    return f"quay.io/backube/volsync:{version}"

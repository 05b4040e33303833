"""The whole offline image set as one ordered list of build steps."""

from __future__ import annotations

from dataclasses import dataclass

from restore_drill.addons.pins import Addons
from restore_drill.images.node import NodeImage
from restore_drill.images.pins import Offline
from restore_drill.images.recipes import (
    CNI_PLUGINS,
    bases,
    go_builds,
    images,
    pause_step,
)
from restore_drill.images.steps import DebianImage, DockerImage, Step


@dataclass(frozen=True)
class Plan:
    """Steps in build order, and the images a kind cluster gets from them."""

    steps: list[Step]
    node_image: str
    addon_images: dict[str, str]

    def docker_images(self) -> list[Step]:
        return [s for s in self.steps if isinstance(s, DockerImage | NodeImage | DebianImage)]


def make_plan(addons: Addons) -> Plan:
    offline = Offline(addons)
    base, node_rootfs = bases(offline)
    builds = go_builds(offline)
    pause = pause_step(offline)
    built = images(offline, builds, pause, base.key())
    control_plane = set(offline.control_plane_images().values())
    k8s = builds["kubernetes"]
    cni = builds["cni"]
    stage = {f"bin/{b}": k8s.out_dir / b for b in ("kubelet", "kubeadm", "kubectl")}
    stage["bin/runc-wrapper"] = builds["runc-wrapper"].out_dir / "runc-wrapper"
    stage.update({f"cni/{p}": cni.out_dir / p for p in CNI_PLUGINS})
    kind = offline.module("kind")
    node = NodeImage(
        name="node",
        version=addons.kubernetes_version,
        how=f"kind {kind.version} node layout on debootstrap {offline.suite}, "
        f"Kubernetes {addons.kubernetes_version} from Go modules",
        image=offline.node_image,
        rootfs_image=offline.node_rootfs_image,
        kind_module=(kind.module, kind.version),
        stage=stage,
        preload=[i for i in built if set(i.tags) & control_plane],
        inputs=(node_rootfs.key(),),
        pause_image=offline.control_plane_images()["pause"],
    )
    steps: list[Step] = [base, node_rootfs, *builds.values(), pause, *built, node]
    return Plan(steps=steps, node_image=offline.node_image, addon_images=offline.addon_images())

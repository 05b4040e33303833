"""What a kind cluster made from the offline image set needs beyond ``kind create``.

The node image built here has no kindnetd (its module is not served), so the cluster is
created with ``disableDefaultCNI`` and the CNI bridge plugin gets a conflist for the
node's own pod CIDR once the controller-manager has allocated it, as kindnetd would write
it. Addon images are loaded into the node with ``kind load``, never pulled: in the
background, in the order the installs need them (:class:`ImageLoads`), while the node's
network comes up and the first addons are applied.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from restore_drill.addons import REPO_ROOT, Addons, Readiness, run_command
from restore_drill.addons.together import Background
from restore_drill.errors import ImageMissing, UsageError, WaitTimeout
from restore_drill.images.pins import Offline, volsync_image
from restore_drill.images.steps import HOW_LABEL, docker_label
from restore_drill.k8s import DAEMON_SET, DEPLOYMENT, NODE, Kube, Obj
from restore_drill.kinds import dig

log = logging.getLogger(__name__)

KIND_OFFLINE_OVERLAY = REPO_ROOT / "clusters" / "kind-offline.yaml"
IMAGE_CHOICES = ("auto", "built", "pulled")
CNI_CONFIG_PATH = "/etc/cni/net.d/10-restore-drill.conflist"
NODE_READY_TIMEOUT = 180.0


def choose_images(addons: Addons, requested: str) -> str:
    """``built`` (the offline set) or ``pulled``; ``auto`` is built when the node image is."""
    if requested not in IMAGE_CHOICES:
        raise UsageError(f"unknown image source {requested!r} (choose from {IMAGE_CHOICES})")
    if requested == "pulled":
        return requested  # nothing built is needed, so Docker is not asked
    node = Offline(addons).node_image
    present = docker_label(node, "restore-drill.key") is not None
    if requested == "built" and not present:
        raise ImageMissing(f"{node} is not built: run 'restore-drill images build'")
    if requested == "auto":
        return "built" if present else "pulled"
    return requested


def built_image_versions(addons: Addons) -> dict[str, str]:
    """``image <name>`` -> how it was built here, for reports (from each image's label)."""
    offline = Offline(addons)
    names = [offline.node_image, offline.minio_image, *offline.addon_images().values()]
    return {f"image {name}": docker_label(name, HOW_LABEL) or "not built" for name in names}


def merge_config(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """``extra`` over ``base``: mappings merge, lists append, scalars replace."""
    merged = dict(base)
    for key, value in extra.items():
        old = merged.get(key)
        if isinstance(old, dict) and isinstance(value, dict):
            merged[key] = merge_config(old, value)
        elif isinstance(old, list) and isinstance(value, list):
            merged[key] = [*old, *value]
        else:
            merged[key] = value
    return merged


def load_config_overlay(path: Path) -> dict[str, Any]:
    overlay = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(overlay, dict):
        raise UsageError(f"{path}: expected a mapping to merge over the kind config")
    return overlay


def cni_conflist(pod_cidr: str) -> str:
    """The bridge network for ``pod_cidr`` (the node's ``spec.podCIDR``)."""
    config = {
        "cniVersion": "1.0.0",
        "name": "restore-drill",
        "plugins": [
            {
                "type": "bridge",
                "bridge": "cni0",
                "isGateway": True,
                "ipMasq": True,
                "hairpinMode": True,
                "ipam": {
                    "type": "host-local",
                    "ranges": [[{"subnet": pod_cidr}]],
                    "routes": [{"dst": "::/0" if ":" in pod_cidr else "0.0.0.0/0"}],
                },
            },
            {"type": "portmap", "capabilities": {"portMappings": True}},
        ],
    }
    return json.dumps(config, indent=2)


def node_ready(node: Obj | None) -> bool:
    for condition in dig(node, "status", "conditions") or []:
        if condition.get("type") == "Ready":
            return bool(condition.get("status") == "True")
    return False


def has_pod_cidr(node: Obj | None) -> bool:
    return bool(dig(node, "spec", "podCIDR"))


def write_pod_network(kube: Kube, node_name: str, timeout: float = NODE_READY_TIMEOUT) -> str:
    """Write the node's CNI conflist from its pod CIDR (once the controller-manager has
    allocated it); the node turns Ready soon after (:func:`wait_pod_network`)."""
    node = kube.wait_for(
        NODE, node_name, None, has_pod_cidr, timeout=timeout, what=f"node {node_name} podCIDR"
    )
    pod_cidr = str(dig(node, "spec", "podCIDR"))
    # Written aside, then renamed: containerd must never load a half-written conflist.
    run_command(
        ["docker", "exec", "-i", node_name, "tee", f"{CNI_CONFIG_PATH}.tmp"],
        stdin=cni_conflist(pod_cidr),
        timeout=60,
    )
    run_command(
        ["docker", "exec", node_name, "mv", f"{CNI_CONFIG_PATH}.tmp", CNI_CONFIG_PATH], timeout=60
    )
    log.info("node %s: pod network %s (CNI bridge)", node_name, pod_cidr)
    return pod_cidr


def wait_pod_network(kube: Kube, node_name: str, timeout: float = NODE_READY_TIMEOUT) -> None:
    """The node Ready, and what pods that resolve names need (movers reach MinIO by name):
    kube-proxy and CoreDNS."""
    kube.wait_for(
        NODE, node_name, None, node_ready, timeout=timeout, what=f"node {node_name} Ready"
    )
    log.info("node %s Ready", node_name)
    kube.wait_for(
        DAEMON_SET,
        "kube-proxy",
        "kube-system",
        daemonset_ready,
        timeout=timeout,
        what="kube-system/kube-proxy ready",
    )
    log.info("kube-system/kube-proxy ready")
    Readiness("kube-system/coredns Available", DEPLOYMENT, "coredns", "kube-system").wait(
        kube, timeout
    )


def daemonset_ready(obj: Obj | None) -> bool:
    status = dig(obj, "status") or {}
    wanted = status.get("desiredNumberScheduled", 0)
    return bool(wanted) and status.get("numberReady", 0) >= wanted


def node_images(node: str) -> set[str]:
    """The images the node's containerd holds (what its pods can run without a pull)."""
    done = run_command(["docker", "exec", node, "ctr", "-n", "k8s.io", "images", "ls", "-q"])
    return {line.strip() for line in done.stdout.splitlines() if line.strip()}


def kind_load_argv(cluster: str, images: list[str]) -> list[str]:
    return ["kind", "load", "docker-image", "--name", cluster, *images]


def load_order(addons: Addons, volsync_version: str) -> list[list[str]]:
    """The offline images in the order ``kind load`` puts them in, each group's addon
    started as soon as its group is in: the snapshot-controller's first (small, and last to
    be Available: upstream's manifest sets minReadySeconds 35 for its leader election), then
    VolSync's own (its readiness probe starts after 5 s and runs every 10 s), then the CSI
    driver's, then what drills need later (the data agent, the other VolSync releases and
    their sidecar)."""
    images = Offline(addons).addon_images()
    groups = [
        [images["snapshot-controller"]],
        [volsync_image(volsync_version)],
        [images[name] for name in CSI_IMAGES],
    ]
    first = {image for group in groups for image in group}
    rest = [image for image in images.values() if image not in first]
    return [*groups, rest] if rest else groups


CSI_IMAGES = ("csi-hostpath", "csi-provisioner", "csi-snapshotter")
LOAD_TIMEOUT = 900.0


class ImageLoads:
    """``kind load`` of ``groups`` into cluster ``cluster``, one group after the other in a
    background thread; :meth:`wait_for` waits (with a deadline) until given images are in."""

    def __init__(self, cluster: str, groups: Sequence[Sequence[str]]) -> None:
        self.groups = [list(group) for group in groups if group]
        self._loaded = [threading.Event() for _ in self.groups]
        self._groups_loaded = 0
        self._background = Background("kind load", lambda: self._load(cluster))

    def _load(self, cluster: str) -> None:
        try:
            for group, loaded in zip(self.groups, self._loaded, strict=True):
                run_command(kind_load_argv(cluster, group), timeout=LOAD_TIMEOUT)
                self._groups_loaded += 1
                loaded.set()
        finally:  # a failed load wakes whoever waits for a group it did not load
            for loaded in self._loaded:
                loaded.set()

    def wait_for(self, images: set[str], timeout: float = LOAD_TIMEOUT) -> None:
        """Return once every group holding one of ``images`` is loaded; raise what the load
        raised, or :class:`WaitTimeout` at the deadline. Images in no group: at once."""
        start = time.monotonic()
        for index, (group, loaded) in enumerate(zip(self.groups, self._loaded, strict=True)):
            if not images.intersection(group):
                continue
            if not loaded.wait(max(0.0, start + timeout - time.monotonic())):
                raise WaitTimeout(f"kind load {' '.join(group)}", timeout, "still loading")
            if self._groups_loaded <= index:
                self._background.result(max(0.0, start + timeout - time.monotonic()))
                raise ImageMissing(f"kind load ended before {' '.join(group)} was loaded")

    def wait_all(self, timeout: float = LOAD_TIMEOUT) -> None:
        self._background.result(timeout)

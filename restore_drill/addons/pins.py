"""``clusters/addons.yaml`` (every pinned version) and the objects the harness applies itself."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from restore_drill.errors import UsageError
from restore_drill.k8s import Obj

REPO_ROOT = Path(__file__).resolve().parents[2]
ADDONS_FILE = REPO_ROOT / "clusters" / "addons.yaml"
KIND_CONFIG_FILE = REPO_ROOT / "clusters" / "kind.yaml"

DEFAULT_CLASS_ANNOTATION = "storageclass.kubernetes.io/is-default-class"
DEFAULT_SNAPSHOT_CLASS_ANNOTATION = "snapshot.storage.kubernetes.io/is-default-class"


# --- the pinned versions --------------------------------------------------------------------


@dataclass(frozen=True)
class Addons:
    """``clusters/addons.yaml``, read once; the raw mapping stays available as ``spec``."""

    spec: Mapping[str, Any]
    path: Path = ADDONS_FILE

    def section(self, name: str) -> Mapping[str, Any]:
        value = self.spec.get(name)
        if not isinstance(value, Mapping):
            raise UsageError(f"{self.path}: missing section {name!r}")
        return value

    @property
    def kind_version(self) -> str:
        return str(self.section("tools")["kind"])

    @property
    def kubernetes_version(self) -> str:
        return str(self.section("kubernetes")["version"])

    @property
    def node_image(self) -> str:
        k8s = self.section("kubernetes")
        image = f"{k8s['node_image']}:{k8s.get('node_image_tag') or k8s['version']}"
        digest = str(k8s.get("node_image_digest") or "")
        return f"{image}@{digest}" if digest else image

    @property
    def volsync_default(self) -> str:
        return str(self.section("volsync")["default"])

    @property
    def volsync_upgrade_from(self) -> str:
        return str(self.section("volsync")["upgrade_from"])

    @property
    def volsync_allowed(self) -> tuple[str, ...]:
        return tuple(str(v) for v in self.section("volsync")["allowed"])

    def check_volsync_version(self, version: str) -> str:
        if version not in self.volsync_allowed:
            raise UsageError(
                f"VolSync {version} is not pinned in {self.path} "
                f"(allowed: {', '.join(self.volsync_allowed)})"
            )
        return version

    def versions(self) -> dict[str, str]:
        """Every pinned version, for reports and ``doctor``."""
        return {
            "kind": self.kind_version,
            "kubernetes": self.kubernetes_version,
            "node-image": self.node_image,
            "external-snapshotter": str(self.section("snapshotter")["version"]),
            "csi-driver-host-path": str(self.section("csi_hostpath")["version"]),
            "volume-data-source-validator": str(self.section("data_source_validator")["version"]),
            "volsync": self.volsync_default,
            "volsync-upgrade-from": self.volsync_upgrade_from,
            "helm": str(self.section("helm")["version"]),
            "minio-image": str(self.section("minio")["image"]),
            "agent-image": str(self.section("agent")["image"]),
        }


def load_addons(path: Path | None = None) -> Addons:
    """Read the pinned addon versions (``clusters/addons.yaml`` unless ``path`` is given)."""
    path = Path(path or ADDONS_FILE)
    try:
        spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise UsageError(f"cannot read pinned addon versions from {path}: {exc}") from exc
    if not isinstance(spec, dict):
        raise UsageError(f"{path}: expected a mapping at the top level")
    return Addons(spec, path)


# --- objects the harness applies itself ---------------------------------------------------


def storage_class_manifest(addons: Addons, *, expansion: bool = True) -> Obj:
    storage = addons.section("storage")
    return {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": {
            "name": str(storage["storage_class"]),
            "annotations": {DEFAULT_CLASS_ANNOTATION: "true"},
        },
        "provisioner": str(addons.section("csi_hostpath")["driver"]),
        "reclaimPolicy": "Delete",
        "volumeBindingMode": "Immediate",
        "allowVolumeExpansion": expansion,
    }


def snapshot_class_manifest(addons: Addons) -> Obj:
    # VolSync's RD/RS with an empty volumeSnapshotClassName use the cluster's default.
    return {
        "apiVersion": "snapshot.storage.k8s.io/v1",
        "kind": "VolumeSnapshotClass",
        "metadata": {
            "name": str(addons.section("storage")["snapshot_class"]),
            "annotations": {DEFAULT_SNAPSHOT_CLASS_ANNOTATION: "true"},
        },
        "driver": str(addons.section("csi_hostpath")["driver"]),
        "deletionPolicy": "Delete",
    }


def demote_default_class_patch() -> Obj:
    """Merge patch that stops kind's own class from being the default (two defaults = chaos)."""
    return {"metadata": {"annotations": {DEFAULT_CLASS_ANNOTATION: "false"}}}

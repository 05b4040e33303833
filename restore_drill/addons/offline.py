"""Addon sources for a cluster made from the offline image set: upstream's own manifests
and chart, read from the pinned Go modules in the local module cache instead of fetched
from their repositories, and our CSI hostpath driver in place of csi-driver-host-path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from restore_drill.addons.commands import FIELD_MANAGER, kubectl
from restore_drill.addons.pins import REPO_ROOT, Addons
from restore_drill.errors import ImageMissing, UsageError
from restore_drill.images.modules import module_dir
from restore_drill.images.pins import Offline, volsync_image
from restore_drill.k8s import Obj
from restore_drill.kinds import dig

SERVER_SIDE = ["apply", "--server-side", f"--field-manager={FIELD_MANAGER}", "--force-conflicts"]
SKIPPED_KINDS = ("StorageClass", "VolumeSnapshotClass")  # pins.py renders both
VOLSYNC_IMAGE_VALUES = ("image", "rclone", "restic", "rsync", "rsync-tls", "syncthing")


def _module(offline: Offline, name: str) -> Path:
    module = offline.module(name)
    return module_dir(module.module, module.version)


def snapshotter_crds_argv(addons: Addons, kubeconfig: Path) -> list[str]:
    """The VolumeSnapshot CRDs, as the ``client/v8`` module at the tag has them."""
    crds = _module(Offline(addons), "snapshot_crds") / "config" / "crd"
    return kubectl(kubeconfig, *SERVER_SIDE, "-k", str(crds))


def snapshot_controller_render_argv(addons: Addons, kubeconfig: Path) -> list[str]:
    snap = addons.section("snapshotter")
    controller = _module(Offline(addons), "external_snapshotter") / str(snap["controller_path"])
    return kubectl(kubeconfig, "kustomize", str(controller))


def pin_controller_image(objects: list[Obj], addons: Addons) -> list[Obj]:
    """The kustomization's objects, its controller running the pinned build: upstream's
    manifest at v8.4.0 still names controller image v8.2.1, which is not built here."""
    image = Offline(addons).addon_images()["snapshot-controller"]
    repository = image.rsplit(":", 1)[0]
    for obj in objects:
        pod = dig(obj, "spec", "template", "spec") or {}
        for container in pod.get("containers") or []:
            if str(container.get("image", "")).rsplit(":", 1)[0] == repository:
                container["image"] = image
    return objects


def csi_driver_objects(addons: Addons) -> list[Obj]:
    """``clusters/offline/csi-hostpath.yaml`` with its ``"{name}"`` images filled in."""
    offline = Offline(addons)
    path = REPO_ROOT / str(offline.spec["csi_driver"]["manifest"])
    images = offline.addon_images()
    text = path.read_text(encoding="utf-8")
    for name in ("csi-hostpath", "csi-provisioner", "csi-snapshotter"):
        text = text.replace(f'"{{{name}}}"', images[name])
    if 'image: "{' in text:
        raise UsageError(f"{path}: an image placeholder has no pin in clusters/addons.yaml")
    objects = [doc for doc in yaml.safe_load_all(text) if isinstance(doc, dict)]
    return [o for o in objects if o.get("kind") not in SKIPPED_KINDS]


def manifest_images(objects: list[Obj]) -> set[str]:
    """Every container image the workloads in ``objects`` run."""
    found: set[str] = set()
    for obj in objects:
        spec = obj.get("spec") or {}
        pod = dig(spec, "template", "spec") or spec
        for key in ("initContainers", "containers"):
            found.update(str(c["image"]) for c in pod.get(key) or [] if c.get("image"))
    return found


def short_name(image: str) -> str:
    """``docker.io/library/x:1`` and ``docker.io/x:1`` as Docker names them: ``x:1``."""
    return image.removeprefix("docker.io/").removeprefix("library/")


def require_images(wanted: set[str], present: set[str], what: str) -> None:
    """Fail at once, naming them, when ``what`` would run images the node does not have:
    offline, a pod would otherwise sit in ImagePullBackOff until a readiness deadline."""
    have = {short_name(image) for image in present}
    missing = sorted(image for image in wanted if short_name(image) not in have)
    if missing:
        raise ImageMissing(
            f"{what} runs {', '.join(missing)}, not built here (nothing is pulled): "
            "see 'restore-drill images list'"
        )


def volsync_chart(addons: Addons, version: str) -> Path:
    """VolSync's chart as the release's module carries it (``helm/volsync``)."""
    offline = Offline(addons)
    if version not in offline.volsync_versions:
        raise UsageError(
            f"VolSync {version} is not in the offline image set "
            f"(built here: {', '.join(offline.volsync_versions)})"
        )
    return module_dir("github.com/backube/volsync", f"v{version}") / "helm" / "volsync"


def volsync_values(version: str) -> dict[str, Any]:
    """Every image the chart names, at ``version``: a tag's chart may still carry the
    previous appVersion (0.11.0's says 0.10.0), and the manager must run the mover that
    was built with it."""
    repository, tag = volsync_image(version).rsplit(":", 1)
    return {key: {"repository": repository, "tag": tag} for key in VOLSYNC_IMAGE_VALUES}


def write_volsync_values(run_dir: Path, version: str) -> Path:
    path = run_dir / f"volsync-{version}-values.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(volsync_values(version)), encoding="utf-8")
    return path

"""restore_drill.addons.offline: addon sources for a cluster made from the offline images."""

from __future__ import annotations

import pytest

from restore_drill.addons import load_addons, offline
from restore_drill.errors import ImageMissing

ADDONS = load_addons()


def test_csi_driver_objects_run_the_pinned_images_and_leave_classes_to_pins() -> None:
    objects = offline.csi_driver_objects(ADDONS)
    images = offline.manifest_images(objects)
    assert images == {
        "restore-drill/csi-hostpath:0.1.0",
        "registry.k8s.io/sig-storage/csi-provisioner:v5.3.0",
        "registry.k8s.io/sig-storage/csi-snapshotter:v8.4.0",
    }
    kinds = {obj["kind"] for obj in objects}
    assert "StorageClass" not in kinds and "VolumeSnapshotClass" not in kinds
    assert "CSIDriver" in kinds


def test_snapshot_controller_runs_the_pinned_build() -> None:
    rendered = [
        {"kind": "Deployment", "spec": {"template": {"spec": {"containers": [
            {"name": "snapshot-controller",
             "image": "registry.k8s.io/sig-storage/snapshot-controller:v8.2.1"},
            {"name": "other", "image": "example/other:1"},
        ]}}}},
    ]  # fmt: skip
    pinned = offline.pin_controller_image(rendered, ADDONS)
    assert offline.manifest_images(pinned) == {
        "registry.k8s.io/sig-storage/snapshot-controller:v8.4.0",
        "example/other:1",
    }


def test_a_missing_image_fails_at_once_and_is_named() -> None:
    present = {"docker.io/restore-drill/agent:bookworm", "registry.k8s.io/pause:3.10"}
    offline.require_images({"restore-drill/agent:bookworm"}, present, "x")
    with pytest.raises(ImageMissing, match=r"snapshot-controller:v8\.2\.1, not built here"):
        offline.require_images(
            {
                "registry.k8s.io/sig-storage/snapshot-controller:v8.2.1",
                "registry.k8s.io/pause:3.10",
            },
            present,
            "the snapshot-controller",
        )


def test_volsync_values_name_every_image_at_the_release() -> None:
    values = offline.volsync_values("0.11.0")
    assert values["image"] == {"repository": "quay.io/backube/volsync", "tag": "0.11.0"}
    assert values["restic"]["tag"] == "0.11.0"  # the chart at the tag still says 0.10.0


def test_volsync_outside_the_offline_set_is_refused() -> None:
    from restore_drill.errors import UsageError

    with pytest.raises(UsageError, match="not in the offline image set"):
        offline.volsync_chart(ADDONS, "0.15.0")

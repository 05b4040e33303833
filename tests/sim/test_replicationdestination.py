"""The ReplicationDestination reconciler alone on a sim API server; the test plays the
snapshot and Job controllers by writing their status."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("restore_drill.clusters.sim.controllers.base")

from restore_drill.clusters.sim.controllers.replicationdestination import (
    ReplicationDestinationController,
    restore_env,
)
from restore_drill.k8s import JOB, PVC, REPLICATION_DESTINATION, VOLUME_SNAPSHOT, Kube
from tests.sim.volsync_support import (
    condition,
    controller_on_sim,
    exists,
    pvc,
    secret,
    set_status,
    status,
    wait,
)

JOB_NAME = "volsync-dst-app-restore"
DEST = "volsync-app-restore-dest"


@pytest.fixture
def kube(tmp_path: Path) -> Iterator[Kube]:
    with controller_on_sim(tmp_path, ReplicationDestinationController) as kube:
        kube.create(secret())
        yield kube


def destination(tag: str = "r1", **restic: object) -> dict:
    return {
        "apiVersion": "volsync.backube/v1alpha1",
        "kind": "ReplicationDestination",
        "metadata": {"name": "app-restore", "namespace": "ns"},
        "spec": {
            "trigger": {"manual": tag},
            "restic": {
                "repository": "repo",
                "copyMethod": "Snapshot",
                "capacity": "2Gi",
                "accessModes": ["ReadWriteOnce"],
                "storageClassName": "csi-hostpath-sc",
                **restic,
            },
        },
    }


def image_snapshot(kube: Kube) -> str:
    """Wait for the image snapshot the RD takes after its Job, and bind it."""
    found = wait(
        kube,
        PVC,
        DEST,
        lambda p: "volsync.backube/snapname" in (p["metadata"].get("annotations") or {}),
        "snapshot name annotation",
    )
    name = str(found["metadata"]["annotations"]["volsync.backube/snapname"])
    snapshot = exists(kube, VOLUME_SNAPSHOT, name)
    assert snapshot["spec"]["source"]["persistentVolumeClaimName"] == DEST
    set_status(kube, VOLUME_SNAPSHOT, name, {"boundVolumeSnapshotContentName": "c-" + name})
    return name


def sync(kube: Kube, tag: str) -> dict:
    exists(kube, JOB, JOB_NAME)
    set_status(kube, JOB, JOB_NAME, {"succeeded": 1})
    image_snapshot(kube)
    return wait(
        kube,
        REPLICATION_DESTINATION,
        "app-restore",
        lambda o: status(o).get("lastManualSync") == tag,
    )


def test_provisions_the_destination_and_publishes_the_image(kube: Kube) -> None:
    kube.create(destination())
    job = exists(kube, JOB, JOB_NAME)
    dest = kube.get(PVC, DEST, "ns")
    assert dest["spec"]["resources"]["requests"]["storage"] == "2Gi"
    assert job["spec"]["template"]["spec"]["containers"][0]["args"] == ["restore"]
    rd = kube.get(REPLICATION_DESTINATION, "app-restore", "ns")
    assert "latestImage" not in status(rd)  # nothing before the Job succeeds
    rd = sync(kube, "r1")
    image = status(rd)["latestImage"]
    assert image["apiGroup"] == "snapshot.storage.k8s.io"
    assert image["kind"] == "VolumeSnapshot"
    assert image["name"].startswith(DEST + "-")
    assert status(rd)["latestMoverStatus"]["result"] == "Successful"
    kube.wait_for(JOB, JOB_NAME, "ns", lambda o: o is None, timeout=15)
    annotations = kube.get(PVC, DEST, "ns")["metadata"].get("annotations") or {}
    assert "volsync.backube/snapname" not in annotations


def test_a_new_sync_replaces_the_image_and_cleans_the_old_one(kube: Kube) -> None:
    kube.create(destination())
    first = status(sync(kube, "r1"))["latestImage"]["name"]
    kube.wait_for(JOB, JOB_NAME, "ns", lambda o: o is None, timeout=15)
    kube.patch(
        REPLICATION_DESTINATION, "app-restore", {"spec": {"trigger": {"manual": "r2"}}}, "ns"
    )
    wait(
        kube,
        REPLICATION_DESTINATION,
        "app-restore",
        lambda o: status(o).get("lastSyncStartTime") is not None,
    )
    exists(kube, JOB, JOB_NAME)
    time.sleep(1.1)  # image names have one-second resolution (as VolSync's)
    set_status(kube, JOB, JOB_NAME, {"succeeded": 1})
    image_snapshot(kube)
    rd = wait(
        kube,
        REPLICATION_DESTINATION,
        "app-restore",
        lambda o: status(o).get("lastManualSync") == "r2",
    )
    assert status(rd)["latestImage"]["name"] != first
    kube.wait_for(VOLUME_SNAPSHOT, first, "ns", lambda o: o is None, timeout=15)


def test_image_in_use_by_a_population_is_kept(kube: Kube) -> None:
    kube.create(destination())
    first = status(sync(kube, "r1"))["latestImage"]["name"]
    kube.patch(
        VOLUME_SNAPSHOT,
        first,
        {"metadata": {"labels": {"volsync.backube/volpop-pvc-1234": "data"}}},
        "ns",
    )
    kube.wait_for(JOB, JOB_NAME, "ns", lambda o: o is None, timeout=15)
    kube.patch(
        REPLICATION_DESTINATION, "app-restore", {"spec": {"trigger": {"manual": "r2"}}}, "ns"
    )
    wait(
        kube,
        REPLICATION_DESTINATION,
        "app-restore",
        lambda o: status(o).get("lastSyncStartTime") is not None,
    )
    time.sleep(1.1)  # image names have one-second resolution (as VolSync's)
    rd = sync(kube, "r2")
    assert status(rd)["latestImage"]["name"] != first
    kept = kube.get(VOLUME_SNAPSHOT, first, "ns")
    assert not kept["metadata"].get("ownerReferences")


def test_provided_destination_pvc_is_used(kube: Kube) -> None:
    kube.create(pvc("mine"))
    kube.create(destination(destinationPVC="mine", copyMethod="Direct"))
    job = exists(kube, JOB, JOB_NAME)
    claims = [
        v["persistentVolumeClaim"]["claimName"] for v in job["spec"]["template"]["spec"]["volumes"]
    ]
    assert claims == ["mine", "volsync-dst-app-restore-cache"]
    set_status(kube, JOB, JOB_NAME, {"succeeded": 1})
    rd = wait(
        kube,
        REPLICATION_DESTINATION,
        "app-restore",
        lambda o: status(o).get("lastManualSync") == "r1",
    )
    assert status(rd)["latestImage"] == {
        "apiGroup": "",
        "kind": "PersistentVolumeClaim",
        "name": "mine",
    }
    assert kube.find(PVC, DEST, "ns") is None


def test_missing_capacity_is_an_error(kube: Kube) -> None:
    manifest = destination()
    del manifest["spec"]["restic"]["capacity"]
    kube.create(manifest)
    rd = wait(
        kube,
        REPLICATION_DESTINATION,
        "app-restore",
        lambda o: condition(o).get("reason") == "Error",
    )
    assert condition(rd)["message"] == "capacity must be provided when destinationPVC is not"


def test_restore_env_carries_the_selection_and_deletion() -> None:
    env = restore_env(
        {"restoreAsOf": "2026-01-01T00:00:00Z", "previous": 2, "enableFileDeletion": True}
    )
    assert env["RESTORE_AS_OF"] == "2026-01-01T00:00:00Z"
    assert env["SELECT_PREVIOUS"] == "2"
    assert env["RESTORE_OPTIONS"] == "--delete"
    assert "RESTORE_OPTIONS" not in restore_env({})

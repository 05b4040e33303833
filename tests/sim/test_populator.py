"""The Volume Populator alone on a sim API server; the test plays the RD, the snapshot
controller and the provisioner by writing their objects and status."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("restore_drill.clusters.sim.controllers.base")

from restore_drill.clusters.sim.controllers.populator import (
    VolumePopulatorController,
    wants_population,
)
from restore_drill.k8s import (
    PV,
    PVC,
    REPLICATION_DESTINATION,
    VOLUME_SNAPSHOT,
    Kube,
)
from tests.sim.volsync_support import (
    controller_on_sim,
    event_reasons,
    exists,
    pvc,
    set_status,
    status,
    wait,
    wait_event,
)

SNAPSHOT = "volsync-app-restore-dest-20260101000000"
REF = {"apiGroup": "volsync.backube", "kind": "ReplicationDestination", "name": "app-restore"}


@pytest.fixture
def kube(tmp_path: Path) -> Iterator[Kube]:
    with controller_on_sim(tmp_path, VolumePopulatorController) as kube:
        yield kube


def storage_class(kube: Kube, mode: str = "Immediate") -> None:
    kube.create(
        {
            "apiVersion": "storage.k8s.io/v1",
            "kind": "StorageClass",
            "metadata": {"name": "csi-hostpath-sc"},
            "provisioner": "hostpath.csi.k8s.io",
            "volumeBindingMode": mode,
        }
    )


def destination(kube: Kube, image: dict | None) -> None:
    kube.create(
        {
            "apiVersion": "volsync.backube/v1alpha1",
            "kind": "ReplicationDestination",
            "metadata": {"name": "app-restore", "namespace": "ns"},
            "spec": {"trigger": {"manual": "r1"}, "restic": {"repository": "repo"}},
        }
    )
    if image:
        set_status(kube, REPLICATION_DESTINATION, "app-restore", {"latestImage": image})


def snapshot(kube: Kube) -> None:
    kube.create(
        {
            "apiVersion": "snapshot.storage.k8s.io/v1",
            "kind": "VolumeSnapshot",
            "metadata": {"name": SNAPSHOT, "namespace": "ns"},
            "spec": {"source": {"persistentVolumeClaimName": "volsync-app-restore-dest"}},
        }
    )


def reasons(kube: Kube, name: str = "data") -> list[str]:
    return event_reasons(kube, name)


def has_event(kube: Kube, reason: str) -> None:
    wait_event(kube, "data", reason)


def provision(kube: Kube, prime: dict) -> None:
    """What the CSI provisioner and PV binder do for the prime PVC."""
    meta = prime["metadata"]
    kube.create(
        {
            "apiVersion": "v1",
            "kind": "PersistentVolume",
            "metadata": {"name": "pv-1"},
            "spec": {
                "capacity": {"storage": "1Gi"},
                "accessModes": ["ReadWriteOnce"],
                "persistentVolumeReclaimPolicy": "Delete",
                "storageClassName": "csi-hostpath-sc",
                "claimRef": {"namespace": "ns", "name": meta["name"], "uid": meta["uid"]},
                "csi": {"driver": "hostpath.csi.k8s.io", "volumeHandle": "v1"},
            },
        }
    )
    kube.patch(PVC, meta["name"], {"spec": {"volumeName": "pv-1"}}, "ns")
    set_status(kube, PVC, meta["name"], {"phase": "Bound"})


def prime_of(kube: Kube) -> dict:
    user = kube.get(PVC, "data", "ns")
    return exists(kube, PVC, f"vs-prime-{user['metadata']['uid']}")


def test_missing_rd_warns_and_stays_pending(kube: Kube) -> None:
    storage_class(kube)
    kube.create(pvc("data", dataSourceRef=REF))
    has_event(kube, "VolSyncPopulatorReplicationDestinationMissing")
    assert status(kube.get(PVC, "data", "ns"))["phase"] == "Pending"


def test_no_latest_image_warns_then_populates_when_it_appears(kube: Kube) -> None:
    storage_class(kube)
    destination(kube, None)
    kube.create(pvc("data", dataSourceRef=REF))
    has_event(kube, "VolSyncPopulatorReplicationDestinationNoLatestImage")
    snapshot(kube)
    set_status(
        kube,
        REPLICATION_DESTINATION,
        "app-restore",
        {
            "latestImage": {
                "apiGroup": "snapshot.storage.k8s.io",
                "kind": "VolumeSnapshot",
                "name": SNAPSHOT,
            }
        },
    )
    prime = prime_of(kube)
    assert prime["spec"]["dataSourceRef"]["name"] == SNAPSHOT


def test_latest_image_not_a_snapshot_is_an_error(kube: Kube) -> None:
    storage_class(kube)
    destination(kube, {"apiGroup": "", "kind": "PersistentVolumeClaim", "name": "x"})
    kube.create(pvc("data", dataSourceRef=REF))
    has_event(kube, "VolSyncPopulatorError")


def test_population_rebinds_the_volume_and_cleans_up(kube: Kube) -> None:
    storage_class(kube)
    snapshot(kube)
    destination(
        kube, {"apiGroup": "snapshot.storage.k8s.io", "kind": "VolumeSnapshot", "name": SNAPSHOT}
    )
    kube.create(pvc("data", dataSourceRef=REF))
    prime = prime_of(kube)
    user = kube.get(PVC, "data", "ns")
    assert prime["metadata"]["labels"]["volsync.backube/populator-pvc-for"] == "data"
    assert prime["metadata"]["ownerReferences"][0]["uid"] == user["metadata"]["uid"]
    labels = kube.get(VOLUME_SNAPSHOT, SNAPSHOT, "ns")["metadata"]["labels"]
    assert labels[f"volsync.backube/volpop-pvc-{user['metadata']['uid']}"] == "data"
    has_event(kube, "VolSyncPopulatorPVCCreated")
    provision(kube, prime)
    bound = wait(kube, PVC, "data", lambda p: status(p).get("phase") == "Bound")
    assert bound["spec"]["volumeName"] == "pv-1"
    pv = kube.get(PV, "pv-1")
    assert pv["spec"]["claimRef"]["uid"] == user["metadata"]["uid"]
    assert pv["metadata"]["annotations"]["volsync.backube/populated-from"] == f"ns/{SNAPSHOT}"
    has_event(kube, "VolSyncPopulatorFinished")
    wait(
        kube,
        PVC,
        prime["metadata"]["name"],
        lambda p: bool(p["metadata"].get("deletionTimestamp")),
        "prime PVC deleted",
    )
    labels = kube.get(VOLUME_SNAPSHOT, SNAPSHOT, "ns")["metadata"].get("labels") or {}
    assert not [key for key in labels if key.startswith("volsync.backube/volpop-pvc-")]


def test_wait_for_first_consumer_needs_a_selected_node(kube: Kube) -> None:
    storage_class(kube, "WaitForFirstConsumer")
    snapshot(kube)
    destination(
        kube, {"apiGroup": "snapshot.storage.k8s.io", "kind": "VolumeSnapshot", "name": SNAPSHOT}
    )
    kube.create(pvc("data", dataSourceRef=REF))
    wait(kube, PVC, "data", lambda p: status(p).get("phase") == "Pending")
    user = kube.get(PVC, "data", "ns")
    assert kube.find(PVC, f"vs-prime-{user['metadata']['uid']}", "ns") is None
    kube.patch(
        PVC,
        "data",
        {"metadata": {"annotations": {"volume.kubernetes.io/selected-node": "sim-node"}}},
        "ns",
    )
    prime = prime_of(kube)
    assert prime["metadata"]["annotations"]["volume.kubernetes.io/selected-node"] == "sim-node"


def test_deleted_pvc_takes_its_prime_pvc_along(kube: Kube) -> None:
    storage_class(kube)
    snapshot(kube)
    destination(
        kube, {"apiGroup": "snapshot.storage.k8s.io", "kind": "VolumeSnapshot", "name": SNAPSHOT}
    )
    kube.create(pvc("data", dataSourceRef=REF))
    prime = prime_of(kube)
    kube.patch(PVC, "data", {"metadata": {"finalizers": None}}, "ns")
    kube.delete(PVC, "data", "ns")
    wait(
        kube,
        PVC,
        prime["metadata"]["name"],
        lambda p: bool(p["metadata"].get("deletionTimestamp")),
        "prime PVC deleted",
    )


def test_only_replication_destination_refs_are_populated() -> None:
    assert wants_population({"spec": {"dataSourceRef": REF}})
    other = {**REF, "kind": "VolumeSnapshot", "apiGroup": "snapshot.storage.k8s.io"}
    assert not wants_population({"spec": {"dataSourceRef": other}})
    assert not wants_population({"spec": {}})

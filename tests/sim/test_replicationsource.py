"""The ReplicationSource reconciler alone on a sim API server; the test plays the snapshot
and Job controllers by writing their status."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

pytest.importorskip("restore_drill.clusters.sim.controllers.base")

from restore_drill.clusters.sim.controllers.replicationsource import (
    ReplicationSourceController,
    mover_actions,
    should_prune,
)
from restore_drill.k8s import JOB, PVC, REPLICATION_SOURCE, VOLUME_SNAPSHOT, Kube
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

TEMP = "volsync-app-src"
JOB_NAME = "volsync-src-app"


class QuickRetrySource(ReplicationSourceController):
    first_retry = 0.2  # keep the recreate-after-failure test short


@pytest.fixture
def kube(tmp_path: Path) -> Iterator[Kube]:
    with controller_on_sim(tmp_path, QuickRetrySource) as kube:
        kube.create(pvc("data"))
        yield kube


def source(copy_method: str = "Snapshot", **restic: object) -> dict:
    return {
        "apiVersion": "volsync.backube/v1alpha1",
        "kind": "ReplicationSource",
        "metadata": {"name": "app", "namespace": "ns"},
        "spec": {
            "sourcePVC": "data",
            "trigger": {"manual": "t1"},
            "restic": {"repository": "repo", "copyMethod": copy_method, **restic},
        },
    }


def bind_snapshot(kube: Kube, name: str = TEMP) -> None:
    exists(kube, VOLUME_SNAPSHOT, name)
    set_status(
        kube,
        VOLUME_SNAPSHOT,
        name,
        {"boundVolumeSnapshotContentName": "content-1", "readyToUse": True},
    )


def test_snapshot_copy_method_creates_volsyncs_objects(kube: Kube) -> None:
    kube.create(secret())
    kube.create(source(cacheCapacity="2Gi"))
    snapshot = exists(kube, VOLUME_SNAPSHOT, TEMP)
    assert snapshot["spec"]["source"]["persistentVolumeClaimName"] == "data"
    assert snapshot["metadata"]["labels"]["app.kubernetes.io/created-by"] == "volsync"
    assert "volsync.backube/cleanup" in snapshot["metadata"]["labels"]
    assert kube.find(JOB, JOB_NAME, "ns") is None  # nothing runs before the snapshot binds
    bind_snapshot(kube)
    job = exists(kube, JOB, JOB_NAME)
    temp = kube.get(PVC, TEMP, "ns")
    assert temp["spec"]["dataSource"] == {
        "apiGroup": "snapshot.storage.k8s.io",
        "kind": "VolumeSnapshot",
        "name": TEMP,
    }
    cache = kube.get(PVC, "volsync-src-app-cache", "ns")
    assert cache["spec"]["resources"]["requests"]["storage"] == "2Gi"
    volumes = job["spec"]["template"]["spec"]["volumes"]
    assert [v["persistentVolumeClaim"]["claimName"] for v in volumes] == [
        TEMP,
        "volsync-src-app-cache",
    ]
    rs = kube.get(REPLICATION_SOURCE, "app", "ns")
    assert condition(rs)["reason"] == "SyncInProgress"
    assert status(rs).get("lastSyncStartTime")


def test_job_success_completes_the_sync_and_cleans_up(kube: Kube) -> None:
    kube.create(secret())
    kube.create(source())
    bind_snapshot(kube)
    exists(kube, JOB, JOB_NAME)
    set_status(kube, JOB, JOB_NAME, {"succeeded": 1})
    rs = wait(kube, REPLICATION_SOURCE, "app", lambda o: status(o).get("lastManualSync") == "t1")
    assert status(rs)["latestMoverStatus"]["result"] == "Successful"
    assert status(rs)["lastSyncTime"] and status(rs)["lastSyncDuration"]
    assert "lastSyncStartTime" not in status(rs)
    kube.wait_for(JOB, JOB_NAME, "ns", lambda o: o is None, timeout=15)
    kube.wait_for(VOLUME_SNAPSHOT, TEMP, "ns", lambda o: o is None, timeout=15)
    assert kube.find(PVC, "volsync-src-app-cache", "ns") is not None  # the cache stays


def test_failed_job_reports_failed_and_is_recreated(kube: Kube) -> None:
    kube.create(secret())
    kube.create(source())
    bind_snapshot(kube)
    first = exists(kube, JOB, JOB_NAME)
    set_status(kube, JOB, JOB_NAME, {"failed": 2})
    rs = wait(
        kube,
        REPLICATION_SOURCE,
        "app",
        lambda o: status(o).get("latestMoverStatus", {}).get("result") == "Failed",
    )
    assert "lastManualSync" not in status(rs)
    again = wait(
        kube,
        JOB,
        JOB_NAME,
        lambda j: j["metadata"]["uid"] != first["metadata"]["uid"],
        "Job recreated",
    )
    assert again["spec"]["backoffLimit"] == 2


def test_missing_secret_is_an_error_condition_without_a_job(kube: Kube) -> None:
    kube.create(source(copy_method="Direct"))
    rs = wait(kube, REPLICATION_SOURCE, "app", lambda o: condition(o).get("reason") == "Error")
    assert condition(rs)["message"] == 'Secret "repo" not found'
    assert condition(rs)["status"] == "False"
    assert kube.find(JOB, JOB_NAME, "ns") is None
    kube.create(secret())  # the Secret's watch event restarts the sync
    job = exists(kube, JOB, JOB_NAME)
    assert (
        job["spec"]["template"]["spec"]["volumes"][0]["persistentVolumeClaim"]["claimName"]
        == "data"
    )


def test_missing_source_pvc_is_an_error(kube: Kube) -> None:
    kube.create(secret())
    manifest = source()
    manifest["spec"]["sourcePVC"] = "nope"
    kube.create(manifest)
    rs = wait(kube, REPLICATION_SOURCE, "app", lambda o: condition(o).get("reason") == "Error")
    assert 'PersistentVolumeClaim "nope" not found' in condition(rs)["message"]


def test_clone_copy_method_makes_a_pvc_from_the_source(kube: Kube) -> None:
    kube.create(secret())
    kube.create(source(copy_method="Clone"))
    exists(kube, JOB, JOB_NAME)
    clone = kube.get(PVC, TEMP, "ns")
    assert clone["spec"]["dataSource"] == {"kind": "PersistentVolumeClaim", "name": "data"}


def test_actions_unlock_first_and_prune_on_interval() -> None:
    created = (datetime.now(UTC) - timedelta(days=8)).strftime("%Y-%m-%dT%H:%M:%SZ")
    owner = {"metadata": {"creationTimestamp": created}, "spec": {"restic": {"unlock": "u1"}}}
    assert mover_actions(owner, {}) == ["unlock", "backup", "prune"]
    recent = {
        "restic": {
            "lastUnlocked": "u1",
            "lastPruned": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
    }
    assert mover_actions(owner, recent) == ["backup"]
    owner["spec"]["restic"]["pruneIntervalDays"] = 30
    assert not should_prune(owner, {})


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")
def test_kubectl_lists_the_source_with_its_last_sync(kube: Kube) -> None:
    kube.create(secret())
    kube.create(source(copy_method="Direct"))
    exists(kube, JOB, JOB_NAME)
    set_status(kube, JOB, JOB_NAME, {"succeeded": 1})
    rs = wait(kube, REPLICATION_SOURCE, "app", lambda o: status(o).get("lastManualSync") == "t1")
    listed = subprocess.run(
        ["kubectl", "--kubeconfig", str(kube.kubeconfig), "get", "replicationsource", "-A"],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout
    header, row = listed.splitlines()[:2]
    assert "LAST SYNC" in header
    assert row.split()[:3] == ["ns", "app", "data"]
    assert status(rs)["lastSyncTime"] in row

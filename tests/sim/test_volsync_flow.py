"""The pvc-delete flow on the sim: back up with a ReplicationSource, restore a point with a
ReplicationDestination, delete the PVC, recreate it with ``dataSourceRef`` and read back
byte-identical data; plus the failure cases, none of which may report success.

Everything runs for real: the sim API server and controllers, Jobs as local processes,
``restic`` against the local S3 server.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from restore_drill.clusters.sim.controllers.volsync_objects import job_outcome
from restore_drill.k8s import (
    JOB,
    POD,
    PVC,
    REPLICATION_DESTINATION,
    REPLICATION_SOURCE,
    Kube,
)
from restore_drill.objectstore import LocalS3
from restore_drill.restic import Restic
from tests.sim.volsync_support import wait_event

SIM = pytest.importorskip("restore_drill.clusters.sim.cluster")
STORAGE_CLASS = "csi-hostpath-sc"
PASSWORD = "drill-password-" + uuid.uuid4().hex[:8]
TIMEOUT = 90.0

# Runs inside the Jobs' containers (host python): write a tree or print its manifest.
DATA_SCRIPT = r"""
import hashlib, json, os, random, stat, sys
root = "/data"
if sys.argv[1] == "write":
    rng = random.Random(7)
    os.makedirs(f"{root}/docs/deep/deeper", exist_ok=True)
    os.makedirs(f"{root}/empty-dir", exist_ok=True)
    for i in range(20):
        with open(f"{root}/docs/note-{i}.txt", "wb") as f:
            f.write(rng.randbytes(rng.randint(0, 5000)))
    with open(f"{root}/docs/deep/deeper/ünïcode name.bin", "wb") as f:
        f.write(rng.randbytes(1234))
    open(f"{root}/empty-file", "wb").close()
    with open(f"{root}/run.sh", "w") as f:
        f.write("#!/bin/sh\necho hi\n")
    os.chmod(f"{root}/run.sh", 0o755)
    os.chmod(f"{root}/docs/note-0.txt", 0o600)
    os.chmod(f"{root}/docs/deep", 0o700)
    os.symlink("docs/note-1.txt", f"{root}/link")
    os.symlink("nowhere", f"{root}/dangling")
    big = int(sys.argv[2])
    if big:
        with open(f"{root}/media.bin", "wb") as f:
            for _ in range(big // (1 << 20)):
                f.write(rng.randbytes(1 << 20))
for dirpath, dirs, files in os.walk(root):
    dirs.sort()
    for name in sorted(dirs + files):
        path = os.path.join(dirpath, name)
        rel = os.path.relpath(path, root)
        if rel == "lost+found":
            continue
        st = os.lstat(path)
        entry = {"path": rel, "mode": oct(stat.S_IMODE(st.st_mode))}
        if stat.S_ISLNK(st.st_mode):
            entry["link"] = os.readlink(path)
        elif stat.S_ISDIR(st.st_mode):
            entry["type"] = "dir"
        else:
            with open(path, "rb") as f:
                entry["sha256"] = hashlib.sha256(f.read()).hexdigest()
            entry["size"] = st.st_size
        print(json.dumps(entry, sort_keys=True))
"""


@pytest.fixture(scope="module")
def store() -> Iterator[LocalS3]:
    with LocalS3() as s3:
        yield s3


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory, store: LocalS3) -> Iterator[Any]:
    sim = SIM.SimCluster("volsync-flow", tmp_path_factory.mktemp("sim"), store)
    sim.create()
    try:
        yield sim
    finally:
        sim.delete()


@pytest.fixture
def kube(cluster: Any) -> Kube:
    return cluster.kube()  # type: ignore[no-any-return]


@pytest.fixture
def namespace(kube: Kube) -> str:
    name = "drill-" + uuid.uuid4().hex[:6]
    kube.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    return name


# --- helpers ------------------------------------------------------------------------------


def encoded(values: dict[str, str]) -> dict[str, str]:
    return {key: base64.b64encode(value.encode()).decode() for key, value in values.items()}


def repository_secret(
    kube: Kube, store: Any, namespace: str, name: str, *, prefix: str, password: str = PASSWORD
) -> str:
    bucket = f"b-{uuid.uuid4().hex[:10]}"
    store.create_bucket(bucket)
    url = store.repository_url(bucket, prefix)
    kube.create(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": name, "namespace": namespace},
            "data": encoded(
                {"RESTIC_REPOSITORY": url, "RESTIC_PASSWORD": password, **store.credentials.env()}
            ),
        }
    )
    return str(url)


def pvc(kube: Kube, namespace: str, name: str, *, rd: str | None = None) -> None:
    spec: dict[str, Any] = {
        "accessModes": ["ReadWriteOnce"],
        "storageClassName": STORAGE_CLASS,
        "resources": {"requests": {"storage": "1Gi"}},
    }
    if rd:
        spec["dataSourceRef"] = {
            "apiGroup": "volsync.backube",
            "kind": "ReplicationDestination",
            "name": rd,
        }
    kube.create(
        {
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "metadata": {"name": name, "namespace": namespace},
            "spec": spec,
        }
    )


def run_job(kube: Kube, namespace: str, name: str, claim: str, *args: str) -> list[dict]:
    """Run DATA_SCRIPT in a Job with ``claim`` at /data; its manifest lines."""
    kube.create(
        {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {
                "backoffLimit": 0,
                "template": {
                    "spec": {
                        "restartPolicy": "Never",
                        "containers": [
                            {
                                "name": "data",
                                "image": "python:3.11",
                                "command": ["python3", "-c", DATA_SCRIPT, *args],
                                "volumeMounts": [{"name": "data", "mountPath": "/data"}],
                            }
                        ],
                        "volumes": [
                            {"name": "data", "persistentVolumeClaim": {"claimName": claim}}
                        ],
                    }
                },
            },
        }
    )
    job = kube.wait_for(JOB, name, namespace, finished, timeout=TIMEOUT, what=f"job {name} done")
    assert job is not None
    logs = pod_logs(kube, namespace, job)
    assert job_outcome(job) == "succeeded", logs
    return [json.loads(line) for line in logs.splitlines() if line.startswith("{")]


def finished(job: dict | None) -> bool:
    return job is not None and job_outcome(job) != "running"


def bound(obj: dict | None) -> bool:
    return obj is not None and (obj.get("status") or {}).get("phase") == "Bound"


def pod_logs(kube: Kube, namespace: str, job: dict) -> str:
    uid = job["metadata"]["uid"]
    pods = [
        p
        for p in kube.list(POD, namespace)
        if any(r.get("uid") == uid for r in p["metadata"].get("ownerReferences") or [])
    ]
    return "".join(kube.pod_logs(p["metadata"]["name"], namespace) for p in pods)


def replication_source(
    kube: Kube, namespace: str, name: str, secret: str, tag: str, source_pvc: str = "data"
) -> None:
    kube.create(
        {
            "apiVersion": "volsync.backube/v1alpha1",
            "kind": "ReplicationSource",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {
                "sourcePVC": source_pvc,
                "trigger": {"manual": tag},
                "restic": {
                    "repository": secret,
                    "copyMethod": "Snapshot",
                    "retain": {"hourly": 24, "daily": 7},
                },
            },
        }
    )


def replication_destination(kube: Kube, namespace: str, name: str, secret: str, tag: str) -> None:
    kube.create(
        {
            "apiVersion": "volsync.backube/v1alpha1",
            "kind": "ReplicationDestination",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {
                "trigger": {"manual": tag},
                "restic": {
                    "repository": secret,
                    "copyMethod": "Snapshot",
                    "capacity": "1Gi",
                    "accessModes": ["ReadWriteOnce"],
                    "storageClassName": STORAGE_CLASS,
                },
            },
        }
    )


def synced(tag: str) -> Any:
    return lambda obj: obj is not None and (obj.get("status") or {}).get("lastManualSync") == tag


def mover_result(obj: dict | None) -> str | None:
    return ((obj or {}).get("status") or {}).get("latestMoverStatus", {}).get("result")


def condition(obj: dict | None) -> dict:
    conditions = ((obj or {}).get("status") or {}).get("conditions") or []
    return next((c for c in conditions if c["type"] == "Synchronizing"), {})


def primes(kube: Kube, namespace: str) -> list[str]:
    names = [p["metadata"]["name"] for p in kube.list(PVC, namespace)]
    return [name for name in names if name.startswith("vs-prime-")]


def pvc_delete_flow(kube: Kube, store: Any, namespace: str, big: int) -> float:
    """The scripted flow; returns its wall time in seconds."""
    start = time.monotonic()
    url = repository_secret(kube, store, namespace, "repo", prefix="app")
    pvc(kube, namespace, "data")
    written = run_job(kube, namespace, "writer", "data", "write", str(big))
    assert len(written) > 20

    replication_source(kube, namespace, "app", "repo", "backup-1")
    rs = kube.wait_for(REPLICATION_SOURCE, "app", namespace, synced("backup-1"), timeout=TIMEOUT)
    assert mover_result(rs) == "Successful"
    assert "snapshot" in rs["status"]["latestMoverStatus"]["logs"]  # type: ignore[index]

    listed = Restic(url, PASSWORD, env=store.credentials.env()).snapshots()
    assert len(listed) == 1 and listed[0]["hostname"] == "volsync"

    replication_destination(kube, namespace, "app-restore", "repo", "restore-1")
    rd = kube.wait_for(
        REPLICATION_DESTINATION, "app-restore", namespace, synced("restore-1"), timeout=TIMEOUT
    )
    image = rd["status"]["latestImage"]  # type: ignore[index]
    assert image["kind"] == "VolumeSnapshot"
    assert image["apiGroup"] == "snapshot.storage.k8s.io"

    kube.delete(JOB, "writer", namespace)
    kube.delete_and_wait_gone(PVC, "data", namespace, timeout=TIMEOUT)
    pvc(kube, namespace, "data", rd="app-restore")
    kube.wait_for(PVC, "data", namespace, bound, timeout=TIMEOUT, what="restored PVC Bound")
    elapsed = time.monotonic() - start
    restored = run_job(kube, namespace, "reader", "data", "manifest", "0")
    assert restored == written
    wait_event(kube, "data", "VolSyncPopulatorFinished", namespace)
    assert not primes(kube, namespace)
    return elapsed


# --- the flow ------------------------------------------------------------------------------


def test_pvc_delete_flow_restores_identical_data(
    kube: Kube, store: Any, namespace: str, capsys: pytest.CaptureFixture[str]
) -> None:
    elapsed = pvc_delete_flow(kube, store, namespace, big=0)
    with capsys.disabled():
        print(f"\n[sim pvc-delete flow: {elapsed:.1f}s]")


@pytest.mark.slow
def test_pvc_delete_flow_with_a_50_mb_file(kube: Kube, store: Any, namespace: str) -> None:
    pvc_delete_flow(kube, store, namespace, big=50 * (1 << 20))


# --- failures ------------------------------------------------------------------------------


def test_wrong_password_fails_and_never_advances_the_tag(
    kube: Kube, store: Any, namespace: str
) -> None:
    url = repository_secret(kube, store, namespace, "repo", prefix="app", password="wrong")
    Restic(url, PASSWORD, env=store.credentials.env()).init()  # the real password made it
    pvc(kube, namespace, "data")
    run_job(kube, namespace, "writer", "data", "write", "0")
    replication_source(kube, namespace, "app", "repo", "backup-1")
    rs = kube.wait_for(
        REPLICATION_SOURCE, "app", namespace, lambda o: mover_result(o) == "Failed", timeout=TIMEOUT
    )
    assert rs is not None
    assert "wrong password" in rs["status"]["latestMoverStatus"]["logs"]
    assert PASSWORD not in json.dumps(rs)
    assert rs["status"].get("lastManualSync") != "backup-1"
    assert condition(rs)["reason"] == "SyncInProgress"


@pytest.mark.slow  # up to 10 s per mover attempt when restic keeps retrying
def test_unreachable_s3_fails_the_backup(kube: Kube, namespace: str) -> None:
    with LocalS3() as doomed:
        repository_secret(kube, doomed, namespace, "repo", prefix="app")
    # the server is stopped now: the mover cannot reach the repository
    pvc(kube, namespace, "data")
    run_job(kube, namespace, "writer", "data", "write", "0")
    replication_source(kube, namespace, "app", "repo", "backup-1")
    rs = kube.wait_for(
        REPLICATION_SOURCE, "app", namespace, lambda o: mover_result(o) == "Failed", timeout=TIMEOUT
    )
    assert rs is not None
    logs = rs["status"]["latestMoverStatus"]["logs"]
    # restic either gives up at once or outlives the mover's 10 s check, as on the real mover
    assert "connection refused" in logs or "failure checking existence of repository" in logs
    assert rs["status"].get("lastManualSync") is None


def test_missing_secret_says_so_and_creates_no_job(kube: Kube, namespace: str) -> None:
    pvc(kube, namespace, "data")
    replication_source(kube, namespace, "app", "absent", "backup-1")
    rs = kube.wait_for(
        REPLICATION_SOURCE,
        "app",
        namespace,
        lambda o: condition(o).get("reason") == "Error",
        timeout=TIMEOUT,
    )
    assert 'Secret "absent" not found' in condition(rs)["message"]
    assert kube.find(JOB, "volsync-src-app", namespace) is None
    assert (rs or {}).get("status", {}).get("lastManualSync") is None


def test_empty_repository_restores_an_empty_volume(kube: Kube, store: Any, namespace: str) -> None:
    """The silent-loss trap, reproduced: nothing to restore still 'succeeds'."""
    repository_secret(kube, store, namespace, "repo", prefix="never-backed-up")
    replication_destination(kube, namespace, "app-restore", "repo", "restore-1")
    rd = kube.wait_for(
        REPLICATION_DESTINATION, "app-restore", namespace, synced("restore-1"), timeout=TIMEOUT
    )
    assert rd is not None
    assert mover_result(rd) == "Successful"
    assert "No eligible snapshots found" in rd["status"]["latestMoverStatus"]["logs"]
    assert rd["status"]["latestImage"]["kind"] == "VolumeSnapshot"
    pvc(kube, namespace, "data", rd="app-restore")
    kube.wait_for(PVC, "data", namespace, bound, timeout=TIMEOUT)
    assert run_job(kube, namespace, "reader", "data", "manifest", "0") == []


def test_populator_waits_then_lets_a_deleted_pvc_go(kube: Kube, namespace: str) -> None:
    pvc(kube, namespace, "data", rd="not-yet")
    wait_event(kube, "data", "VolSyncPopulatorReplicationDestinationMissing", namespace)
    assert kube.get(PVC, "data", namespace)["status"]["phase"] == "Pending"
    kube.create(
        {
            "apiVersion": "volsync.backube/v1alpha1",
            "kind": "ReplicationDestination",
            "metadata": {"name": "not-yet", "namespace": namespace},
            "spec": {
                "trigger": {"manual": "later"},
                "restic": {
                    "repository": "absent",
                    "copyMethod": "Snapshot",
                    "capacity": "1Gi",
                    "accessModes": ["ReadWriteOnce"],
                },
            },
        }
    )
    wait_event(kube, "data", "VolSyncPopulatorReplicationDestinationNoLatestImage", namespace)
    kube.delete_and_wait_gone(PVC, "data", namespace, timeout=TIMEOUT)
    assert not primes(kube, namespace)


def test_secret_is_not_in_any_object(kube: Kube, namespace: str) -> None:
    # The mover Job refers to the Secret; it never copies its values.
    pvc(kube, namespace, "data")
    kube.create(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "repo", "namespace": namespace},
            "data": encoded(
                {"RESTIC_REPOSITORY": "s3:http://127.0.0.1:1/x/y", "RESTIC_PASSWORD": PASSWORD}
            ),
        }
    )
    replication_source(kube, namespace, "app", "repo", "backup-1")
    job = kube.wait_for(JOB, "volsync-src-app", namespace, lambda j: j is not None, timeout=TIMEOUT)
    assert PASSWORD not in json.dumps(job)

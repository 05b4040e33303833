"""The manifests VolSync's restic mover creates, built as VolSync builds them."""

from __future__ import annotations

import pytest

from restore_drill.clusters.sim.controllers import volsync_objects as o

RS = {
    "apiVersion": "volsync.backube/v1alpha1",
    "kind": "ReplicationSource",
    "metadata": {"name": "app", "namespace": "ns", "uid": "uid-1"},
    "spec": {"sourcePVC": "data", "restic": {"repository": "repo"}},
}
SECRET = {
    "metadata": {"name": "repo"},
    "data": {"RESTIC_REPOSITORY": "eA==", "RESTIC_PASSWORD": "eA==", "RCLONE_X": "eA=="},
}


def test_forget_defaults_to_keep_last_one() -> None:
    assert o.forget_options(None) == "--keep-last 1"
    assert o.forget_options({}) == "--keep-last 1"


def test_forget_follows_the_retain_policy_order() -> None:
    retain = {"daily": 7, "hourly": 24, "within": "3d", "last": 2}
    expected = "--keep-hourly 24 --keep-daily 7 --keep-within 3d --keep-last 2"
    assert o.forget_options(retain) == expected


def test_mover_job_names_env_and_volumes() -> None:
    job = o.mover_job(
        RS,
        "src",
        ["backup"],
        data_pvc="volsync-app-src",
        cache_pvc_name="volsync-src-app-cache",
        secret=SECRET,
        env={"DATA_DIR": "/data"},
        privileged=False,
    )
    assert job["metadata"]["name"] == "volsync-src-app"
    assert job["metadata"]["labels"] == {
        "app.kubernetes.io/created-by": "volsync",
        "volsync.backube/cleanup": "uid-1",
    }
    assert job["metadata"]["ownerReferences"][0]["controller"] is True
    container = job["spec"]["template"]["spec"]["containers"][0]
    assert container["name"] == "restic"
    assert container["args"] == ["backup"]
    env = {item["name"]: item for item in container["env"]}
    assert env["RESTIC_PASSWORD"]["valueFrom"]["secretKeyRef"] == {
        "name": "repo",
        "key": "RESTIC_PASSWORD",
        "optional": False,
    }
    assert env["AWS_ACCESS_KEY_ID"]["valueFrom"]["secretKeyRef"]["optional"] is True
    assert "RCLONE_X" in env
    assert env["PRIVILEGED_MOVER"]["value"] == "0"
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    assert mounts == {"data": "/data", "cache": "/cache"}
    claims = [
        v["persistentVolumeClaim"]["claimName"] for v in job["spec"]["template"]["spec"]["volumes"]
    ]
    assert claims == ["volsync-app-src", "volsync-src-app-cache"]


def test_cache_pvc_defaults_to_one_gibibyte_and_the_data_access_modes() -> None:
    data = {"spec": {"accessModes": ["ReadWriteMany"]}}
    cache = o.cache_pvc(RS, "src", {"cacheStorageClassName": "fast"}, data)
    assert cache["metadata"]["name"] == "volsync-src-app-cache"
    assert cache["spec"]["resources"]["requests"]["storage"] == "1Gi"
    assert cache["spec"]["accessModes"] == ["ReadWriteMany"]
    assert cache["spec"]["storageClassName"] == "fast"
    assert "volsync.backube/cleanup" not in cache["metadata"]["labels"]


def test_validate_secret_requires_the_mandatory_keys() -> None:
    o.validate_secret(SECRET, "repo")
    with pytest.raises(o.SyncError, match='Secret "repo" not found'):
        o.validate_secret(None, "repo")
    with pytest.raises(o.SyncError, match="RESTIC_PASSWORD"):
        o.validate_secret({"data": {"RESTIC_REPOSITORY": "eA=="}}, "repo")


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        ({}, "running"),
        ({"succeeded": 1}, "succeeded"),
        ({"failed": 1}, "running"),
        ({"failed": 2}, "failed"),
        ({"failed": 1, "conditions": [{"type": "Failed", "status": "True"}]}, "failed"),
    ],
)
def test_job_outcome(status: dict, outcome: str) -> None:
    assert o.job_outcome({"spec": {"backoffLimit": 2}, "status": status}) == outcome


def test_success_log_filter_keeps_restic_summary_lines() -> None:
    logs = "\n".join(
        [
            "Starting container",
            "processed 3 files, 1 KiB in 0:00",
            "snapshot 1234abcd saved",
            "Added to the repository: 1 KiB",
            "=== Starting forget ===",
            "Restic completed in 2s",
            "No eligible snapshots found",
        ]
    )
    kept = o.filter_success_logs(logs).splitlines()
    assert kept == [
        "processed 3 files, 1 KiB in 0:00",
        "snapshot 1234abcd saved",
        "Added to the repository: 1 KiB",
        "Restic completed in 2s",
        "No eligible snapshots found",
    ]


def test_controller_of_reads_the_controlling_owner() -> None:
    job = o.mover_job(
        RS,
        "src",
        ["backup"],
        data_pvc="d",
        cache_pvc_name="c",
        secret=SECRET,
        env={},
        privileged=True,
    )
    assert o.controller_of(job, "ReplicationSource") == "app"
    assert o.controller_of(job, "ReplicationDestination") is None
    caps = job["spec"]["template"]["spec"]["containers"][0]["securityContext"]["capabilities"]
    assert caps["add"] == ["DAC_OVERRIDE", "CHOWN", "FOWNER"]

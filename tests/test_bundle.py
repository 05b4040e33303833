"""restore_drill.clusters.bundle: what a failure bundle holds, and that no secret is in it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from restore_drill.clusters.bundle import REDACTED, redact, write_bundle
from restore_drill.errors import KubeError, NotFound
from restore_drill.k8s import Kind

SECRET_KEY = "AKIA-very-secret-key"
PASSWORD = "restic-pass-123"


def secret() -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": "app-restic",
            "namespace": "drill",
            "annotations": {"kubectl.kubernetes.io/last-applied-configuration": PASSWORD},
            "managedFields": [{"manager": "x"}],
        },
        "data": {"RESTIC_PASSWORD": "cmVzdGlj"},
        "stringData": {"AWS_SECRET_ACCESS_KEY": SECRET_KEY},
    }


def pod(name: str = "volsync-src-app-abc") -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": "drill"},
        "spec": {
            "initContainers": [{"name": "init"}],
            "containers": [
                {
                    "name": "restic",
                    "env": [
                        {"name": "RESTIC_PASSWORD", "value": PASSWORD},
                        {"name": "DATA_DIR", "value": "/data"},
                        {
                            "name": "AWS_ACCESS_KEY_ID",
                            "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}},
                        },
                    ],
                }
            ],
        },
    }


class FakeKube:
    """Just enough of ``Kube`` for the bundle; some reads fail like a sick API would."""

    def __init__(
        self, objects: dict[str, list[dict[str, Any]]], failing: frozenset[str] = frozenset()
    ) -> None:
        self.objects = objects
        self.failing = failing

    def list(self, kind: Kind, namespace: str | None = None, **_: Any) -> list[dict[str, Any]]:
        if kind.kind in self.failing:
            raise KubeError(f"the API server does not serve {kind}", status=500)
        return [
            o
            for o in self.objects.get(kind.kind, [])
            if namespace is None or o["metadata"].get("namespace") == namespace
        ]

    def events_for(self, namespace: str, name: str | None = None) -> list[dict[str, Any]]:
        return [
            {
                "type": "Warning",
                "reason": "VolSyncPopulatorReplicationDestinationNoLatestImage",
                "message": "waiting for latestImage",
                "involvedObject": {"kind": "PersistentVolumeClaim", "name": "data"},
                "lastTimestamp": "2026-01-01T00:00:00Z",
            }
        ]

    def pod_logs(self, name: str, namespace: str, container: str | None = None) -> str:
        if container == "init":
            raise NotFound("container init not started", status=404)
        return f"restic backup done; password was {PASSWORD}\n"


def test_redact_secret_values_annotations_and_env() -> None:
    clean = redact(secret())
    assert clean["data"] == {"RESTIC_PASSWORD": REDACTED}
    assert clean["stringData"] == {"AWS_SECRET_ACCESS_KEY": REDACTED}
    assert (
        clean["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"]
        == REDACTED
    )
    assert "managedFields" not in clean["metadata"]
    env = redact(pod())["spec"]["containers"][0]["env"]
    assert env[0]["value"] == REDACTED
    assert env[1]["value"] == "/data"  # not secret-looking: kept for debugging
    assert env[2]["valueFrom"]["secretKeyRef"] == {"name": "s", "key": "k"}


def test_redact_does_not_touch_the_original() -> None:
    original = secret()
    redact(original)
    assert original["stringData"]["AWS_SECRET_ACCESS_KEY"] == SECRET_KEY


def test_redact_covers_pod_templates() -> None:
    deployment = {"kind": "Deployment", "spec": {"template": {"spec": pod()["spec"]}}}
    assert (
        redact(deployment)["spec"]["template"]["spec"]["containers"][0]["env"][0]["value"]
        == REDACTED
    )


def test_write_bundle_layout_and_no_secret_anywhere(tmp_path: Path) -> None:
    kube = FakeKube(
        {
            "Secret": [secret()],
            "Pod": [pod()],
            "ReplicationDestination": [
                {
                    "kind": "ReplicationDestination",
                    "metadata": {"name": "app-restore", "namespace": "drill"},
                    "spec": {"trigger": {"manual": "t1"}},
                    "status": {"lastManualSync": "t1"},
                }
            ],
            "PersistentVolume": [
                {
                    "kind": "PersistentVolume",
                    "metadata": {"name": "pv-mine"},
                    "spec": {"claimRef": {"namespace": "drill", "name": "data"}},
                },
                {
                    "kind": "PersistentVolume",
                    "metadata": {"name": "pv-other"},
                    "spec": {"claimRef": {"namespace": "elsewhere", "name": "x"}},
                },
            ],
        },
        failing=frozenset({"VolumeSnapshot"}),
    )
    dest = write_bundle(kube, tmp_path / "bundle", ["drill"], secrets=[PASSWORD])  # type: ignore[arg-type]

    assert (dest / "objects/drill/Secret.yaml").is_file()
    assert (dest / "objects/drill/Pod.yaml").is_file()
    assert "NoLatestImage" in (dest / "events/drill.txt").read_text()
    assert (dest / "logs/drill/volsync-src-app-abc/restic.log").is_file()
    pvs = (dest / "cluster/PersistentVolume.yaml").read_text()
    assert "pv-mine" in pvs and "pv-other" not in pvs
    statuses = yaml.safe_load((dest / "volsync.yaml").read_text())
    assert statuses == [
        {
            "kind": "ReplicationDestination",
            "namespace": "drill",
            "name": "app-restore",
            "trigger": {"manual": "t1"},
            "status": {"lastManualSync": "t1"},
        }
    ]
    errors = (dest / "errors.txt").read_text()
    assert "VolumeSnapshot" in errors  # partial failure recorded, not raised
    assert "init" in errors

    everything = "".join(p.read_text() for p in dest.rglob("*") if p.is_file())
    assert SECRET_KEY not in everything
    assert PASSWORD not in everything
    assert "cmVzdGlj" not in everything


def test_write_bundle_survives_an_api_that_answers_nothing(tmp_path: Path) -> None:
    everything_fails = frozenset(
        {
            "PersistentVolumeClaim",
            "Pod",
            "Deployment",
            "StatefulSet",
            "Job",
            "ConfigMap",
            "Secret",
            "ServiceAccount",
            "VolumeSnapshot",
            "ReplicationSource",
            "ReplicationDestination",
            "PersistentVolume",
            "VolumeSnapshotContent",
            "StorageClass",
            "VolumeSnapshotClass",
        }
    )
    sick = FakeKube({}, everything_fails)
    dest = write_bundle(sick, tmp_path / "b", ["drill"])  # type: ignore[arg-type]
    errors = (dest / "errors.txt").read_text().splitlines()
    assert len(errors) >= len(everything_fails)


def test_store_secrets_reads_the_object_store_keys() -> None:
    from restore_drill.clusters.bundle import store_secrets
    from restore_drill.objectstore import S3Credentials

    class Store:
        credentials = S3Credentials("AKIA1", "secret1")

    assert store_secrets(Store()) == ["AKIA1", "secret1"]
    assert store_secrets(object()) == []

"""The fault drills' steps: what they break, that they mend it, and that they refuse to
pass when the fault was not felt the way the scenario declares."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest

from restore_drill import k8s
from restore_drill.errors import UsageError, VerificationFailed
from restore_drill.steps import backup_path
from tests.drill_stubs import stub_drill


class Kube:
    """Answers a step's reads from ``objects`` (by kind and name) and records its writes."""

    def __init__(self, objects: dict[tuple[str, str], Any] | None = None) -> None:
        self.objects = objects or {}
        self.applied: list[dict[str, Any]] = []
        self.patches: list[tuple[str, Any]] = []
        self.deleted: list[tuple[str, int | None]] = []

    def find(self, kind: k8s.Kind, name: str, namespace: str | None = None) -> Any:
        return self.objects.get((kind.kind, name))

    def wait_for(self, kind: k8s.Kind, name: str, namespace: Any, predicate: Any, **_: Any) -> Any:
        obj = self.find(kind, name)
        assert predicate(obj), f"{kind.kind} {name} never met the wait"
        return obj

    def list(self, kind: k8s.Kind, namespace: str | None = None, **_: Any) -> Any:
        return [o for (k, _n), o in self.objects.items() if k == kind.kind]

    def apply(self, manifest: dict[str, Any], **_: Any) -> Any:
        self.applied.append(manifest)
        return manifest

    def patch(self, kind: k8s.Kind, name: str, patch: Any, namespace: Any = None) -> Any:
        self.patches.append((name, patch))
        return {}

    def pod_logs(self, name: str, namespace: str) -> str:
        return "=== Check for dir initialized ===\n=== Starting restore ==="

    def delete(self, kind: k8s.Kind, name: str, namespace: Any = None, **kw: Any) -> bool:
        self.deleted.append((name, kw.get("grace_seconds")))
        return True


@pytest.mark.parametrize(
    ("change", "key", "wrong"),
    [
        ("s3-keys", "AWS_SECRET_ACCESS_KEY", "not-secret"),
        ("restic-password", "RESTIC_PASSWORD", "not-"),
        ("repository-path", "RESTIC_REPOSITORY", "-empty"),
    ],
)
def test_a_broken_secret_is_a_copy_the_rd_reads(
    tmp_path: Path, change: str, key: str, wrong: str
) -> None:
    kube = Kube()
    d = stub_drill(tmp_path, kube)
    backup_path.break_repository_secret(d, change)
    [secret] = kube.applied
    original = next(m for m in d.apps[0].fixture.manifests if m["kind"] == "Secret")
    assert secret["metadata"]["name"] == f"{original['metadata']['name']}-{change}"
    written = {k: base64.b64decode(v).decode() for k, v in secret["data"].items()}
    before = original["stringData"]
    assert {k for k in before if written[k] != before[k]} == {key}
    assert wrong in written[key]
    [(_, patch)] = kube.patches
    assert patch == {"spec": {"restic": {"repository": secret["metadata"]["name"]}}}


def test_an_unknown_secret_change_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="not one of s3-keys"):
        backup_path.break_repository_secret(stub_drill(tmp_path, Kube()), "dns")


def restore_job(failed: int, pvc_phase: str) -> Kube:
    job = backup_path.volsync.mover_job(k8s.REPLICATION_DESTINATION, "home-assistant-restore")
    return Kube(
        {
            ("Job", job): {"status": {"failed": failed}},
            ("PersistentVolumeClaim", "home-assistant"): {"status": {"phase": pvc_phase}},
        }
    )


def test_a_failing_restore_must_leave_the_pvc_pending(tmp_path: Path) -> None:
    d = stub_drill(tmp_path, restore_job(1, "Pending"))
    backup_path.wait_mover_failed(d)
    assert "stayed Pending" in d.notes[-1]
    with pytest.raises(VerificationFailed, match="handed the app a volume"):
        backup_path.wait_mover_failed(stub_drill(tmp_path, restore_job(1, "Bound")))


def outage_backup(tmp_path: Path, job_status: dict[str, int]) -> Any:
    job = backup_path.volsync.mover_job(k8s.REPLICATION_SOURCE, "home-assistant")
    kube = Kube(
        {
            ("Job", job): {
                "metadata": {"name": job, "ownerReferences": [{"uid": "rs-1"}]},
                "status": job_status,
            },
            ("ReplicationSource", "home-assistant"): {
                "metadata": {"name": "home-assistant", "namespace": "ns", "uid": "rs-1"}
            },
            ("Pod", "mover-1"): {"metadata": {"name": "mover-1"}, "status": {"phase": "Failed"}},
        }
    )
    kube.pod_logs = lambda name, namespace: "Fatal: dial tcp: lookup minio: no such host"  # type: ignore[method-assign]
    return stub_drill(tmp_path, kube)


def test_a_backup_that_succeeds_in_an_outage_fails_the_drill(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(backup_path.volsync, "wait_idle", lambda *a, **k: None)
    monkeypatch.setattr(backup_path.volsync, "trigger_manual_sync", lambda *a, **k: {})
    with pytest.raises(VerificationFailed, match="backup while the backup path was broken"):
        backup_path.backup_fails(outage_backup(tmp_path, {"succeeded": 1}))
    d = outage_backup(tmp_path, {"failed": 1})
    backup_path.backup_fails(d, "unreachable")
    assert "failed loudly (unreachable: the object store did not answer)" in d.notes[-1]
    assert list(d.failed_backups) == [("rd-r1-home-assistant", "home-assistant")]


def test_a_backup_that_fails_for_another_cause_fails_the_drill(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(backup_path.volsync, "wait_idle", lambda *a, **k: None)
    monkeypatch.setattr(backup_path.volsync, "trigger_manual_sync", lambda *a, **k: {})
    with pytest.raises(VerificationFailed, match=r"failed for unreachable .*, not locked"):
        backup_path.backup_fails(outage_backup(tmp_path, {"failed": 1}), "locked")
    with pytest.raises(UsageError, match="cause 'gone' is not one of"):
        backup_path.backup_fails(outage_backup(tmp_path, {"failed": 1}), "gone")


def test_the_mover_is_killed_at_once_while_it_runs(tmp_path: Path) -> None:
    job = backup_path.volsync.mover_job(k8s.REPLICATION_DESTINATION, "home-assistant-restore")
    kube = Kube(
        {
            ("Job", job): {"status": {"active": 1}},
            ("Pod", "mover-1"): {"metadata": {"name": "mover-1"}, "status": {"phase": "Running"}},
        }
    )
    d = stub_drill(tmp_path, kube)
    backup_path.kill_mover(d)
    assert kube.deleted == [("mover-1", 0)]
    assert "'=== Starting restore ==='" in d.notes[-1]
    kube.objects[("Pod", "mover-1")]["status"]["phase"] = "Succeeded"
    with pytest.raises(VerificationFailed, match="was Succeeded before it could be killed"):
        backup_path.kill_mover(d)


class Store:
    def __init__(self) -> None:
        self.calls: list[str] = []

    def take_down(self) -> None:
        self.calls.append("down")

    def bring_back(self) -> None:
        self.calls.append("back")


def test_a_store_taken_down_comes_back_when_the_drill_ends(tmp_path: Path) -> None:
    d = stub_drill(tmp_path, Kube())
    d.object_store = Store()  # type: ignore[assignment]
    backup_path.take_down_object_store(d)
    d.mend()
    assert d.object_store.calls == ["down", "back"]  # type: ignore[attr-defined]
    d.mend()  # mended once only
    assert d.object_store.calls == ["down", "back"]  # type: ignore[attr-defined]


def test_a_started_backup_holds_its_mover_and_lets_it_go_when_the_drill_ends(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    job = backup_path.volsync.mover_job(k8s.REPLICATION_SOURCE, "home-assistant")
    kube = Kube(
        {
            ("Job", job): {"status": {"active": 1}},
            ("Pod", "mover-1"): {"metadata": {"name": "mover-1"}, "status": {"phase": "Running"}},
        }
    )
    monkeypatch.setattr(backup_path.volsync, "wait_idle", lambda *a, **k: None)
    monkeypatch.setattr(backup_path.volsync, "trigger_manual_sync", lambda *a, **k: {})
    monkeypatch.setattr(backup_path.snapshots, "RepositoryListing", lambda *a: "listing")
    d = stub_drill(tmp_path, kube)
    backup_path.backup_starts(d, "20m")
    [(name, held)] = kube.patches
    assert held == {"spec": {"restic": {"moverResources": {"limits": {"cpu": "20m"}}}}}
    assert list(d.running_backups) == [("rd-r1-home-assistant", "home-assistant")]
    d.mend()
    assert kube.patches[-1] == (name, {"spec": {"restic": {"moverResources": None}}})

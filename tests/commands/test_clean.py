"""Kept runs: the cluster keeps its object store, both are recorded, and ``restore-drill
clean`` removes exactly what was recorded."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from restore_drill.backend import KEPT_FILE, RUN_MARK, RUNNING_FILE, Backend
from restore_drill.cli import main
from restore_drill.clusters import kind as kind_module
from restore_drill.commands import clean
from restore_drill.errors import CommandFailed
from restore_drill.objectstore import minio


class FakeCluster:
    name = "restore-drill-kind-abc123"
    backend = "kind"
    created_by_this_run = True
    kubeconfig = Path("/runs/run-1/backend/cluster/kubeconfig")

    def __init__(self) -> None:
        self.deleted = False

    def delete(self) -> None:
        self.deleted = True

    def close_client(self) -> None:
        pass


class FakeStore:
    def __init__(self) -> None:
        self.running = True

    def leave_running(self) -> dict[str, str]:
        self.handed_over = True
        return {"container": "restore-drill-minio-abc123"}

    def stop(self) -> None:
        if not getattr(self, "handed_over", False):
            self.running = False


def backend(tmp_path: Path) -> tuple[Backend, FakeCluster, FakeStore]:
    cluster, store = FakeCluster(), FakeStore()
    return Backend(cluster, store, created_cluster=True, run_dir=tmp_path), cluster, store  # type: ignore[arg-type]


def test_a_kept_cluster_keeps_its_object_store_and_records_both(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    started, cluster, store = backend(tmp_path)
    started.close(keep_cluster=True)
    assert not cluster.deleted and store.running
    assert json.loads((tmp_path / KEPT_FILE).read_text()) == {
        "kind_cluster": cluster.name,
        "kubeconfig": str(cluster.kubeconfig),
        "container": "restore-drill-minio-abc123",
    }
    assert f"'restore-drill clean {tmp_path.parent.name}' removes them" in capsys.readouterr().out


def test_a_run_not_kept_removes_both_and_records_nothing(tmp_path: Path) -> None:
    started, cluster, store = backend(tmp_path)
    started.close(keep_cluster=False)
    assert cluster.deleted and not store.running
    assert not (tmp_path / KEPT_FILE).exists()


def record(out: Path, **kept: str) -> Path:
    path = out / "run-1" / "backend" / KEPT_FILE
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(kept))
    return path


def test_clean_removes_what_was_recorded_then_forgets_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    removed: list[str] = []
    monkeypatch.setattr(
        clean,
        "remove_kind_cluster",
        lambda name, kubeconfig: removed.append(f"kind_cluster {name} {kubeconfig}") or "removed",
    )
    monkeypatch.setattr(
        clean, "remove_container", lambda name: removed.append(f"container {name}") or "removed"
    )
    path = record(tmp_path, kind_cluster="restore-drill-kind-1", kubeconfig="/k", container="m-1")
    assert main(["clean", "--out", str(tmp_path), "--list", "--kept"]) == 0
    assert removed == [] and path.exists()
    assert main(["clean", "--out", str(tmp_path)]) == 0  # kept on purpose: left alone
    assert removed == [] and path.exists()
    assert "kept: named, or --kept, to remove" in capsys.readouterr().out
    assert main(["clean", "--out", str(tmp_path), "run-1"]) == 0
    assert removed == ["kind_cluster restore-drill-kind-1 /k", "container m-1"]
    assert not path.exists()
    assert main(["clean", "--out", str(tmp_path)]) == 0
    assert "nothing kept or left behind" in capsys.readouterr().out


def test_a_record_that_fails_stays_and_does_not_hold_back_the_others(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def remove(name: str) -> str:
        if name == "m-bad":
            raise CommandFailed("docker exited 1", program="docker", exit_code=1)
        return "removed"

    monkeypatch.setattr(clean, "remove_container", remove)
    bad = tmp_path / "run-1" / KEPT_FILE
    good = tmp_path / "run-2" / KEPT_FILE
    for path, name in ((bad, "m-bad"), (good, "m-good")):
        path.parent.mkdir(parents=True)
        path.write_text(json.dumps({"container": name}))
    assert main(["clean", "--out", str(tmp_path), "--kept"]) == 1
    assert bad.exists() and not good.exists()
    assert main(["clean", "--out", str(tmp_path), "run-9"]) == 2  # not a run of this --out


def test_a_kept_cluster_is_deleted_through_its_own_kubeconfig(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ran: list[list[str]] = []

    def kind(argv: list[str], **kw: Any) -> subprocess.CompletedProcess[str]:
        ran.append(list(argv))
        return subprocess.CompletedProcess(argv, 0, "restore-drill-kind-1\n", "")

    monkeypatch.setattr(clean, "run_command", kind)
    monkeypatch.setattr(kind_module, "run_command", kind)
    assert clean.remove_kind_cluster("restore-drill-kind-1", Path("/k")) == "removed"
    assert ran[-1][:3] == ["kind", "delete", "cluster"]
    assert ran[-1][-2:] == ["--kubeconfig", "/k"]  # never the user's ~/.kube/config


def test_a_container_without_this_runs_label_is_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    removed: list[str] = []
    monkeypatch.setattr(minio, "run_label", lambda name: "someone-else")
    monkeypatch.setattr(minio, "remove_container", removed.append)
    assert clean.remove_container("m-1").startswith("left alone")
    assert removed == []
    monkeypatch.setattr(minio, "run_label", lambda name: name)
    assert clean.remove_container("m-1") == "removed" and removed == ["m-1"]


def docker(ran: list[list[str]], network_users: str) -> Any:
    """A docker CLI double: records each command; ``network inspect`` names the users."""

    def run(argv: list[str], **_: Any) -> subprocess.CompletedProcess[str]:
        ran.append(argv)
        return subprocess.CompletedProcess(argv, 0, network_users if "inspect" in argv else "", "")

    return run


def test_a_network_is_removed_only_with_its_owners_label(monkeypatch: pytest.MonkeyPatch) -> None:
    ran: list[list[str]] = []
    monkeypatch.setattr(clean, "run_command", docker(ran, network_users=""))
    monkeypatch.setattr(minio, "run_label", lambda name, kind="container": "")
    assert clean.remove_network("kind", "m-1").startswith("left alone") and ran == []
    monkeypatch.setattr(minio, "run_label", lambda name, kind="container": "m-1")
    assert clean.remove_network("kind", "m-1") == "removed"
    assert ran[-1] == ["docker", "network", "rm", "kind"]
    monkeypatch.setattr(clean, "remove_container", lambda name: "removed")
    done = clean.remove_kept({"container": "m-1", "network": "kind"})
    assert done[-1] == "network kind: removed", "the network goes last"


def test_a_network_another_run_still_uses_is_left_in_place(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ran: list[list[str]] = []
    users = "rd-kind-b-control-plane minio-b "
    monkeypatch.setattr(clean, "run_command", docker(ran, network_users=users))
    monkeypatch.setattr(minio, "run_label", lambda name, kind="container": "m-1")
    done = clean.remove_network("kind", "m-1")
    assert done == "left in place: still used by minio-b, rd-kind-b-control-plane"
    assert ["docker", "network", "rm", "kind"] not in ran


def dead_pid() -> int:
    finished = subprocess.Popen(["true"])
    finished.wait()
    return finished.pid


def running_record(out: Path, run: str, pid: int) -> Path:
    path = out / run / "backend" / RUNNING_FILE
    path.parent.mkdir(parents=True)
    owned = {"pid": pid, "container": f"m-{run}", "kind_cluster": f"k-{run}", "kubeconfig": "/k"}
    path.write_text(json.dumps(owned))
    return path


def test_a_killed_run_is_cleaned_and_a_live_one_is_left_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    removed: list[str] = []
    monkeypatch.setattr(
        clean, "remove_kind_cluster", lambda name, kubeconfig: removed.append(name) or "removed"
    )
    monkeypatch.setattr(clean, "remove_container", lambda name: removed.append(name) or "removed")
    killed = running_record(tmp_path, "run-killed", dead_pid())
    live = running_record(tmp_path, "run-live", os.getpid())
    notice = clean.leftovers_notice(tmp_path)
    assert notice is not None and "1 earlier run(s)" in notice
    assert main(["clean", "--out", str(tmp_path), "--list"]) == 0
    listed = capsys.readouterr().out
    assert "m-run-killed" in listed and "run-live" not in listed and "pid" not in listed
    assert main(["clean", "--out", str(tmp_path)]) == 0
    assert removed == ["k-run-killed", "m-run-killed"]
    assert not killed.exists() and live.exists()
    assert clean.leftovers_notice(tmp_path) is None


def test_a_finished_teardown_forgets_what_the_run_made(tmp_path: Path) -> None:
    started, _, _ = backend(tmp_path)
    (tmp_path / RUNNING_FILE).write_text(json.dumps({"pid": os.getpid()}))
    started.close(keep_cluster=False)
    assert not (tmp_path / RUNNING_FILE).exists()


def test_a_run_records_what_it_makes_before_it_makes_the_cluster(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import restore_drill.backend as backend_module
    import restore_drill.clusters as clusters_module

    seen: dict[str, Any] = {}

    class Store(FakeStore):
        starts_beside_cluster = True  # as MinIO's container does: recorded before either

        def prepare(self) -> None:
            pass

        def start(self) -> None:
            pass

        def started_resources(self) -> dict[str, str]:
            return {"container": "restore-drill-minio-abc123"}

    class Cluster(FakeCluster):
        def create(self) -> None:  # a SIGKILL here must leave both on record
            seen.update(json.loads((tmp_path / RUNNING_FILE).read_text()))

    monkeypatch.setattr(kind_module.KindCluster, "ensure_available", staticmethod(lambda: None))
    monkeypatch.setattr(backend_module, "_object_store", lambda kind, options: Store())
    monkeypatch.setattr(clusters_module, "make_cluster", lambda *a, **kw: Cluster())
    started = backend_module.start_backend("kind", tmp_path)
    assert seen == {
        "pid": os.getpid(),
        "processes": os.environ[RUN_MARK],  # what the tools started from now on carry
        "container": "restore-drill-minio-abc123",
        "kind_cluster": FakeCluster.name,
        "kubeconfig": str(FakeCluster.kubeconfig),
    }
    started.close(keep_cluster=False)
    assert not (tmp_path / RUNNING_FILE).exists()


def test_the_processes_a_killed_run_left_are_stopped_and_no_others(tmp_path: Path) -> None:
    def sleeper(mark: str) -> subprocess.Popen[bytes]:
        return subprocess.Popen(["sleep", "300"], env={**os.environ, RUN_MARK: mark})

    left, other = sleeper("killed-run"), sleeper("killed-run-2")
    try:
        assert clean.stop_processes("killed-run") == "1 stopped"
        assert left.wait(timeout=30) == -9
        assert other.poll() is None
        assert clean.stop_processes("killed-run") == "none left"
        assert clean.stop_processes("killed-run", proc=tmp_path / "none").startswith("not looked")
    finally:
        for process in (left, other):
            process.kill()
            process.wait()

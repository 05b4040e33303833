"""Kept runs: the cluster keeps its object store, both are recorded, and ``restore-drill
clean`` removes exactly what was recorded."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from restore_drill.backend import KEPT_FILE, Backend
from restore_drill.cli import main
from restore_drill.commands import clean


class FakeCluster:
    name = "restore-drill-kind-abc123"
    backend = "kind"
    created_by_this_run = True

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
        "container": "restore-drill-minio-abc123",
    }
    assert "'restore-drill clean' removes them" in capsys.readouterr().out


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
        "REMOVERS",
        {
            key: (lambda name, key=key: removed.append(f"{key} {name}") or "removed")
            for key in clean.REMOVERS
        },
    )
    path = record(tmp_path, kind_cluster="restore-drill-kind-1", container="m-1")
    assert main(["clean", "--out", str(tmp_path), "--list"]) == 0
    assert removed == [] and path.exists()
    assert main(["clean", "--out", str(tmp_path)]) == 0
    assert removed == ["kind_cluster restore-drill-kind-1", "container m-1"]
    assert not path.exists()
    assert main(["clean", "--out", str(tmp_path)]) == 0
    assert "nothing kept" in capsys.readouterr().out


def test_a_container_without_this_runs_label_is_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[list[str]] = []

    def docker(argv: list[str], **kw: Any) -> subprocess.CompletedProcess[str]:
        calls.append(argv)
        return subprocess.CompletedProcess(argv, 0, "someone-else\n", "")

    monkeypatch.setattr(clean.subprocess, "run", docker)
    assert clean.remove_container("m-1").startswith("left alone")
    assert all(argv[:2] != ["docker", "rm"] for argv in calls)

"""The sim's restic mover against the real restic binary and a local repository."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from restore_drill.clusters.sim.mover import (
    Mover,
    Snapshot,
    parse_time,
    remove_paths_not_in,
    select_snapshot,
)

pytestmark = pytest.mark.skipif(
    shutil.which("restic") is None,
    reason="restic is not installed",
)


def mover_env(tmp_path: Path, data: Path, **extra: str) -> dict[str, str]:
    return {
        "DATA_DIR": str(data),
        "RESTIC_CACHE_DIR": str(tmp_path / "cache"),
        "RESTIC_REPOSITORY": str(tmp_path / "repo"),
        "RESTIC_PASSWORD": "correct horse",
        "PRIVILEGED_MOVER": "0",
        "FORGET_OPTIONS": "--keep-last 1",
        "RESTORE_AS_OF": "",
        "SELECT_PREVIOUS": "0",
        **extra,
    }


def snapshots(env: dict[str, str]) -> list[dict[str, object]]:
    done = subprocess.run(
        ["restic", "snapshots", "--json"],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return list(json.loads(done.stdout))


@pytest.fixture(scope="module")
def template_repository(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # `restic init` calibrates its key derivation for seconds: do it once, copy it after.
    repo = tmp_path_factory.mktemp("template") / "repo"
    subprocess.run(
        ["restic", "init", "-q"],
        env={**os.environ, "RESTIC_REPOSITORY": str(repo), "RESTIC_PASSWORD": "correct horse"},
        check=True,
    )
    return repo


@pytest.fixture
def source(tmp_path: Path, template_repository: Path) -> Path:
    shutil.copytree(template_repository, tmp_path / "repo")
    data = tmp_path / "src"
    (data / "dir" / "empty").mkdir(parents=True)
    (data / "lost+found").mkdir()
    (data / "dir" / "file.txt").write_text("hello")
    (data / "link").symlink_to("dir/file.txt")
    os.chmod(data / "dir" / "file.txt", 0o640)
    return data


def test_backup_initialises_the_repository_and_saves_one_snapshot(
    tmp_path: Path, source: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.rmtree(tmp_path / "repo")
    env = mover_env(tmp_path, source)
    assert Mover(env).run(["backup"]) == 0
    out = capsys.readouterr().out
    assert "=== Initialize Dir ===" in out
    assert "Restic completed in" in out
    listed = snapshots(env)
    assert len(listed) == 1
    assert listed[0]["hostname"] == "volsync"
    assert listed[0]["excludes"] == ["lost+found"]


@pytest.mark.slow
def test_forget_keeps_only_the_last_snapshot_by_default(tmp_path: Path, source: Path) -> None:
    env = mover_env(tmp_path, source)
    assert Mover(env).run(["backup"]) == 0
    (source / "new").write_text("more")
    assert Mover(env).run(["backup"]) == 0
    assert len(snapshots(env)) == 1


def test_an_empty_source_is_skipped_without_a_snapshot(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "src"
    (data / "lost+found").mkdir(parents=True)
    env = mover_env(tmp_path, data)
    assert Mover(env).run(["backup"]) == 0
    assert "== Directory is empty skipping backup ===" in capsys.readouterr().out
    assert not (tmp_path / "repo").exists()


def test_wrong_password_fails_the_backup(
    tmp_path: Path, source: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert Mover(mover_env(tmp_path, source)).run(["backup"]) == 0
    wrong = mover_env(tmp_path, source, RESTIC_PASSWORD="wrong")
    assert Mover(wrong).run(["backup"]) == 3
    assert "ERROR: failure connecting to repository, incorrect password" in capsys.readouterr().out


def test_missing_mandatory_variable_fails(
    tmp_path: Path, source: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env = mover_env(tmp_path, source)
    del env["RESTIC_PASSWORD"]
    assert Mover(env).run(["backup"]) == 1
    assert "ERROR: RESTIC_PASSWORD must be defined" in capsys.readouterr().out


def test_unknown_operation_fails(tmp_path: Path, source: Path) -> None:
    assert Mover(mover_env(tmp_path, source)).run(["dance"]) == 2


def test_restore_gives_back_the_tree(tmp_path: Path, source: Path) -> None:
    assert Mover(mover_env(tmp_path, source)).run(["backup"]) == 0
    target = tmp_path / "dst"
    target.mkdir()
    assert Mover(mover_env(tmp_path, target)).run(["restore"]) == 0
    assert (target / "dir" / "file.txt").read_text() == "hello"
    assert os.readlink(target / "link") == "dir/file.txt"
    assert (target / "dir" / "empty").is_dir()
    assert (target / "dir" / "file.txt").stat().st_mode & 0o777 == 0o640
    assert not (target / "lost+found").exists()


def test_restore_from_an_empty_repository_restores_nothing_and_succeeds(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "dst"
    target.mkdir()
    # The known trap: the repository is created empty and the restore "succeeds".
    assert Mover(mover_env(tmp_path, target)).run(["restore"]) == 0
    assert "No eligible snapshots found" in capsys.readouterr().out
    assert list(target.iterdir()) == []


def test_enable_file_deletion_removes_what_the_snapshot_lacks(tmp_path: Path, source: Path) -> None:
    assert Mover(mover_env(tmp_path, source)).run(["backup"]) == 0
    target = tmp_path / "dst"
    (target / "stale-dir").mkdir(parents=True)
    (target / "stale").write_text("old")
    (target / "lost+found").mkdir()
    env = mover_env(tmp_path, target, RESTORE_OPTIONS="--delete")
    assert Mover(env).run(["restore"]) == 0
    assert sorted(p.name for p in target.iterdir()) == ["dir", "link", "lost+found"]


@pytest.mark.slow
def test_without_file_deletion_extra_files_stay(tmp_path: Path, source: Path) -> None:
    assert Mover(mover_env(tmp_path, source)).run(["backup"]) == 0
    target = tmp_path / "dst"
    target.mkdir()
    (target / "stale").write_text("old")
    assert Mover(mover_env(tmp_path, target)).run(["restore"]) == 0
    assert (target / "stale").exists()


def test_unlock_of_a_missing_repository_is_not_an_error(
    tmp_path: Path, source: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.rmtree(tmp_path / "repo")
    env = mover_env(tmp_path, source)
    assert Mover(env).run(["unlock"]) == 0
    assert "No repo, ignoring unlock error" in capsys.readouterr().out


@pytest.mark.slow
def test_unlock_backup_prune_in_order(
    tmp_path: Path, source: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env = mover_env(tmp_path, source)
    assert Mover(env).run(["unlock", "backup", "prune"]) == 0
    out = capsys.readouterr().out
    order = [
        out.index(m)
        for m in ("Starting unlock", "Starting backup", "Starting forget", "Starting prune")
    ]
    assert order == sorted(order)


def test_runs_as_a_module_command(tmp_path: Path, source: Path) -> None:
    env = mover_env(tmp_path, source)
    done = subprocess.run(
        [sys.executable, "-m", "restore_drill.clusters.sim.mover", "backup"],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "snapshot" in done.stdout and "saved" in done.stdout
    assert env["RESTIC_PASSWORD"] not in done.stdout + done.stderr


# --- snapshot selection (entry.sh's select_restic_snapshot_to_restore) ------------------

NOW = datetime(2026, 1, 10, 12, 0, tzinfo=UTC)
HISTORY = [Snapshot(f"s{i}", NOW - timedelta(hours=i)) for i in range(4)]  # s0 newest


def test_select_newest_by_default() -> None:
    assert select_snapshot(HISTORY) == HISTORY[0]


def test_select_previous_skips_newer_ones() -> None:
    assert select_snapshot(HISTORY, previous=2) == HISTORY[2]
    assert select_snapshot(HISTORY, previous=4) is None


def test_select_restore_as_of_takes_the_newest_not_after_it() -> None:
    as_of = (NOW - timedelta(hours=1, minutes=30)).isoformat().replace("+00:00", "Z")
    assert select_snapshot(HISTORY, restore_as_of=as_of) == HISTORY[2]
    assert select_snapshot(HISTORY, restore_as_of=as_of, previous=1) == HISTORY[3]
    assert select_snapshot(HISTORY, restore_as_of="2000-01-01T00:00:00Z") is None


def test_parse_time_trims_nanoseconds() -> None:
    parsed = parse_time("2026-11-23T09:40:41.094640555Z")
    assert parsed == datetime(2026, 11, 23, 9, 40, 41, tzinfo=UTC)


def test_remove_paths_keeps_lost_and_found(tmp_path: Path) -> None:
    (tmp_path / "keep" / "sub").mkdir(parents=True)
    (tmp_path / "drop").mkdir()
    (tmp_path / "lost+found").mkdir()
    (tmp_path / "keep" / "gone.txt").write_text("x")
    removed = remove_paths_not_in(tmp_path, {"keep", "keep/sub"})
    assert removed == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep", "lost+found"]

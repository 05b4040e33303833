"""``restore-drill list`` and the usage side of ``restore-drill run`` (no cluster needed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from restore_drill.cli import main
from restore_drill.clusters import kind as kind_module
from restore_drill.images import tools


def test_list_prints_every_scenario_with_its_target(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for line in ("pvc-delete", "cluster-rebuild", "point-in-time", "volsync-upgrade"):
        assert line in out
    assert "900s" in out and "120s" in out
    assert "faults ('restore-drill run faults'" in out
    assert "fails-loudly: MoverFailed (wrong-password)" in out


@pytest.mark.parametrize(
    "argv, message",
    [
        (["run", "nope", "--cluster", "auto"], "unknown scenario 'nope'"),
        (["run", "pvc-delete", "--cluster", "auto", "--size", "huge"], "--size: 'huge'"),
        (["run", "pvc-delete", "--cluster", "auto", "--size", "0"], "--size: '0' must be"),
        (["run", "pvc-delete", "--cluster", "auto", "--size", "100TiB"], "holds 1Gi"),
        (["run", "faults", "--cluster", "auto", "--size", "3GiB"], "holds 1Gi"),
    ],
)
def test_mistyped_input_is_named_before_a_backend_is_probed(
    argv: list[str],
    message: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    probed: list[str] = []
    monkeypatch.setattr(
        kind_module,
        "docker_engine_answers",
        lambda: probed.append("docker") or (False, "no Docker engine answers"),
    )
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert message in captured.err and "backend" not in captured.out and probed == []


@pytest.mark.parametrize(
    "argv, message",
    [
        (
            ["run", "pvc-delete", "--cluster", "kind", "--allow-existing"],
            "go with --cluster existing",
        ),
        (
            ["run", "pvc-delete", "--cluster", "kind", "--agent-image", "a:1"],
            "go with --cluster existing",
        ),
        (["run", "pvc-delete", "--cluster", "existing"], "needs --kubeconfig and --allow-existing"),
    ],
)
def test_usage_errors_exit_2_before_anything_starts(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out.splitlines()[0].startswith("restore-drill: backend ")
    assert message in captured.err


def test_ci_says_which_backend_auto_chose_in_the_first_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    kind = tmp_path / "kind"
    kind.write_text("")
    monkeypatch.setattr(kind_module, "docker_engine_answers", lambda: (True, "Docker engine 28"))
    monkeypatch.setattr(tools, "tool", lambda name: str(kind))
    monkeypatch.setenv("CI", "true")
    assert main(["run", "pvc-delete", "--cluster", "auto", "--allow-existing"]) == 2
    first = capsys.readouterr().out.splitlines()[0]
    assert first.startswith("restore-drill: backend ") and "auto" in first


def test_kind_without_docker_is_one_line_and_leaves_no_run_directory(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(
        kind_module, "docker_engine_answers", lambda: (False, "no Docker engine answers (refused)")
    )
    out = tmp_path / "runs"
    assert main(["run", "pvc-delete", "--cluster", "kind", "--out", str(out)]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "no Docker engine answers" in err and "make setup" in err
    assert not out.exists() or not any(out.iterdir())


def test_an_unusable_out_directory_is_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["run", "pvc-delete", "--cluster", "kind", "--out", "/proc/nope"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--out /proc/nope" in err


def test_jobs_must_be_a_whole_number_of_drills(capsys: pytest.CaptureFixture[str]) -> None:
    for bad in ("0", "-1", "two"):
        with pytest.raises(SystemExit) as exit_:
            main(["run", "pvc-delete", "--jobs", bad])
        assert exit_.value.code == 2
        assert f"{bad!r} is not a whole number of drills" in capsys.readouterr().err


class Started:
    """A started backend that records where it was started and how it was closed."""

    cluster = object_store = None

    def __init__(self, where: Path, closed: list[tuple[str, bool]]) -> None:
        self.where, self.closed = where, closed

    def close(self, keep_cluster: bool) -> None:
        self.closed.append((self.where.name, keep_cluster))


def fake_backends(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, run_drill: Any
) -> list[tuple[str, bool]]:
    """``run`` on kind with every backend a :class:`Started`; returns the closes seen."""
    from restore_drill import backend, room
    from restore_drill.commands import run as run_command

    closed: list[tuple[str, bool]] = []
    monkeypatch.setattr(run_command, "choose_backend", lambda name: ("kind", "asked"))
    monkeypatch.setattr(run_command, "open_run", lambda out, prefix: tmp_path / "run-1")
    monkeypatch.setattr(
        run_command, "start_in", lambda run_dir, *a: Started(run_dir / "backend", closed)
    )
    monkeypatch.setattr(backend, "start_backend", lambda b, where, **o: Started(where, closed))
    monkeypatch.setattr(run_command, "run_drill", run_drill)
    monkeypatch.setattr(room, "check_fits_disk", lambda sizes: None)
    return closed


def test_run_all_with_jobs_runs_the_rebuilds_on_clusters_of_their_own_beside_the_rest(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import threading
    import time

    from restore_drill.report import DrillResult

    ran: list[tuple[str, str, float, float]] = []  # scenario, thread, start, end

    def run_drill(scenario: Any, cluster: Any, store: Any, options: Any) -> DrillResult:
        start = time.monotonic()
        time.sleep(0.2)
        ran.append((scenario.name, threading.current_thread().name, start, time.monotonic()))
        return DrillResult(scenario.name, "kind", "r1", True, scenario.target_seconds)

    closed = fake_backends(monkeypatch, tmp_path, run_drill)
    assert main(["run", "all", "--jobs", "3", "--out", str(tmp_path)]) == 0
    alone = {"cluster-rebuild", "volsync-upgrade"}
    shared = [r for r in ran if r[0] not in alone]
    assert len(shared) == 4 and all(r[1].startswith("drill") for r in shared)
    assert len({r[1] for r in shared}) == 3  # three at a time
    own = [r for r in ran if r[0] in alone]
    assert len(own) == 2 and all(r[1].startswith("cluster") for r in own)
    assert all(r[2] < min(s[3] for s in shared) for r in own), "beside the shared drills"
    assert sorted(closed) == [
        ("backend", False),
        ("backend-cluster-rebuild", False),
        ("backend-volsync-upgrade", False),
    ]
    out = capsys.readouterr().out
    assert all(f"drill {name}: PASS" in out for name, *_ in ran)


def until_stopped(name: str, progress: Any, stopped: list[str]) -> None:
    """A drill that keeps stepping until the run stops it; its name goes in ``stopped``."""
    import time

    from restore_drill.errors import Terminated
    from restore_drill.progress import StepStarted

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            progress(StepStarted("backup"))
        except Terminated:
            stopped.append(name)
            raise
        time.sleep(0.02)
    raise AssertionError(f"{name} was never stopped")


@pytest.mark.parametrize("where", ["a drill", "the cluster's start"])
def test_a_crash_on_the_run_cluster_stops_the_drills_on_their_own_clusters(
    where: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import time

    from restore_drill.commands import run as run_command
    from restore_drill.report import DrillResult

    stopped: list[str] = []

    def run_drill(scenario: Any, cluster: Any, store: Any, options: Any) -> Any:
        if scenario.name == "pvc-delete":
            time.sleep(0.2)
            raise RuntimeError("the harness broke")
        if not scenario.runs_alone:
            return DrillResult(scenario.name, "kind", "r1", True, scenario.target_seconds)
        until_stopped(scenario.name, options.progress, stopped)

    closed = fake_backends(monkeypatch, tmp_path, run_drill)
    if where == "the cluster's start":

        def start_in(*args: Any) -> Any:
            time.sleep(0.2)
            raise RuntimeError("the harness broke")

        monkeypatch.setattr(run_command, "start_in", start_in)
    with pytest.raises(RuntimeError, match="the harness broke"):
        main(["run", "all", "--jobs", "3", "--out", str(tmp_path)])
    assert sorted(stopped) == ["cluster-rebuild", "volsync-upgrade"]
    assert ("backend-cluster-rebuild", False) in closed  # stopped: not kept


def test_a_crash_on_a_cluster_of_its_own_stops_the_rest_and_is_what_the_run_reports(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import time

    stopped: list[str] = []

    def run_drill(scenario: Any, cluster: Any, store: Any, options: Any) -> Any:
        if scenario.name == "cluster-rebuild":
            time.sleep(0.2)
            raise RuntimeError("the rebuild broke")
        until_stopped(scenario.name, options.progress, stopped)

    fake_backends(monkeypatch, tmp_path, run_drill)
    with pytest.raises(RuntimeError, match="the rebuild broke"):  # not the stops it caused
        main(["run", "all", "--jobs", "3", "--out", str(tmp_path)])
    running = {"app-delete", "namespace-delete", "point-in-time", "volsync-upgrade"}
    assert running <= set(stopped)  # pvc-delete, queued, is cancelled or stopped at once

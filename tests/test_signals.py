"""SIGTERM takes Ctrl-C's path: the same teardown, exit 143, and the drill's result says
where it stopped."""

from __future__ import annotations

import json
import os
import signal
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from restore_drill import cli, progress, steps
from restore_drill.commands import list_scenarios
from restore_drill.dryrun import Plan, RecordingKube
from restore_drill.runner import RunOptions, run_drill
from restore_drill.scenario import find_scenario
from tests.drill_stubs import StubCluster


def test_sigterm_unwinds_like_ctrl_c_and_exits_143(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    unwound: list[str] = []

    def run(args: Any) -> int:
        try:
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(5)
            return 0
        finally:
            unwound.append("teardown ran")

    previous = signal.getsignal(signal.SIGTERM)
    monkeypatch.setattr(list_scenarios, "run", run)
    try:
        assert cli.main(["list"]) == 143
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert unwound == ["teardown ran"]
    assert "restore-drill: terminated" in capsys.readouterr().err


@pytest.mark.parametrize(("number", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_both_signals_unwind_even_when_sigint_came_ignored(
    monkeypatch: pytest.MonkeyPatch, number: int, code: int
) -> None:
    """A run started in the background inherits SIGINT ignored; kill -INT still stops it
    the orderly way, and the caller's handlers come back afterwards."""
    unwound: list[str] = []

    def run(args: Any) -> int:
        try:
            os.kill(os.getpid(), number)
            time.sleep(5)
            return 0
        finally:
            unwound.append("teardown ran")

    before = signal.signal(signal.SIGINT, signal.SIG_IGN)
    monkeypatch.setattr(list_scenarios, "run", run)
    try:
        assert cli.main(["list"]) == code
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN, "the caller's handler is back"
    finally:
        signal.signal(signal.SIGINT, before)
    assert unwound == ["teardown ran"]


class Store:
    cluster_endpoint = "http://store:9000"

    def __init__(self) -> None:
        from restore_drill.objectstore import S3Credentials

        self.credentials = S3Credentials("key", "secret")
        self.deleted: list[str] = []

    def create_bucket(self, name: str) -> None:
        pass

    def delete_bucket(self, name: str) -> None:
        self.deleted.append(name)


def test_an_interrupted_drill_says_where_and_removes_what_it_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plan = Plan(tmp_path)
    store = Store()

    def stopped(drill: Any, **_: Any) -> None:
        raise KeyboardInterrupt

    spec = steps.STEPS["write_dataset"]
    monkeypatch.setitem(steps.STEPS, "write_dataset", replace(spec, run=stopped))
    with pytest.raises(KeyboardInterrupt):
        run_drill(
            find_scenario("pvc-delete"),
            StubCluster(RecordingKube(plan)),  # type: ignore[arg-type]
            store,  # type: ignore[arg-type]
            RunOptions(out_dir=tmp_path / "out"),
        )
    (path,) = (tmp_path / "out").glob("pvc-delete-*/result.json")
    result = json.loads(path.read_text())
    assert result["interrupted"] == "write_dataset" and result["failure_type"] == "Interrupted"
    assert not result["passed"]
    namespace = result["namespaces"][0]
    assert f"delete: Namespace {namespace}" in plan.lines
    assert store.deleted == [f"rd-{result['run_id']}"]


def test_a_signal_during_a_steps_announcement_is_that_steps(tmp_path: Path) -> None:
    """The e2e signal test sends its signal as soon as a step is announced: the drill must
    say it stopped in that step, not in the one before."""

    def announce(event: progress.Event) -> None:
        if event == progress.StepStarted("deploy_app"):
            raise KeyboardInterrupt  # lands while the progress line is written

    with pytest.raises(KeyboardInterrupt):
        run_drill(
            find_scenario("pvc-delete"),
            StubCluster(RecordingKube(Plan(tmp_path))),  # type: ignore[arg-type]
            Store(),  # type: ignore[arg-type]
            RunOptions(out_dir=tmp_path / "out", progress=announce),
        )
    (path,) = (tmp_path / "out").glob("pvc-delete-*/result.json")
    assert json.loads(path.read_text())["interrupted"] == "deploy_app"

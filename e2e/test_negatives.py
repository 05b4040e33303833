"""Negative drills on the same real cluster: a restore the harness's own checks must call
wrong (the wrong snapshot, a file the backup never had) FAILS, naming the cause. The faults
come from scenario data (``faults:``, step order, target), not from Python special cases;
they run after the scenarios (opt-in with ``--cluster``). The backup path's faults are
scenarios of their own (``scenarios/faults/``), drilled with the others."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from restore_drill.backend import Backend
from restore_drill.report import DrillResult
from restore_drill.runner import RunOptions, run_drill
from restore_drill.scenario import Scenario, find_scenario, load_scenario_file

HERE = Path(__file__).parent / "scenarios"

pytestmark = [pytest.mark.drill, pytest.mark.timeout(900)]


@pytest.fixture
def play(
    drill_backend: Backend, tmp_path: Path, pytestconfig: pytest.Config, drill_password: str
) -> Callable[[Scenario], DrillResult]:
    """Play a scenario on the session's cluster, with the session's known password."""

    def run(scenario: Scenario) -> DrillResult:
        if drill_backend.cluster.backend not in scenario.backends:
            pytest.skip(f"{scenario.name} does not run on {drill_backend.cluster.backend}")
        options = RunOptions(
            out_dir=tmp_path, size=pytestconfig.getoption("--drill-size"), password=drill_password
        )
        return run_drill(scenario, drill_backend.cluster, drill_backend.object_store, options)

    return run


def failed_with(result: DrillResult, failure_type: str, *words: str) -> None:
    assert not result.passed, "the drill passed a wrong restore"
    assert result.failure_type == failure_type, result.failure
    for word in words:
        assert word in str(result.failure), result.failure


def test_wrong_snapshot_restored(play: Callable[[Scenario], DrillResult]) -> None:
    failed_with(
        play(load_scenario_file(HERE / "wrong-snapshot.yaml")),
        "VerificationFailed",
        "the 'older' dataset came back, not 'newer'",
    )


def test_missing_file(play: Callable[[Scenario], DrillResult]) -> None:
    scenario = find_scenario("pvc-delete").with_faults("lose-file-before-backup")
    failed_with(play(scenario), "VerificationFailed", "1 missing")

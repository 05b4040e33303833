"""Negative drills on the same real cluster: a restore the harness's own checks must call
wrong (the wrong snapshot, a file the backup never had) FAILS, naming the cause. The faults
come from scenario data (``faults:``, step order, target), not from Python special cases;
they run after the scenarios (opt-in with ``--cluster``). The backup path's faults are
scenarios of their own (``scenarios/faults/``), drilled with the others."""

from __future__ import annotations

from pathlib import Path

import pytest

from restore_drill.backend import Backend
from restore_drill.report import DrillResult
from restore_drill.runner import RunOptions, run_drill
from restore_drill.scenario import Scenario, find_scenario, load_scenario_file

HERE = Path(__file__).parent / "scenarios"

pytestmark = [pytest.mark.drill, pytest.mark.timeout(900)]


def drill(backend: Backend, scenario: Scenario, out: Path, config: pytest.Config) -> DrillResult:
    if backend.cluster.backend not in scenario.backends:
        pytest.skip(f"{scenario.name} does not run on {backend.cluster.backend}")
    size = config.getoption("--drill-size")
    return run_drill(
        scenario, backend.cluster, backend.object_store, RunOptions(out_dir=out, size=size)
    )


def failed_with(result: DrillResult, failure_type: str, *words: str) -> None:
    assert not result.passed, "the drill passed a wrong restore"
    assert result.failure_type == failure_type, result.failure
    for word in words:
        assert word in str(result.failure), result.failure


def test_wrong_snapshot_restored(
    drill_backend: Backend, tmp_path: Path, pytestconfig: pytest.Config
) -> None:
    scenario = load_scenario_file(HERE / "wrong-snapshot.yaml")
    failed_with(
        drill(drill_backend, scenario, tmp_path, pytestconfig),
        "VerificationFailed",
        "the 'older' dataset came back, not 'newer'",
    )


def test_missing_file(drill_backend: Backend, tmp_path: Path, pytestconfig: pytest.Config) -> None:
    scenario = find_scenario("pvc-delete").with_faults("lose-file-before-backup")
    failed_with(
        drill(drill_backend, scenario, tmp_path, pytestconfig), "VerificationFailed", "1 missing"
    )

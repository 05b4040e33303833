"""Negative drills on the sim: every way a restore can be wrong must FAIL, naming the cause.

They run the real flow (API server, controllers, restic, local S3) at a tiny size; the
faults come from scenario data (``faults:``, step order, target), not Python special cases.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from restore_drill.errors import BackendUnavailable
from restore_drill.report import DrillResult
from restore_drill.scenario import (
    Backend,
    RunOptions,
    Scenario,
    find_scenario,
    load_scenario_file,
    run_drill,
    start_backend,
)

HERE = Path(__file__).parent / "scenarios"
SIZE = "256KiB"


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backend]:
    try:
        from restore_drill.clusters.sim.cluster import SimCluster  # noqa: F401
    except ImportError as exc:
        pytest.skip(f"the sim backend is not available: {exc}")
    try:
        backend = start_backend("sim", tmp_path_factory.mktemp("sim"))
    except BackendUnavailable as exc:
        pytest.skip(str(exc))
    yield backend
    backend.close()


def drill(sim: Backend, scenario: Scenario, out: Path) -> DrillResult:
    return run_drill(
        scenario,
        sim.cluster,
        sim.object_store,
        RunOptions(out_dir=out, size=SIZE, keep="never", step_timeout=90),
    )


def failed_with(result: DrillResult, failure_type: str, *words: str) -> None:
    assert not result.passed
    assert result.failure_type == failure_type, result.failure
    for word in words:
        assert word in str(result.failure), result.failure


def test_corrupted_repository(sim: Backend, tmp_path: Path) -> None:
    scenario = find_scenario("pvc-delete").with_faults("corrupt-repository")
    failed_with(drill(sim, scenario, tmp_path), "MoverFailed", "mover failed")


def test_wrong_snapshot_restored(sim: Backend, tmp_path: Path) -> None:
    result = drill(sim, load_scenario_file(HERE / "wrong-snapshot.yaml"), tmp_path)
    failed_with(result, "VerificationFailed", "DIFFERENT")


def test_rto_target_below_the_measured_time(sim: Backend, tmp_path: Path) -> None:
    from dataclasses import replace

    scenario = replace(find_scenario("pvc-delete"), target_seconds=0.01)
    result = drill(sim, scenario, tmp_path)
    failed_with(result, "RestoreTimeout", "target is 0s")
    assert result.verify.get("ok") is True, "the data was right; only the time was wrong"


def test_marker_left_present(sim: Backend, tmp_path: Path) -> None:
    result = drill(sim, load_scenario_file(HERE / "marker-in-backup.yaml"), tmp_path)
    failed_with(result, "VerificationFailed", "marker present")


def test_missing_file(sim: Backend, tmp_path: Path) -> None:
    scenario = find_scenario("pvc-delete").with_faults("lose-file-before-backup")
    failed_with(drill(sim, scenario, tmp_path), "VerificationFailed", "1 missing")


def test_silent_empty_restore_trap(sim: Backend, tmp_path: Path) -> None:
    scenario = find_scenario("pvc-delete").with_faults("rd-empty-repository")
    result = drill(sim, scenario, tmp_path)
    failed_with(result, "VerificationFailed", "EMPTY", "restored nothing", "repository")

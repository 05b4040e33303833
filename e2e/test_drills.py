"""Every scenario file as a drill, the fault drills too, on the backend given with
``--cluster`` (opt-in). A drill passes when it ends as its scenario declares: recovered
within the target with the data verified, or failed loudly with the named failure."""

from __future__ import annotations

from pathlib import Path

import pytest

from restore_drill.backend import Backend
from restore_drill.plugin import SideBySide, drill_options, remember, run_shown
from restore_drill.scenario import Scenario


@pytest.mark.drill
# A real cluster: the first drill also waits for the cluster and its addons, and
# cluster-rebuild builds a second one.
@pytest.mark.timeout(1800)
def test_drill(
    drill_scenario: Scenario,
    drill_backend: Backend,
    drill_out: Path,
    drill_password: str,
    side_by_side: SideBySide,
    request: pytest.FixtureRequest,
) -> None:
    if drill_backend.cluster.backend not in drill_scenario.backends:
        pytest.skip(f"{drill_scenario.name} does not run on {drill_backend.cluster.backend}")
    result = side_by_side.result(drill_scenario) or run_shown(
        request.config,
        drill_scenario,
        drill_backend,
        drill_options(request.config, drill_out, drill_password),
    )
    remember(request.node, result)
    assert result.passed, f"{result.failure_type}: {result.failure}"
    assert result.outcome_observed == result.outcome_expected
    if drill_scenario.outcome == "recovers":
        assert result.rto_seconds is not None
        assert result.rto_seconds <= result.rto_target_seconds
        assert result.verify.get("ok") is True
    else:
        assert result.observed_failure and result.verify.get("ok") is not True

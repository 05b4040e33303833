"""Expected versus observed outcome: a fault drill passes only by failing as it declares."""

from __future__ import annotations

from dataclasses import replace

import pytest

from restore_drill import outcome
from restore_drill.errors import MoverFailed, OutcomeMismatch, VerificationFailed
from restore_drill.scenario import ExpectedFailure, find_scenario

PASSWORD = find_scenario("wrong-restic-password")
RECOVERS = find_scenario("pvc-delete")


def test_a_recovering_scenario_keeps_its_failure() -> None:
    failure = VerificationFailed("1 missing")
    assert outcome.verdict_failure(RECOVERS, failure) is failure
    assert outcome.verdict_failure(RECOVERS, None) is None
    assert outcome.expected(RECOVERS) == "recovers"


def test_the_declared_loud_failure_is_the_pass() -> None:
    seen = MoverFailed("mover failed (wrong-password: ...)", cause="wrong-password")
    assert outcome.verdict_failure(PASSWORD, seen) is None
    assert outcome.observed(seen) == "fails-loudly: MoverFailed (wrong-password)"
    assert outcome.expected(PASSWORD) == "fails-loudly: MoverFailed (wrong-password)"


@pytest.mark.parametrize(
    ("seen", "said"),
    [
        (None, "but the drill recovered"),
        (MoverFailed("refused", cause="access-denied"), "observed fails-loudly: MoverFailed (acc"),
        (VerificationFailed("EMPTY"), "observed fails-loudly: VerificationFailed"),
    ],
)
def test_recovering_or_failing_otherwise_fails_the_fault_drill(
    seen: Exception | None, said: str
) -> None:
    failure = outcome.verdict_failure(PASSWORD, seen)  # type: ignore[arg-type]
    assert isinstance(failure, OutcomeMismatch)
    assert said in str(failure)


def test_the_failure_must_say_the_declared_words() -> None:
    scenario = replace(
        PASSWORD, expected_failure=ExpectedFailure("VerificationFailed", says=("EMPTY",))
    )
    assert outcome.verdict_failure(scenario, VerificationFailed("the volume is EMPTY")) is None
    failure = outcome.verdict_failure(scenario, VerificationFailed("1 missing"))
    assert "it did not say 'EMPTY'" in str(failure)
    other_type = outcome.verdict_failure(scenario, MoverFailed("EMPTY"))
    assert "expected VerificationFailed, observed fails-loudly: MoverFailed" in str(other_type)

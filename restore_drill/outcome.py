"""Expected versus observed: whether a drill ended as its scenario declares.

Most scenarios declare ``recovers``: any failure fails the drill. A fault drill may declare
``fails-loudly``: then the named failure (type, mover cause, words) is the pass, and a drill
that recovers, or fails some other way, is the failure.
"""

from __future__ import annotations

from restore_drill.errors import DrillError, OutcomeMismatch
from restore_drill.scenario import Scenario


def expected(scenario: Scenario) -> str:
    if scenario.expected_failure is None:
        return "recovers"
    return f"fails-loudly: {scenario.expected_failure.describe()}"


def observed(failure: DrillError | None) -> str:
    if failure is None:
        return "recovers"
    cause = str(getattr(failure, "cause", "") or "")
    named = type(failure).__name__ + (f" ({cause})" if cause not in ("", "failed") else "")
    return f"fails-loudly: {named}"


def verdict_failure(scenario: Scenario, failure: DrillError | None) -> DrillError | None:
    """What fails the drill: None when it ended as declared."""
    want = scenario.expected_failure
    if want is None:
        return failure
    if failure is None:
        return OutcomeMismatch(
            f"expected to fail loudly with {want.describe()}, but the drill recovered"
        )
    text = str(failure)
    missing = [word for word in want.says if word not in text]
    cause = str(getattr(failure, "cause", "") or "")
    if type(failure).__name__ != want.type or (want.cause and cause != want.cause) or missing:
        said = f" (it did not say {', '.join(map(repr, missing))})" if missing else ""
        return OutcomeMismatch(
            f"expected {want.describe()}, observed {observed(failure)}{said}: {text}"
        )
    return None

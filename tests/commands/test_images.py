"""``restore-drill images build --only``: one step of the plan, named as the plan names it."""

from __future__ import annotations

import pytest

from restore_drill.cli import main


def test_only_an_unknown_step_is_a_usage_error_listing_the_steps(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["images", "build", "--only", "actionlnt"]) == 2
    err = capsys.readouterr().err
    assert "--only: no step named actionlnt" in err and "actionlint" in err and "kubernetes" in err


def test_only_builds_just_that_step(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["images", "build", "--only", "actionlint"]) == 0
    out = capsys.readouterr().out
    assert "[1/1] actionlint" in out and "images: 1 steps" in out

"""The pytest plugin: one option group, the drill marker, invalid combinations refused."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from restore_drill import plugin
from restore_drill.runner import RunOptions
from restore_drill.scenario import SCENARIOS_DIR, find_scenario

pytest_plugins = ["pytester"]

DRILL_TEST = """
import pytest

@pytest.mark.drill
def test_drill(drill_scenario):
    assert drill_scenario.name
"""


def test_options_are_in_one_group(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--help")
    text = result.stdout.str()
    section = text[text.index("restore drills") :]
    for option in ("--cluster", "--scenario", "--keep", "--drill-size"):
        assert option in section


def test_drill_marker_is_registered(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(DRILL_TEST)
    result = pytester.runpytest("--strict-markers", "--collect-only", "-q")
    assert result.ret == 0
    assert "pvc-delete" in result.stdout.str()


@pytest.mark.parametrize(
    "args, message",
    [
        (["--scenario", "pvc-delete"], "--scenario needs --cluster"),
        (["--drill-size", "1MiB"], "--drill-size needs --cluster"),
        (["--cluster", "kind", "--drill-size", "lots"], "--drill-size"),
        (["--cluster", "kind", "--scenario", "nope"], "--scenario: unknown nope"),
        (["--drill-jobs", "0"], "--drill-jobs: at least 1"),
    ],
)
def test_invalid_combinations_are_usage_errors(
    pytester: pytest.Pytester, args: list[str], message: str
) -> None:
    pytester.makepyfile(DRILL_TEST)
    result = pytester.runpytest(*args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert message in result.stderr.str()


def test_scenario_selects_the_parametrisation(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(DRILL_TEST)
    result = pytester.runpytest(
        "--cluster", "kind", "--scenario", "point-in-time", "--collect-only", "-q"
    )
    assert "test_drill[point-in-time]" in result.stdout.str()
    assert "pvc-delete" not in result.stdout.str()


def test_a_drill_marked_test_is_skipped_without_cluster(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.drill
        def test_needs_a_cluster():
            raise AssertionError("ran without --cluster")
        """
    )
    result = pytester.runpytest("-rs")
    result.assert_outcomes(skipped=1)
    assert "drills are opt-in" in result.stdout.str()


def test_a_drills_verdict_goes_into_the_junit_report(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        from restore_drill.plugin import remember
        from restore_drill.report import DrillResult

        def test_reported(request):
            result = DrillResult("pvc-delete", "kind", "r1", True, 120, rto_seconds=41.5)
            remember(request.node, result)
        """
    )
    result = pytester.runpytest("--junitxml=out.xml")
    result.assert_outcomes(passed=1)
    xml = (pytester.path / "out.xml").read_text()
    assert '<property name="rto_seconds" value="41.5"' in xml
    assert '<property name="verdict" value="PASS"' in xml


def test_keep_means_the_same_in_the_cli_and_in_pytest() -> None:
    from restore_drill.backend import keep_cluster

    assert keep_cluster("always", failed=False) and keep_cluster("on-failure", failed=True)
    assert not keep_cluster("on-failure", failed=False) and not keep_cluster("never", failed=True)


def test_drills_that_run_alone_come_after_the_others(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(DRILL_TEST)
    result = pytester.runpytest("--cluster", "kind", "--collect-only", "-q")
    names = [line.split("[")[1].rstrip("]") for line in result.stdout.lines if "[" in line]
    alone = {"cluster-rebuild", "volsync-upgrade", "s3-outage-backup", "s3-outage-restore"}
    alone |= {"fleet-cluster-rebuild"}
    assert set(names[-len(alone) :]) == alone
    assert "pvc-delete" in names[: -len(alone)]


class Kube:
    def resource(self, kind: Any) -> None:
        pass


class Backend:
    class cluster:  # the attribute a Backend has
        @staticmethod
        def kube() -> Kube:
            return Kube()

    object_store = None


class Quiet:
    @staticmethod
    def getoption(name: str) -> bool:
        assert name == "--drill-quiet"
        return True


def test_drills_side_by_side_run_at_the_same_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    both_running = threading.Barrier(2, timeout=30)

    def run_drill(scenario: Any, *_: Any) -> str:
        both_running.wait()  # only passes when the other drill runs too
        return f"{scenario.name} done"

    monkeypatch.setattr(plugin, "run_drill", run_drill)
    planned = {
        name: (find_scenario(name), RunOptions(out_dir=tmp_path))
        for name in ("pvc-delete", "app-delete")
    }
    together = plugin.SideBySide(Quiet(), Backend(), planned, jobs=2)  # type: ignore[arg-type]
    try:
        assert together.result(find_scenario("pvc-delete")) == "pvc-delete done"
        assert together.result(find_scenario("app-delete")) == "app-delete done"
        assert together.result(find_scenario("cluster-rebuild")) is None  # it runs alone
    finally:
        together.close()


SHOWN_TEST = """
from restore_drill import plugin, progress
from restore_drill.runner import RunOptions
from restore_drill.scenario import find_scenario


def test_before():
    pass  # its dot is on the line when the drill starts


def test_one(request, monkeypatch, tmp_path):
    def run_drill(scenario, cluster, store, options):
        options.progress(progress.StepStarted("backup"))
        options.progress(progress.StepEnded("backup", 1.5))
        return "result"

    monkeypatch.setattr(plugin, "run_drill", run_drill)
    class Backend:
        cluster = object_store = None

    scenario, options = find_scenario("pvc-delete"), RunOptions(out_dir=tmp_path)
    assert plugin.run_shown(request.config, scenario, Backend(), options) == "result"
"""


def test_a_drill_shows_its_steps_past_the_capture_unless_quiet(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(SHOWN_TEST)
    # A pytest of its own: in-process, pytester's capture would hide what the real one does.
    shown = pytester.runpytest_subprocess("-q")
    shown.assert_outcomes(passed=2)
    shown.stdout.fnmatch_lines(
        ["drill pvc-delete (dataset *", "*[[]pvc-delete] backup done in 1.5s*"]
    )
    # Each line starts on a line of its own, not after the test file's name.
    pytester.runpytest_subprocess().stdout.fnmatch_lines(["drill pvc-delete (dataset *"])
    quiet = pytester.runpytest_subprocess("-q", "--drill-quiet")
    quiet.assert_outcomes(passed=2)
    assert "[pvc-delete]" not in quiet.stdout.str()


def test_what_runs_alone_is_what_changes_what_others_share() -> None:
    assert find_scenario("cluster-rebuild").runs_alone
    assert find_scenario("s3-outage-restore", SCENARIOS_DIR / "faults").runs_alone
    assert not find_scenario("pvc-delete").runs_alone
    assert not find_scenario("stale-lock", SCENARIOS_DIR / "faults").runs_alone

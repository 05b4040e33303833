"""Results: versioned JSON, Markdown table, HTML with inline SVG, JUnit, history."""

from __future__ import annotations

import json
from pathlib import Path
from xml.etree import ElementTree

import pytest

from restore_drill import report
from restore_drill.report import DrillResult, StepTiming


def result(
    passed: bool = True, rto: float | None = 12.5, scenario: str = "pvc-delete", **extra: object
) -> DrillResult:
    return DrillResult(
        scenario=scenario,
        backend="kind",
        run_id="abcd1234",
        passed=passed,
        rto_target_seconds=120,
        dataset="smoke 1MiB",
        rto_seconds=rto,
        rpo_seconds=3.2,
        steps=[StepTiming("backup", 1.5), StepTiming("verify", 0.5)],
        versions={"volsync": "0.16.0"},
        **extra,  # type: ignore[arg-type]
    )


def test_result_json_is_versioned_and_complete(tmp_path: Path) -> None:
    path = report.write_result(result(), tmp_path)
    document = report.load_result(path)
    assert document["schema"] == report.SCHEMA
    for key in (
        "scenario",
        "backend",
        "versions",
        "passed",
        "rto_seconds",
        "rto_target_seconds",
        "rpo_seconds",
        "verify",
        "steps",
        "failure",
    ):
        assert key in document
    assert document["steps"][0] == {"name": "backup", "seconds": 1.5, "ok": True, "disaster": False}
    assert document["verdict"] == "PASS"


def test_a_result_written_before_steps_named_the_disaster_still_reads(tmp_path: Path) -> None:
    path = report.write_result(result(), tmp_path)
    older = json.loads(path.read_text())
    for timing in older["steps"]:
        del timing["disaster"]
    path.write_text(json.dumps({**older, "schema": "restore-drill/result/v1"}))
    document = report.load_result(path)
    steps = [StepTiming(**t) for t in document["steps"]]
    assert [(s.name, s.disaster) for s in steps] == [("backup", False), ("verify", False)], (
        "a step without the field is not the disaster"
    )


def test_unknown_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "result.json"
    path.write_text(json.dumps({"schema": "other/v9"}))
    with pytest.raises(ValueError, match="unknown result schema"):
        report.load_result(path)


def test_markdown_names_the_failure() -> None:
    text = report.markdown_summary(
        [result(), result(False, None, failure="restore took 200s", failure_type="RestoreTimeout")]
    )
    assert "| pvc-delete | kind | smoke 1MiB | 12.5s | 120s | 3.2s | recovers | PASS |" in text
    assert "| - |" in text and "FAIL" in text and "RestoreTimeout" in text


def test_a_fault_drill_shows_expected_against_observed(tmp_path: Path) -> None:
    loud = "fails-loudly: MoverFailed (wrong-password)"
    right = result(
        scenario="wrong-restic-password",
        outcome_expected=loud,
        outcome_observed=loud,
        observed_failure="mover failed (wrong-password: wrong restic password)",
    )
    wrong = result(
        False,
        scenario="wrong-s3-credentials",
        outcome_expected="fails-loudly: MoverFailed (access-denied)",
        outcome_observed="recovers",
        failure="expected to fail loudly, but the drill recovered",
    )
    rows = report.table_rows([right, wrong])
    assert rows[0][-2:] == [loud, "PASS"]
    assert rows[1][-2:] == ["recovers (expected fails-loudly: MoverFailed (access-denied))", "FAIL"]
    page = report.write_reports([right, wrong], tmp_path)["html"].read_text()
    assert "failed loudly, as declared" in page and "wrong restic password" in page


def test_history_feeds_the_html_plot(tmp_path: Path) -> None:
    report.append_history(result(), tmp_path)
    report.append_history(result(False, 130.0), tmp_path)
    (tmp_path / report.HISTORY_FILE).open("a").write("{torn")
    history = report.read_history(tmp_path)
    assert [h["passed"] for h in history] == [True, False]
    paths = report.write_reports([result()], tmp_path)
    page = paths["html"].read_text()
    assert page.count("<circle") == 2 and "<svg" in page
    assert "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")


def test_junit_counts_failures() -> None:
    suite = ElementTree.fromstring(
        report.junit_xml([result(), result(False, failure="x", failure_type="T")])
    )
    assert suite.get("tests") == "2" and suite.get("failures") == "1"
    assert suite.findall("testcase")[1].find("failure").get("type") == "T"  # type: ignore[union-attr]


def test_times_are_utc_whatever_the_local_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    from restore_drill.report import utc_now

    monkeypatch.setenv("TZ", "Asia/Kolkata")  # UTC+05:30: a local time would be off by hours
    time.tzset()
    try:
        stamp = utc_now()
        expected = time.strftime("%Y-%m-%dT%H:%M", time.gmtime())
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
    assert stamp.startswith(expected) and stamp.endswith("Z")


def test_the_run_page_plots_the_history_of_every_run(tmp_path: Path) -> None:
    out, run_dir = tmp_path / "runs", tmp_path / "runs" / "run-1"
    report.append_history(result(rto=4.0), out)
    report.append_history(result(False, 300.0, scenario="cluster-rebuild"), out)
    notes = ["retain.last=2 added for the drill"]
    page = report.write_reports([result(notes=notes)], run_dir, history_dir=out)["html"]
    text = page.read_text()
    assert text.count("<circle") == 2, "the run's own page plots the results directory's history"
    for label in ("1 s", "10 s", "100 s", "1000 s", "RTO (log scale)", "cluster-rebuild"):
        assert f">{label}<" in text, label
    assert "retain.last=2 added for the drill" in text
    assert "smoke 1MiB" in text


def test_a_page_without_history_says_so_instead_of_an_empty_chart(tmp_path: Path) -> None:
    page = report.write_reports([result(rto=None)], tmp_path)["html"].read_text()
    assert "across runs" in page and "<circle" not in page
    assert "No drill with a measured RTO yet" in page


def test_runs_started_in_the_same_second_get_directories_of_their_own(tmp_path: Path) -> None:
    first, second = report.new_run_dir(tmp_path), report.new_run_dir(tmp_path)
    assert first != second and first.is_dir() and second.is_dir()
    assert first.name.startswith("run-")


def test_an_out_directory_that_cannot_be_made_is_one_usage_line() -> None:
    from restore_drill.errors import UsageError

    with pytest.raises(UsageError, match=r"--out /proc/nope: cannot make a run directory"):
        report.new_run_dir(Path("/proc/nope"))


def test_only_an_empty_run_directory_is_removed(tmp_path: Path) -> None:
    empty, kept = tmp_path / "empty", tmp_path / "kept"
    (empty / "backend" / "cluster").mkdir(parents=True)
    (kept / "backend").mkdir(parents=True)
    (kept / "backend" / "kept.json").write_text("{}")
    report.remove_if_empty(empty)
    report.remove_if_empty(kept)
    assert not empty.exists() and (kept / "backend" / "kept.json").exists()


def test_a_report_is_replaced_whole_and_leaves_no_partial_file(tmp_path: Path) -> None:
    target = tmp_path / "report.html"
    target.write_text("an older run's report, longer than the new one\n" * 50)
    report.replace_file(target, "<html></html>\n")
    assert target.read_text() == "<html></html>\n"
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]

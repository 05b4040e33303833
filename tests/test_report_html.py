"""report.html: the verdict at a glance, each drill's bar, steps and verify summary in
words, all in one page that fetches nothing."""

from __future__ import annotations

import re
from typing import Any

from restore_drill import report_html
from restore_drill.report import DrillResult, StepTiming
from restore_drill.report_sample import sample_found, sample_history, sample_results


def found(**changes: Any) -> dict[str, Any]:
    return {**sample_found(212, 1 << 20, "3f9c21ab"), **changes}


def rows(page: str) -> list[str]:
    table = page.split("<table>", 1)[1].split("</table>", 1)[0]
    return table.split("<tr>")[2:]


def test_the_page_says_first_how_many_drills_failed() -> None:
    page = report_html.html_report(sample_results(), sample_history())
    assert '<div class="banner fail">1 of 3 drills FAILED</div>' in page
    passed = [r for r in sample_results() if r.passed]
    assert "All 2 drills passed" in report_html.html_report(passed, [])


def test_each_drill_has_its_rto_bar_rpo_and_verdict_or_its_outcome() -> None:
    fast, slow, loud = rows(report_html.html_report(sample_results(), []))
    assert 'class="rto-bar"' in fast and "41.5 s of 120 s target" in fast
    assert "27.4 s" in fast and ">PASS<" in fast and "OVER" not in fast
    assert 'class="rto-bar"' in slow and "152 s of 120 s target (OVER)" in slow
    assert ">FAIL<" in slow and 'class="over"' in slow
    assert 'class="rto-bar"' not in loud, "a drill with no RTO has no bar"
    assert "no RTO: fails-loudly: MoverFailed (wrong-password)" in loud and ">PASS<" in loud


def test_each_drill_has_its_timeline_verify_summary_failure_and_notes() -> None:
    page = report_html.html_report(sample_results(), [])
    assert page.count('class="timeline"') == 3
    assert "212 entries, 1.0 MiB checked against the “newer” dataset:" in page
    assert "The backup of “newer” came back (backed up as restic snapshot 3f9c21ab" in page
    assert "RestoreTimeout: RTO 151.8s, target is 120s" in page
    assert "failed loudly, as declared" in page and "wrong restic password" in page
    assert "retain.last=2 added for the drill" in page


def test_verify_in_words_names_what_differed_and_which_backup_came_back() -> None:
    differed = found(
        ok=False,
        counts={"missing": 1, "extra": 0, "changed": 1},
        missing=["db/a.sqlite"],
        changed=[{"path": "b.txt", "field": "sha256", "expected": "1", "actual": "2"}],
        marker_present=True,
        came_back="older",
        not_compared={"mtime": "the app touches it"},
    )
    [line] = report_html.verify_lines({"dataset": "newer", "pvcs": {"app/data": differed}})
    assert "DIFFERENT: 1 missing, 0 extra, 1 changed" in line
    assert "missing db/a.sqlite; changed b.txt (sha256)" in line
    assert "the marker written after the backup is there" in line
    assert "The “older” backup came back, not “newer”" in line
    assert "Not compared: mtime (the app touches it)" in line


def test_verify_of_an_older_result_without_bytes_still_reads() -> None:
    older = found(came_back=None, snapshot_backed_up=None, snapshot_restored=None)
    del older["bytes"]
    [line] = report_html.verify_lines({"dataset": "newer", "pvcs": {"app/data": older}})
    assert "212 entries checked against the “newer” dataset" in line
    assert "No dataset written in the drill matches it exactly (through VolumeSnapshot" in line
    assert report_html.verify_lines({}) == [
        "The data was not verified: the drill stopped before verify."
    ]


def test_words_from_the_drill_are_escaped() -> None:
    odd = DrillResult(
        "pvc-delete",
        "kind",
        "r1",
        False,
        120,
        steps=[StepTiming("<b>step", 1.0)],
        failure="<script>x</script>",
        failure_type="T",
        notes=["a < b"],
        verify={"dataset": "<i>", "pvcs": {"<app>/pvc": found()}},
    )
    page = report_html.html_report([odd], [])
    assert "<script" not in page and "<b>step" not in page and "<app>" not in page
    assert "&lt;script&gt;" in page and "a &lt; b" in page


def test_the_page_is_whole_in_itself() -> None:
    page = report_html.html_report(sample_results(), sample_history())
    assert "<script" not in page and "<link" not in page and "<img" not in page
    addresses = set(re.findall(r"https?://[^\"' )]+", page))
    assert addresses == {"http://www.w3.org/2000/svg"}, "an SVG namespace, never a fetch"
    assert "@import" not in page and "url(" not in page


def test_a_many_app_drill_lists_each_apps_rto_fastest_first() -> None:
    fleet = sample_results()[0]
    fleet.rto_cluster = {"seconds": 95.0, "apps": {"jellyfin-1": 95.0, "home-assistant-1": 40.0}}
    section = report_html.drill_section(fleet)
    assert (
        "RTO per app</b> (2 apps, fastest first): home-assistant-1 40.0 s, jellyfin-1 95.0 s"
        in (section)
    )
    assert "RTO per app" not in report_html.drill_section(sample_results()[1])

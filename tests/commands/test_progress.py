"""The run's progress display: plain lines for CI logs, a redrawn status line on a TTY.

A fake clock drives every duration, so no test depends on how fast it runs."""

from __future__ import annotations

import io

import pytest

from restore_drill.commands.progress import (
    ERASE_LINE,
    WAIT_LINE_EVERY,
    DrillProgress,
    bar,
    drill_header,
)
from restore_drill.progress import StepEnded, StepStarted, WaitEnded, Waiting
from restore_drill.scenario import find_scenario


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class FakeTTY(io.StringIO):
    def isatty(self) -> bool:
        return True


def plain(clock: Clock, name: str = "pvc-delete") -> tuple[DrillProgress, io.StringIO]:
    stream = io.StringIO()
    return DrillProgress(name, 120, stream, clock=clock), stream


def test_the_drill_header_names_the_dataset_profile_and_size() -> None:
    line = drill_header(find_scenario("pvc-delete"), "4MiB", 1)
    assert line.startswith("drill pvc-delete (dataset smoke, 4MiB per PVC on 1 PVC; ")
    assert "RTO target 120s): `kubectl delete pvc`" in line
    assert "on 3 PVCs;" in drill_header(find_scenario("pvc-delete"), "4MiB", 3)


def test_plain_lines_give_each_step_its_duration_and_the_rto_clock_from_the_disaster() -> None:
    clock = Clock()
    progress, stream = plain(clock)
    progress(StepStarted("backup"))
    clock.now += 14.0
    progress(StepEnded("backup", 14.0))
    progress(StepStarted("delete_pvc", disaster=True))
    clock.now += 3.2
    progress(StepEnded("delete_pvc", 3.2))
    progress(StepStarted("wait_restored"))
    clock.now += 40.0
    progress(StepEnded("wait_restored", 40.0))
    assert stream.getvalue().splitlines() == [
        "  [pvc-delete] backup (0.0s into the drill)",
        "  [pvc-delete] backup done in 14.0s (14.0s into the drill)",
        "  [pvc-delete] delete_pvc (14.0s into the drill, RTO clock 0.0s of 120s)",
        "  [pvc-delete] delete_pvc done in 3.2s (RTO clock 3.2s of 120s)",
        "  [pvc-delete] wait_restored (17.2s into the drill, RTO clock 3.2s of 120s)",
        "  [pvc-delete] wait_restored done in 40.0s (RTO clock 43.2s of 120s)",
    ]


def test_a_failed_or_interrupted_step_says_so_with_its_time() -> None:
    clock = Clock()
    progress, stream = plain(clock)
    progress(StepStarted("delete_pvc", disaster=True))
    clock.now += 250.5
    progress(StepEnded("delete_pvc", 250.5, "failed"))
    progress(StepStarted("verify"))
    progress(StepEnded("verify", 0.4, "interrupted"))
    lines = stream.getvalue().splitlines()
    assert lines[1] == "  [pvc-delete] delete_pvc failed after 250.5s (RTO clock 250.5s of 120s)"
    assert lines[3] == "  [pvc-delete] verify interrupted after 0.4s (RTO clock 250.5s of 120s)"


def test_a_fault_reports_like_a_step_and_does_not_start_the_rto_clock() -> None:
    clock = Clock()
    progress, stream = plain(clock)
    progress(StepStarted("fault corrupt-repository"))
    progress(StepEnded("fault corrupt-repository", 1.0))
    assert "RTO clock" not in stream.getvalue()
    assert "fault corrupt-repository done in 1.0s" in stream.getvalue()


def test_plain_output_has_a_line_for_a_long_wait_now_and_then_not_for_each_state() -> None:
    clock = Clock()
    progress, stream = plain(clock)
    progress(StepStarted("wait_restored"))
    started = clock.now
    what = "PVC rd-1-app/data Bound"
    for seen in ("absent", "phase Pending", "phase Pending"):
        progress(Waiting(what, seen, started, 240))
        clock.now += WAIT_LINE_EVERY / 3
    assert len(stream.getvalue().splitlines()) == 1  # only the step's start so far
    progress(Waiting(what, "phase Pending", started, 240))
    clock.now += 1
    progress(Waiting(what, "phase Pending", started, 240))  # too soon for another line
    progress(WaitEnded(what))
    lines = stream.getvalue().splitlines()
    assert lines[1:] == [
        "  [pvc-delete] wait_restored: waiting for PVC rd-1-app/data Bound, 30s of 240s "
        "(last seen: phase Pending)"
    ]


def test_a_quiet_wait_still_has_its_line_in_plain_output() -> None:
    clock = Clock()
    progress, stream = plain(clock)
    progress(StepStarted("backup"))
    progress(Waiting("Job ns/mover: a mover pod ended", "active 1", clock.now, 300))
    clock.now += WAIT_LINE_EVERY
    progress.tick()  # as the ticker does while no watch event comes
    progress.tick()
    lines = stream.getvalue().splitlines()
    assert lines[1:] == [
        "  [pvc-delete] backup: waiting for Job ns/mover: a mover pod ended, 30s of 300s "
        "(last seen: active 1)"
    ]


def test_drills_side_by_side_on_one_stream_each_prefix_their_lines() -> None:
    clock = Clock()
    stream = io.StringIO()
    one = DrillProgress("pvc-delete", 120, stream, clock=clock)
    two = DrillProgress("namespace-delete", 300, stream, clock=clock)
    one(StepStarted("backup"))
    two(StepStarted("deploy_app"))
    one(StepEnded("backup", 2.0))
    two(StepEnded("deploy_app", 5.0))
    lines = stream.getvalue().splitlines()
    assert [line.split("]")[0] for line in lines] == [
        "  [pvc-delete",
        "  [namespace-delete",
        "  [pvc-delete",
        "  [namespace-delete",
    ]


def test_a_tty_is_live_and_anything_else_is_plain() -> None:
    assert DrillProgress("d", 1, FakeTTY()).live
    assert not DrillProgress("d", 1, io.StringIO()).live


def test_on_a_tty_a_status_line_is_redrawn_under_the_steps_end_lines(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    clock = Clock()
    stream = FakeTTY()
    progress = DrillProgress("pvc-delete", 120, stream, clock=clock)
    progress(StepStarted("delete_pvc", disaster=True))
    clock.now += 2.0
    progress(StepEnded("delete_pvc", 2.0))
    progress(StepStarted("wait_restored"))
    progress(Waiting("PVC ns/data Bound", "phase Pending", clock.now, 100))
    clock.now += 25.0
    progress.tick()  # as the ticker does, with no new event
    written = stream.getvalue()
    # No start lines: the status line shows the running step; the end line stays.
    assert "into the drill" not in written
    assert f"{ERASE_LINE}  [pvc-delete] delete_pvc done in 2.0s (RTO clock 2.0s of 120s)\n" in (
        written
    )
    status = written.rsplit(ERASE_LINE, 1)[1]
    assert status == (
        "  [pvc-delete] wait_restored 25.0s | RTO clock 27.0s of 120s | [##--------] waiting "
        "for PVC ns/data Bound, 25s of 100s (last seen: phase Pending)"
    )
    with progress:
        pass  # closing clears the status line for what the run prints next
    assert stream.getvalue().endswith(ERASE_LINE)


def test_the_status_line_is_cut_to_the_terminal_width(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "40")
    stream = FakeTTY()
    progress = DrillProgress("pvc-delete", 120, stream, clock=Clock())
    progress(StepStarted("wait_restored"))
    progress(Waiting("a very long thing to wait for " * 3, "absent", 1000.0, 100))
    assert len(stream.getvalue().rsplit(ERASE_LINE, 1)[1]) == 39  # no wrap: redrawn in place


def test_the_bar_fills_to_the_deadline_and_no_further() -> None:
    assert bar(0, 100) == "[----------]"
    assert bar(50, 100) == "[#####-----]"
    assert bar(99, 100) == "[#########-]"  # full only at the deadline
    assert bar(500, 100) == "[##########]"

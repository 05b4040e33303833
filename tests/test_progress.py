"""The progress channel: typed events from the runner and from waits deep in the steps,
each to its own drill's display (drills run side by side in threads)."""

from __future__ import annotations

import threading
from dataclasses import replace
from pathlib import Path

import pytest

from restore_drill import progress, steps
from restore_drill.errors import VerificationFailed
from restore_drill.kinds import brief
from restore_drill.progress import Event, StepEnded, StepStarted, WaitEnded, Waiting
from restore_drill.runner import run_steps
from restore_drill.scenario import StepCall, find_scenario
from tests.drill_stubs import stub_drill


def test_a_wait_outside_a_drill_reports_nothing() -> None:
    with progress.waiting("PVC Bound", 10) as wait:
        wait.seen("absent")  # no channel open: nothing to call, nothing raised
    assert wait.sink is None


def test_a_wait_reports_each_state_and_its_end_to_the_open_channel() -> None:
    events: list[Event] = []
    with progress.reporting(events.append), progress.waiting("PVC Bound", 10) as wait:
        wait.seen("absent")
        wait.seen("phase Pending")
    assert events == [
        Waiting("PVC Bound", "absent", wait.started, 10),
        Waiting("PVC Bound", "phase Pending", wait.started, 10),
        WaitEnded("PVC Bound"),
    ]


def test_a_wait_inside_another_is_the_outer_one() -> None:
    events: list[Event] = []
    with progress.reporting(events.append), progress.waiting("manual sync", 300):
        with progress.waiting("slice", 30) as inner:
            inner.seen("Synchronizing")
    assert events[0] == Waiting("manual sync", "Synchronizing", inner.started, 300)
    assert events[1:] == [WaitEnded("manual sync")]


def test_drills_in_threads_each_hear_only_their_own_waits() -> None:
    heard: dict[str, list[Event]] = {"a": [], "b": []}
    both_reporting = threading.Barrier(2)

    def drill(name: str) -> None:
        with progress.reporting(heard[name].append):
            both_reporting.wait()  # each channel opened before either drill waits
            with progress.waiting(name, 1) as wait:
                wait.seen(name)

    threads = [threading.Thread(target=drill, args=(name,)) for name in heard]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for name, events in heard.items():
        assert {event.what for event in events if isinstance(event, Waiting | WaitEnded)} == {name}


def test_brief_says_a_few_words_on_an_objects_state() -> None:
    assert brief(None) == "absent"
    assert brief({"metadata": {"deletionTimestamp": "t"}, "status": {"phase": "Bound"}}) == (
        "terminating"
    )
    assert brief({"kind": "PersistentVolumeClaim", "status": {"phase": "Pending"}}) == (
        "phase Pending"
    )
    job = {"kind": "Job", "status": {"active": 1, "failed": 2, "succeeded": 0}}
    assert brief(job) == "active 1, failed 2"
    conditions = [{"type": "Synchronizing", "status": "True"}, {"type": "Ready", "status": "False"}]
    assert brief({"status": {"conditions": conditions}}) == "Synchronizing"
    assert brief({"kind": "ConfigMap"}) == "present, no status yet"


def test_the_runner_reports_each_step_and_fault_start_and_end(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fine(drill: steps.Drill) -> None:
        with progress.waiting("PVC Bound", 5) as wait:
            wait.seen("phase Pending")

    def fails(drill: steps.Drill) -> None:
        raise VerificationFailed("differs")

    scenario = replace(
        find_scenario("pvc-delete"),
        steps=(StepCall("ready"), StepCall("disaster"), StepCall("check")),
        faults=("lose",),
    )
    for name, run, disaster in [("ready", fine, False), ("disaster", fine, True)]:
        monkeypatch.setitem(steps.STEPS, name, steps.StepSpec(name, run, disaster))
    monkeypatch.setitem(steps.STEPS, "check", steps.StepSpec("check", fails))
    monkeypatch.setitem(steps.FAULTS, "lose", steps.FaultSpec("lose", "ready", fine))
    drill = stub_drill(tmp_path, kube=None)
    events: list[Event] = []
    drill.progress = events.append
    with pytest.raises(VerificationFailed):
        run_steps(scenario, drill, [])
    ends = [(e.step, e.end) for e in events if isinstance(e, StepEnded)]
    assert ends == [
        ("ready", "done"),
        ("fault lose", "done"),
        ("disaster", "done"),
        ("check", "failed"),
    ]
    starts = [(e.step, e.disaster) for e in events if isinstance(e, StepStarted)]
    assert starts == [
        ("ready", False),
        ("fault lose", False),
        ("disaster", True),
        ("check", False),
    ]
    # The steps' waits reach the same display, between their step's start and end.
    assert events[1:3] == [
        Waiting("PVC Bound", "phase Pending", events[1].started, 5),  # type: ignore[union-attr]
        WaitEnded("PVC Bound"),
    ]

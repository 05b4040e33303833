"""``run --jobs``: drills side by side end in order, and a stopped run stops each of them."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from restore_drill.commands.side_by_side import Stoppable, run_side_by_side
from restore_drill.errors import Terminated
from restore_drill.progress import Event, Sink, StepEnded, StepStarted, Waiting
from restore_drill.scenario import find_scenario

NAMES = ("pvc-delete", "app-delete", "namespace-delete")


def test_drills_run_at_the_same_time_and_their_results_come_in_order() -> None:
    all_running = threading.Barrier(len(NAMES), timeout=20)  # one at a time would break it

    def drill(scenario: Any, wrap: Callable[[Sink], Sink]) -> Any:
        all_running.wait()
        time.sleep(0.05 * (len(NAMES) - NAMES.index(scenario.name)))  # the first ends last
        return scenario.name

    scenarios = [find_scenario(name) for name in reversed(NAMES)]
    assert run_side_by_side(scenarios, 3, drill) == list(reversed(NAMES))


@pytest.mark.parametrize("crashing", [NAMES[0], NAMES[-1]])  # the first waited for, or not
def test_a_stopped_run_stops_every_drill_at_its_next_event(crashing: str) -> None:
    ended: dict[str, str] = {}

    def drill(scenario: Any, wrap: Callable[[Sink], Sink]) -> Any:
        if scenario.name == crashing:
            time.sleep(0.2)  # the run waits for its results by then
            raise KeyboardInterrupt  # as the main thread's signal would
        sink = wrap(lambda event: None)
        try:
            for _ in range(2000):  # a drill that waits: a state seen every few ms
                sink(Waiting("PVC Bound", "Pending", 0.0, 60.0))
                time.sleep(0.005)
        except Terminated:
            ended[scenario.name] = "stopped"
            raise
        ended[scenario.name] = "ran to its end"
        return scenario.name

    with pytest.raises(KeyboardInterrupt):
        run_side_by_side([find_scenario(name) for name in NAMES], 3, drill)
    assert ended == {name: "stopped" for name in NAMES if name != crashing}


def test_a_stopped_drill_still_shows_how_its_step_ended() -> None:
    shown: list[Event] = []
    stop = threading.Event()
    display = Stoppable(shown.append, stop)
    display(StepStarted("backup"))
    stop.set()
    display(StepEnded("backup", 3.0, "interrupted"))
    with pytest.raises(Terminated):
        display(StepStarted("delete_pvc"))
    assert shown == [StepStarted("backup"), StepEnded("backup", 3.0, "interrupted")]

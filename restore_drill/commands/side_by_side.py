"""``run --jobs``: the run's drills that share its cluster, several at a time, and how
they stop.

Only the main thread gets a signal. It sets the run's stop flag; each drill's display then
raises at the drill's next step or wait event, in the drill's own thread, so the drill
tears down as it would on Ctrl-C. A watch can be quiet for up to a minute, so a drill can
take that long to notice; a second signal forces the exit, as for a single drill.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from functools import partial
from typing import Any

from restore_drill.errors import Terminated
from restore_drill.progress import Event, Sink, StepStarted, Waiting
from restore_drill.report import DrillResult
from restore_drill.scenario import Scenario

Drill = Callable[[Scenario, Callable[[Sink], Sink]], DrillResult]


class Stoppable:
    """A drill's display that stops the drill once the run is stopped."""

    def __init__(self, sink: Sink, stop: threading.Event) -> None:
        self.sink = sink
        self.stop = stop

    def __call__(self, event: Event) -> None:
        # Only what starts or continues work: a step's end and a wait's end still show.
        if self.stop.is_set() and isinstance(event, StepStarted | Waiting):
            raise Terminated()
        self.sink(event)


def run_side_by_side(
    scenarios: Sequence[Scenario], jobs: int, drill: Drill, *, stop: threading.Event | None = None
) -> list[DrillResult]:
    """Each scenario's result, in order, with up to ``jobs`` drills running at once.
    ``drill(scenario, wrap)`` runs one drill, its display wrapped by ``wrap``; setting
    ``stop`` (the run's, when other drills run elsewhere) stops them all."""
    if stop is None:
        stop = threading.Event()
    # Leaving the block waits for the drills that run: each tears down what it made.
    with ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="drill") as pool:
        futures = [
            pool.submit(drill, scenario, partial(Stoppable, stop=stop)) for scenario in scenarios
        ]
        try:
            # The first crash stops the others at once, whichever drill it was.
            wait(futures, return_when=FIRST_EXCEPTION)
            crash = first_crash(futures)
            if crash is not None:
                raise crash
            return [future.result() for future in futures]
        except BaseException:
            stop.set()
            for future in futures:
                future.cancel()  # those not started yet never start
            raise


def first_crash(futures: Sequence[Future[Any]]) -> BaseException | None:
    """What ended the first of the finished drills that raised, the cause before the stops
    it caused (``Terminated``, raised by the others once the run was stopped)."""
    raised = [f.exception() for f in futures if f.done() and not f.cancelled()]
    crashes = [exc for exc in raised if exc is not None]
    causes = [exc for exc in crashes if not isinstance(exc, Terminated)]
    return next(iter(causes or crashes), None)

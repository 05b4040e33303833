"""A drill's progress on the terminal, from its events (``restore_drill.progress``).

Plain lines wherever the output is not a TTY (CI logs): a line when a step starts, one when
it ends with its duration, and one every half minute of a long wait. On a TTY the same end
lines stay on the screen and one status line under them is redrawn in place twice a
second: the running step, the RTO clock, and what the step waits for, with a bar to its
deadline. Stdlib only (carriage return and erase-line), so nothing is imported before a
drill runs and no dependency is added for one line. Every line names its drill: drills
run side by side print to one stream.
"""

from __future__ import annotations

import shutil
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import Protocol

from restore_drill import room
from restore_drill.progress import Event, StepEnded, StepStarted, WaitEnded, Waiting
from restore_drill.scenario import Scenario

WAIT_LINE_EVERY = 30.0  # plain output: seconds between lines of one long wait
TICK_EVERY = 0.5  # seconds between redraws of the status line (TTY), checks of a wait (plain)
BAR_WIDTH = 10
ERASE_LINE = "\r\x1b[K"  # to the line's start, then clear it

_writes = threading.Lock()  # one line at a time from drills side by side


class Stream(Protocol):
    """Where the lines go: ``sys.stdout``, or pytest's terminal past its capture."""

    def write(self, text: str, /) -> int: ...

    def flush(self) -> None: ...

    def isatty(self) -> bool: ...


def drill_header(scenario: Scenario, size: str, pvcs: int) -> str:
    """The drill's first line: its dataset (profile and size) and its RTO target."""
    where = f"{pvcs} PVC" + ("s" if pvcs != 1 else "")
    return (
        f"drill {scenario.name} (dataset {scenario.profiles}, {size} per PVC on {where}; "
        f"RTO target {scenario.target_seconds:g}s): "
        f"{scenario.description.strip().splitlines()[0]}"
    )


def bar(done: float, total: float, width: int = BAR_WIDTH) -> str:
    filled = int(width * min(1.0, done / total)) if total > 0 else width
    return "[" + "#" * filled + "-" * (width - filled) + "]"


class DrillProgress:
    """One drill's display, called with each of its events (from the drill's thread)."""

    def __init__(
        self,
        scenario: str,
        target_seconds: float,
        stream: Stream | None = None,
        *,
        live: bool | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.scenario = scenario
        self.target = target_seconds
        self.stream = stream if stream is not None else sys.stdout
        self.live = self.stream.isatty() if live is None else live
        self.clock = clock
        self.started = clock()
        self.disaster_started: float | None = None
        self.step: StepStarted | None = None
        self.step_started = 0.0
        self.wait: Waiting | None = None
        self.wait_line_at = 0.0  # plain output: when the running wait last had a line
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None

    # --- events -----------------------------------------------------------------------

    def __call__(self, event: Event) -> None:
        now = self.clock()
        with _writes:
            if isinstance(event, StepStarted):
                self._started(event, now)
            elif isinstance(event, StepEnded):
                self._ended(event, now)
            elif isinstance(event, Waiting):
                self._waiting(event, now)
            elif isinstance(event, WaitEnded) and self.wait and self.wait.what == event.what:
                self.wait = None
            if self.live:
                self._draw(now)

    def _started(self, event: StepStarted, now: float) -> None:
        if self.disaster_started is None and event.disaster:
            self.disaster_started = now
        self.step, self.step_started, self.wait = event, now, None
        if not self.live:  # on a TTY the status line shows the running step
            self._line(f"{event.step} ({now - self.started:.1f}s into the drill{self._rto(now)})")

    def _ended(self, event: StepEnded, now: float) -> None:
        said = {"done": "done in", "failed": "failed after", "interrupted": "interrupted after"}
        clock = self._rto(now).removeprefix(", ") or f"{now - self.started:.1f}s into the drill"
        self._line(f"{event.step} {said[event.end]} {event.seconds:.1f}s ({clock})")
        self.step, self.wait = None, None

    def _waiting(self, event: Waiting, now: float) -> None:
        if self.wait is None or self.wait.what != event.what:
            self.wait_line_at = now  # a new wait: its first line comes after a while
        self.wait = event
        if not self.live:
            self._wait_line_if_due(now)

    def _wait_line_if_due(self, now: float) -> None:
        if self.wait is None or now - self.wait_line_at < WAIT_LINE_EVERY:
            return
        self.wait_line_at = now
        step = f"{self.step.step}: " if self.step else ""
        self._line(f"{step}{self._wait_words(self.wait, now)}")

    # --- what the lines say -------------------------------------------------------------

    def _rto(self, now: float) -> str:
        if self.disaster_started is None:
            return ""
        return f", RTO clock {now - self.disaster_started:.1f}s of {self.target:g}s"

    @staticmethod
    def _wait_words(wait: Waiting, now: float) -> str:
        return (
            f"waiting for {wait.what}, {now - wait.started:.0f}s of {wait.timeout:g}s "
            f"(last seen: {wait.seen})"
        )

    def status(self, now: float) -> str:
        """The TTY's status line: the running step, the RTO clock, the wait and its bar."""
        if self.step is None:
            return ""
        parts = [f"  [{self.scenario}] {self.step.step} {now - self.step_started:.1f}s"]
        if self.disaster_started is not None:
            parts.append(self._rto(now).removeprefix(", "))
        if self.wait is not None:
            elapsed = now - self.wait.started
            parts.append(f"{bar(elapsed, self.wait.timeout)} {self._wait_words(self.wait, now)}")
        return " | ".join(parts)

    # --- writing ------------------------------------------------------------------------

    def _line(self, text: str) -> None:
        erase = ERASE_LINE if self.live else ""
        self.stream.write(f"{erase}  [{self.scenario}] {text}\n")
        self.stream.flush()

    def _draw(self, now: float) -> None:
        # Cut to the terminal's width: a wrapped line cannot be redrawn in place.
        width = shutil.get_terminal_size((100, 24)).columns - 1
        self.stream.write(ERASE_LINE + self.status(now)[:width])
        self.stream.flush()

    # --- the ticker: the clocks move between events -------------------------------------

    def tick(self) -> None:
        """On a TTY, redraw the status line; in plain output, a line for a wait that has
        gone on quietly (a watch can be silent for minutes)."""
        with _writes:
            now = self.clock()
            if self.live:
                self._draw(now)
            else:
                self._wait_line_if_due(now)

    def _ticks(self) -> None:
        while not self._stop.wait(TICK_EVERY):
            self.tick()

    def __enter__(self) -> DrillProgress:
        self._ticker = threading.Thread(target=self._ticks, name="progress", daemon=True)
        self._ticker.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join()
        if self.live:
            with _writes:
                self.stream.write(ERASE_LINE)
                self.stream.flush()


@contextmanager
def shown(
    scenario: Scenario, size: str, stream: Stream | None = None, *, live: bool | None = None
) -> Iterator[DrillProgress]:
    """The drill's header line, then its display for as long as the block runs. Drills
    side by side pass ``live=False``: one status line cannot be redrawn for several."""
    out = stream if stream is not None else sys.stdout
    with _writes:
        out.write(drill_header(scenario, size, len(room.data_per_pvc(scenario.apps, size))) + "\n")
        out.flush()
    with DrillProgress(scenario.name, scenario.target_seconds, out, live=live) as display:
        yield display

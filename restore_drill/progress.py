"""What a drill tells its progress display: typed events, and the channel waits report on.

The runner sends step events to the drill's sink. Waits are deep below it (``k8s.wait_for``
under the steps), so they report through a per-thread channel instead of a parameter on
every call: ``reporting(sink)`` opens it around a drill's steps, and ``waiting`` inside it
sends to that sink. Side-by-side drills run in threads, each with its own channel (a
context variable), so a wait reaches its own drill's display. Outside a drill (cluster
set-up) no channel is open and waits report nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class StepStarted:
    step: str  # a step's name, or "fault <name>" for a fault injected after a step
    disaster: bool = False  # the RTO clock starts here


@dataclass(frozen=True)
class StepEnded:
    step: str
    seconds: float  # as result.json records it
    end: Literal["done", "failed", "interrupted"] = "done"


@dataclass(frozen=True)
class Waiting:
    """A wait started or saw a new state of what it waits for."""

    what: str
    seen: str  # a short summary of the last state seen ("absent" before it exists)
    started: float  # time.monotonic() when the wait began
    timeout: float


@dataclass(frozen=True)
class WaitEnded:
    what: str


Event = StepStarted | StepEnded | Waiting | WaitEnded
Sink = Callable[[Event], None]


def ignore(_event: Event) -> None:
    """The sink of a drill nobody watches (the pytest plugin's)."""


_sink: ContextVar[Sink | None] = ContextVar("restore_drill_progress_sink", default=None)


@contextmanager
def reporting(sink: Sink) -> Iterator[None]:
    """Waits in this thread report to ``sink`` until the block ends."""
    token = _sink.set(sink)
    try:
        yield
    finally:
        _sink.reset(token)


class Wait:
    """One wait of a step; ``seen`` reports each state, only when a channel is open."""

    def __init__(self, what: str, timeout: float, sink: Sink | None) -> None:
        self.what = what
        self.timeout = timeout
        self.started = time.monotonic()
        self.sink = sink

    def seen(self, summary: str) -> None:
        if self.sink is not None:
            self.sink(Waiting(self.what, summary, self.started, self.timeout))


_wait: ContextVar[Wait | None] = ContextVar("restore_drill_progress_wait", default=None)


@contextmanager
def waiting(what: str, timeout: float) -> Iterator[Wait]:
    """A wait for ``what`` within ``timeout`` seconds. A wait inside another (a long wait
    made of short slices, as VolSync's manual sync is) is the outer one: one wait shown,
    with the outer deadline."""
    outer = _wait.get()
    if outer is not None:
        yield outer
        return
    wait = Wait(what, timeout, _sink.get())
    token = _wait.set(wait)
    try:
        yield wait
    finally:
        _wait.reset(token)
        if wait.sink is not None:
            wait.sink(WaitEnded(what))

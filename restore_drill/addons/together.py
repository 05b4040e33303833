"""Independent steps run side by side, each in a thread of its own, each logged with the
time it took; what fails is raised once every step has ended (each has its own deadline).

Under ``run --dry-run`` (``commands.recording``) the steps run one after the other in the
order given, so the listing is the same on every run. Each thread runs in a copy of the
caller's context: the recorder (a context variable) is seen there too.
"""

from __future__ import annotations

import contextvars
import logging
import threading
import time
from collections.abc import Callable, Mapping

from restore_drill.addons.commands import recording_active
from restore_drill.errors import WaitTimeout

log = logging.getLogger(__name__)


def _timed(name: str, step: Callable[[], object]) -> None:
    start = time.monotonic()
    log.info("%s: started", name)
    step()
    log.info("%s: done in %.1fs", name, time.monotonic() - start)


class Background:
    """``step`` started now in a thread of its own; :meth:`result` waits for it (up to a
    deadline) and raises what it raised. Under a dry run it has run already, in place."""

    def __init__(self, name: str, step: Callable[[], object]) -> None:
        self.name = name
        self._error: BaseException | None = None
        self._done = threading.Event()
        if recording_active():
            self._run(name, step)
            return
        context = contextvars.copy_context()
        # A daemon thread: a run that is stopped while a step waits is not held up by it.
        self._thread = threading.Thread(
            target=context.run, args=(self._run, name, step), name=name, daemon=True
        )
        self._thread.start()

    def _run(self, name: str, step: Callable[[], object]) -> None:
        try:
            _timed(name, step)
        except BaseException as exc:  # handed to whoever waits for the result
            self._error = exc
        finally:
            self._done.set()

    def ended(self, timeout: float | None = None) -> bool:
        """Whether the step has ended, waiting up to ``timeout`` (None: until it has)."""
        return self._done.wait(timeout)

    def result(self, timeout: float | None = None) -> None:
        """Wait until the step has ended; raise what it raised, or :class:`WaitTimeout`."""
        start = time.monotonic()
        if not self.ended(timeout):
            raise WaitTimeout(self.name, time.monotonic() - start, "still running")
        if self._error is not None:
            raise self._error


def run_together(steps: Mapping[str, Callable[[], object]]) -> None:
    """Run ``steps`` side by side; once all have ended, raise the first failure (in the
    order given). Each step bounds its own waits, so this waits for no deadline of its own."""
    started = [Background(name, step) for name, step in steps.items()]
    for background in started:
        background.ended()
    for background in started:
        background.result(0)

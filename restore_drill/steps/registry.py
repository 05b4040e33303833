"""The registry of steps and faults that scenario files name.

A step is a small function ``step(drill, **params)`` with a name a person would say; a
scenario file lists them by that name. A fault is a step-like hook that runs right after
a named step to make the restore go wrong on purpose (negative drills).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

StepFunction = Callable[..., None]


@dataclass(frozen=True)
class StepSpec:
    name: str
    run: StepFunction
    disaster: bool = False
    params: frozenset[str] = frozenset()
    help: str = ""
    # It rebuilds, reinstalls or takes down what every drill on the cluster shares (the
    # cluster, VolSync, the object store): its drill cannot run beside others.
    alone: bool = False
    backs_up: bool = False  # a backup is made when it ends (drill shapes count these)


@dataclass(frozen=True)
class FaultSpec:
    name: str
    after: str  # the step after which it strikes
    run: StepFunction
    help: str = ""


STEPS: dict[str, StepSpec] = {}
FAULTS: dict[str, FaultSpec] = {}


def _summary(function: StepFunction) -> str:
    """The docstring's first paragraph, on one line (what ``list`` and a dry run show)."""
    paragraph = (function.__doc__ or "").strip().split("\n\n")[0]
    return " ".join(paragraph.split())


def step(
    name: str,
    *,
    disaster: bool = False,
    params: tuple[str, ...] = (),
    alone: bool = False,
    backs_up: bool = False,
) -> Callable[[StepFunction], StepFunction]:
    def register(function: StepFunction) -> StepFunction:
        STEPS[name] = StepSpec(
            name, function, disaster, frozenset(params), _summary(function), alone, backs_up
        )
        return function

    return register


def fault(name: str, *, after: str) -> Callable[[StepFunction], StepFunction]:
    def register(function: StepFunction) -> StepFunction:
        FAULTS[name] = FaultSpec(name, after, function, _summary(function))
        return function

    return register

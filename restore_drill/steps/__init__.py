"""The steps and faults scenario files name; importing this package registers them all."""

from __future__ import annotations

from restore_drill.steps import actions, backup_path, faults, locks, verification
from restore_drill.steps.context import AppUnderTest, Drill
from restore_drill.steps.registry import FAULTS, STEPS, FaultSpec, StepSpec

__all__ = [
    "FAULTS",
    "STEPS",
    "AppUnderTest",
    "Drill",
    "FaultSpec",
    "StepSpec",
    "actions",
    "backup_path",
    "faults",
    "locks",
    "verification",
]

"""``restore-drill list``: every scenario with its recovery-time target, backends and, for
the fault drills, the outcome each declares."""

from __future__ import annotations

import argparse

from restore_drill.scenario import GROUPS, load_group


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.set_defaults()


def run(args: argparse.Namespace) -> int:
    groups = {group: load_group(group) for group in GROUPS}
    width = max(len(s.name) for scenarios in groups.values() for s in scenarios)
    for group, scenarios in groups.items():
        print(f"{group} ('restore-drill run {group}' runs these):")
        print(f"  {'scenario':<{width}}  target  backends        outcome")
        for s in scenarios:
            expected = s.expected_failure.describe() if s.expected_failure else ""
            print(
                f"  {s.name:<{width}}  {s.target_seconds:>5g}s  {','.join(s.backends):<15} "
                f"{s.outcome}{': ' + expected if expected else ''}"
            )
    return 0

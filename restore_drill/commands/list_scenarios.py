"""``restore-drill list``: every scenario with its recovery-time target and backends."""

from __future__ import annotations

import argparse

from restore_drill.scenario import load_scenarios

NAME = "list"
HELP = "list the scenarios with their recovery-time targets and backends"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.set_defaults()


def run(args: argparse.Namespace) -> int:
    scenarios = load_scenarios()
    width = max(len(s.name) for s in scenarios)
    print(f"{'scenario':<{width}}  target  backends        apps")
    for s in scenarios:
        print(
            f"{s.name:<{width}}  {s.target_seconds:>5g}s  {','.join(s.backends):<15} "
            f"{','.join(s.apps)}"
        )
    return 0

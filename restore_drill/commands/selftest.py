"""``restore-drill selftest``: plant each kind of damage after a real restore and show that
the drill's checks catch every one. Exit status: 0 when all are detected, 1 otherwise."""

from __future__ import annotations

import argparse

from restore_drill.backend import keep_cluster
from restore_drill.clusters import choose_backend
from restore_drill.commands.progress import DrillProgress
from restore_drill.commands.run import add_drill_arguments, backend_options, start_run
from restore_drill.scenario import find_scenario


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_drill_arguments(parser, kept_when="when a damage went unseen")


def run(args: argparse.Namespace) -> int:
    from restore_drill import selftest
    from restore_drill.runner import RunOptions

    if args.size:
        from restore_drill.data import parse_size

        parse_size(args.size, "--size")
    backend, why = choose_backend(args.cluster)
    print(f"restore-drill: backend {backend} ({why})", flush=True)
    started, run_dir = start_run(backend, args.out, "selftest", backend_options(args, backend))
    rows: list[selftest.Row] = []
    target = find_scenario(selftest.SCENARIO).target_seconds
    try:
        with DrillProgress("selftest", target) as progress:
            rows = selftest.play(
                started.cluster,
                started.object_store,
                RunOptions(out_dir=run_dir, size=args.size, keep=args.keep, progress=progress),
            )
    finally:
        missed = not rows or not all(row.detected for row in rows)
        started.close(keep_cluster=keep_cluster(args.keep, failed=missed))
    print(selftest.table(rows))
    print(f"\nresults: {selftest.write_table(rows, run_dir)}")
    return 0 if rows and all(row.detected for row in rows) else 1

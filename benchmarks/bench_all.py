"""How long the six disaster drills take from the CLI, cluster creation and the rebuild
included: `restore-drill run all --cluster kind` with each --jobs given, side by side in
one run of this script (run it on a quiet machine; nothing else should use the cores).

    .venv/bin/python benchmarks/bench_all.py [--jobs 1,3] [--size 1MiB]

Each round is one fresh CLI process, its own kind cluster, kept never. For each it prints
the wall time, each drill's verdict, RTO and time, the sum of the drill times (what the
run would take with no drill beside another), and the wall time as a ratio of the first
round's. It prints times; it asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from restore_drill.scenario import load_group

GOAL_SECONDS = 360.0  # six drills, cluster up and rebuild included


def seconds(value: object) -> str:
    """A time from result.json as one decimal; a missing one (the drill never got there) as -."""
    return f"{value:.1f} s" if isinstance(value, int | float) else "-"


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text(encoding="utf-8").split()[:3])


def one_round(jobs: int, size: str, out: Path) -> tuple[float, list[dict[str, object]]]:
    argv = [sys.executable, "-m", "restore_drill.cli", "run", "all", "--cluster", "kind"]
    argv += ["--jobs", str(jobs), "--size", size, "--keep", "never", "--out", str(out)]
    start = time.perf_counter()
    with subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as p:
        assert p.stdout is not None
        for line in p.stdout:
            if line.startswith(("drill ", "restore-drill")) or " done in " in line:
                print(f"  {time.perf_counter() - start:6.1f} s  {line.rstrip()[:150]}", flush=True)
    wall = time.perf_counter() - start
    results = [json.loads(path.read_text()) for path in sorted(out.glob("run-*/*/result.json"))]
    if p.returncode not in (0, 1) or not results:
        sys.exit(f"run all --jobs {jobs} exited {p.returncode} with {len(results)} results")
    return wall, results


def drill_seconds(result: dict[str, object]) -> float:
    steps = result.get("steps")
    return sum(float(step["seconds"]) for step in steps) if isinstance(steps, list) else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", default="3", help="comma-separated, e.g. 1,3")
    parser.add_argument("--size", default="1MiB", help="dataset size per PVC")
    args = parser.parse_args()
    rounds: list[tuple[int, float, list[dict[str, object]]]] = []
    with tempfile.TemporaryDirectory(prefix="bench-all-") as scratch:
        for jobs in (int(j) for j in args.jobs.split(",")):
            print(f"run all --jobs {jobs} --size {args.size}: load {load_average()}", flush=True)
            wall, results = one_round(jobs, args.size, Path(scratch) / f"jobs-{jobs}")
            rounds.append((jobs, wall, results))
    first = rounds[0][1]
    print(f"\n{'jobs':>4} {'wall s':>7} {'x first':>7} {'drills s':>8} {'passed':>6}  goal")
    for jobs, wall, results in rounds:
        drills = sum(drill_seconds(r) for r in results)
        passed = sum(1 for r in results if r.get("verdict") == "PASS")
        # Met only by a whole run: every disaster drilled, and passed.
        whole = passed == len(results) == len(load_group("all"))
        goal = "met" if whole and wall <= GOAL_SECONDS else "missed"
        print(
            f"{jobs:>4} {wall:7.1f} {wall / first:7.2f} {drills:8.1f} {passed:>3}/{len(results)}"
            f"  <= {GOAL_SECONDS:.0f} s: {goal}"
        )
        for r in results:
            print(
                f"       {r['scenario']!s:<18} {r.get('verdict')!s:<5} "
                f"RTO {seconds(r.get('rto_seconds'))} of {seconds(r.get('rto_target_seconds'))}, "
                f"steps {drill_seconds(r):.1f} s"
            )
            if r.get("verdict") != "PASS":  # why, in a line: the run's directory is gone
                print(f"         {r.get('failure_type')}: {str(r.get('failure'))[:300]}")
    print(f"load average after: {load_average()}")


if __name__ == "__main__":
    main()

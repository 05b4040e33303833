"""How long `restore-drill cluster up` and `cluster down` take, and where the time goes.

    .venv/bin/python benchmarks/bench_cluster.py [--repeat 1] [--name rd-bench] [--images auto]

Each round brings a kind cluster named --name up with every addon and MinIO, then down
again, in a fresh interpreter with the CLI's own log shown (INFO, each line stamped with the
seconds since the command started and the seconds since the line before it): the line
before a long gap is the step that took it. The load average is printed beside each round
(timings on a shared machine are noisy: compare rounds measured close together). Only the
cluster this script names is made and removed. It prints times; it asserts nothing.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# The CLI configures no logging of its own: shown here, stamped, so the breakdown is read
# off the log.
RUN_CLI = (
    "import logging, sys; "
    "logging.basicConfig(level=logging.INFO, stream=sys.stdout, "
    "format='%(relativeCreated)8.0f ms %(threadName)s %(name)s: %(message)s'); "
    "from restore_drill.cli import main; sys.exit(main(sys.argv[1:]))"
)


def load_average() -> str:
    return Path("/proc/loadavg").read_text(encoding="utf-8").split(" ", 3)[:3].__str__()


def timed(argv: list[str], show: bool) -> float:
    """Run ``argv``, print its output as it comes (with the gap before each line), and
    return the seconds it took; a failed command stops the benchmark."""
    start = time.perf_counter()
    previous = start
    with subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as p:
        assert p.stdout is not None
        for line in p.stdout:
            now = time.perf_counter()
            if show:
                print(f"  {now - start:7.1f} s (+{now - previous:5.1f}) {line.rstrip()[:160]}")
            previous = now
    if p.returncode != 0:
        sys.exit(f"{' '.join(argv[3:])} exited {p.returncode}")
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--name", default="rd-bench", help="the kind cluster to make")
    parser.add_argument("--images", default="auto", choices=("auto", "built", "pulled"))
    parser.add_argument("--quiet", action="store_true", help="print the totals only")
    args = parser.parse_args()
    ups, downs = [], []
    with tempfile.TemporaryDirectory(prefix="bench-cluster-") as home:
        cli = [sys.executable, "-c", RUN_CLI, "cluster"]
        where = ["--name", args.name, "--dir", home]
        for round_ in range(1, args.repeat + 1):
            print(f"round {round_}: load average {load_average()}", flush=True)
            try:
                ups.append(timed([*cli, "up", *where, "--images", args.images], not args.quiet))
            finally:
                downs.append(timed([*cli, "down", *where], not args.quiet))
            print(f"round {round_}: up {ups[-1]:6.1f} s, down {downs[-1]:5.1f} s", flush=True)
    print(
        f"cluster up    median {statistics.median(ups):6.1f} s  (runs: "
        + ", ".join(f"{t:.1f}" for t in ups)
        + ")"
    )
    print(
        f"cluster down  median {statistics.median(downs):6.1f} s  (runs: "
        + ", ".join(f"{t:.1f}" for t in downs)
        + ")"
    )
    print(f"load average after: {load_average()}")


if __name__ == "__main__":
    main()

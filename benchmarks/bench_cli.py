"""How long the CLI takes before it does anything, beside a bare interpreter, in one run.

    .venv/bin/python benchmarks/bench_cli.py [--repeat 7]

Each command runs --repeat times in a fresh interpreter; the median counts. Printed beside
`python -c pass` (the floor no CLI can go below) and `import kubernetes` (what every command
paid while the Kubernetes client was imported at start-up). It asserts nothing.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

COMMANDS = {
    "python -c pass": [sys.executable, "-c", "pass"],
    "import kubernetes": [sys.executable, "-c", "import kubernetes.client, kubernetes.dynamic"],
    "restore-drill --help": [sys.executable, "-m", "restore_drill.cli", "--help"],
    "restore-drill list": [sys.executable, "-m", "restore_drill.cli", "list"],
}


def median_seconds(argv: list[str], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    results = {name: median_seconds(argv, args.repeat) for name, argv in COMMANDS.items()}
    floor = results["python -c pass"]
    for name, seconds in results.items():
        print(f"{name:<24} {seconds:6.3f} s   {seconds / floor:5.1f}x the bare interpreter")


if __name__ == "__main__":
    main()

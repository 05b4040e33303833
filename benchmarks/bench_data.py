"""Data agent throughput beside the tools that bound it, on the same trees, in one run.

    .venv/bin/python benchmarks/bench_data.py [--large-size 1GiB] [--small-size 128MiB]
        [--baseline OTHER/agent.py]

Two trees: a few large files (the media case) and the paperless profile's many small
files. For each: write rate, `agent.py manifest` with 1 worker and with every core,
`openssl dgst -sha256` (this CPU's single-core SHA-256 limit) and coreutils `sha256sum`.
Every hashing run reads from the page cache (each tool is run once to warm it, then the
best of --repeat runs counts), so the numbers compare hashing and per-file overhead, not the
disk. It prints ratios; it asserts nothing (timings are not tests). --baseline runs another
checkout's agent.py on the same trees in the same run, for a before/after on one machine state.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from restore_drill import data
from restore_drill.data.agent import listing

AGENT = [sys.executable, "-I", "-S", str(data.AGENT_DIR / "agent.py")]
LARGE_FILES = {
    "name": "bench-large",
    "parts": [{"kind": "large-files", "dir": "movies", "share": 1.0, "count": 4, "sparse": 0}],
}


def best_of(repeat: int, action: Callable[[], object]) -> float:
    action()  # warm the page cache and the binary
    timings = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        timings.append(time.perf_counter() - start)
    return min(timings)


def run_quiet(argv: list[str]) -> None:
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)


def in_batches(command: list[str], files: list[str], batch: int = 2000) -> None:
    for start in range(0, len(files), batch):
        run_quiet([*command, *files[start : start + batch]])


def bench_tree(
    label: str, root: Path, repeat: int, workers: int, baseline: Path | None
) -> dict[str, float]:
    files = sorted(str(p) for p in root.rglob("*") if p.is_file() and not p.is_symlink())
    total = sum(os.path.getsize(f) for f in files)
    tools: dict[str, Callable[[], object]] = {
        "openssl dgst -sha256": lambda: in_batches(["openssl", "dgst", "-sha256"], files),
        "sha256sum": lambda: in_batches(["sha256sum"], files),
    }
    agents = {"manifest": AGENT}
    if baseline:
        agents["baseline"] = [*AGENT[:-1], str(baseline)]
    for name, agent in agents.items():
        for count in sorted({1, workers}):
            argv = [*agent, "manifest", "--workers", str(count), "--root", str(root)]
            plural = "worker" if count == 1 else "workers"
            tools[f"{name}, {count} {plural}"] = lambda argv=argv: run_quiet(argv)
    rates = {name: total / best_of(repeat, action) for name, action in tools.items()}
    print(f"\n{label}: {len(files)} files, {total / 2**20:.0f} MiB")
    openssl = rates["openssl dgst -sha256"]
    for name, rate in rates.items():
        print(f"  {name:<24} {rate / 1e9:6.2f} GB/s   {rate / openssl:5.2f}x openssl")
    return rates


def where_time_goes(root: Path, top: int = 10) -> None:
    """One single-threaded manifest of the tree under cProfile: the calls that cost most."""
    profile = cProfile.Profile()
    profile.enable()
    count = sum(1 for _ in listing.entry_lines(str(root), workers=1))
    profile.disable()
    report = io.StringIO()
    pstats.Stats(profile, stream=report).sort_stats("tottime").print_stats(top)
    table = report.getvalue().split("ncalls", 1)[-1].rstrip().splitlines()[1:]
    print(f"  where the time goes (1 thread, {count} entries, under cProfile):")
    print("\n".join("    " + line.strip() for line in table))


def write_tree(profile: dict[str, object], size: int, root: Path) -> float:
    shutil.rmtree(root, ignore_errors=True)
    start = time.perf_counter()
    summary = data.write_dataset(profile, 1, size, root)
    rate = float(summary["bytes"]) / (time.perf_counter() - start)
    print(f"write {profile['name']}: {summary['files']} files, {rate / 1e6:.0f} MB/s")
    return rate


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--large-size", default="1GiB")
    parser.add_argument("--small-size", default="128MiB")
    parser.add_argument("--dir", type=Path, default=Path("/tmp/restore-drill-bench"))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep", action="store_true", help="keep the trees afterwards")
    parser.add_argument("--baseline", type=Path, help="another agent.py to run side by side")
    args = parser.parse_args()
    workers = listing.usable_cores()
    print(f"cores: {workers}; load average before: {os.getloadavg()[0]:.2f}")
    large, small = args.dir / "large", args.dir / "paperless"
    try:
        write_tree(LARGE_FILES, data.parse_size(args.large_size), large)
        write_tree(data.load_profile("paperless"), data.parse_size(args.small_size), small)
        rates = bench_tree("large files", large, args.repeat, workers, args.baseline)
        small_rates = bench_tree(
            "paperless small files", small, args.repeat, workers, args.baseline
        )
        where_time_goes(small)
    finally:
        if not args.keep:
            shutil.rmtree(args.dir, ignore_errors=True)
    openssl = rates["openssl dgst -sha256"]
    many = rates.get(f"manifest, {workers} workers", rates["manifest, 1 worker"])
    print(
        f"\nlarge files: manifest/openssl = {rates['manifest, 1 worker'] / openssl:.2f}x "
        f"(goal >= 0.95x) with 1 worker, "
        f"{many / openssl:.2f}x (goal >= 1.6x) with {workers}"
    )
    small = small_rates["manifest, 1 worker"] / small_rates["openssl dgst -sha256"]
    print(f"paperless: manifest/openssl = {small:.2f}x (goal >= 0.8x) with 1 worker")
    print(f"load average after: {os.getloadavg()[0]:.2f} (other work on the machine skews this)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

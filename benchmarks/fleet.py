"""How the fleet's RTO grows with the number of apps lost at once, on one real kind cluster.

    .venv/bin/python benchmarks/fleet.py [--apps 1,6,18] [--size 1MiB]

Plays ``scenarios/fleet/fleet-cluster-rebuild.yaml`` once per fleet size, on a kind cluster
and MinIO this script starts (and removes). A fleet of N takes the scenario's first N app
instances round-robin across its entries, so every size keeps the mix of tiers and datasets.
Each run rebuilds the cluster, so its RTO holds the rebuild; the restore part (GitOps
re-sync to the last app Ready) is printed beside it.

While the fleet restores (the GitOps re-sync to the last app Ready), a sampler reads this
machine's CPU use (/proc/stat: the kind node is a container here) and counts the restore
mover pods running at once, which says which
limit binds. After each run the fleet's repositories are restored again by the mover's own
restic on this machine, one after another and alone: restic's restore speed beside the
fleet's. It prints measurements and ratios; it asserts nothing (timings are not tests).
"""

from __future__ import annotations

import argparse
import secrets
import shutil
import sys
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from restore_drill import k8s
from restore_drill.addons import load_addons
from restore_drill.backend import Backend, start_backend
from restore_drill.errors import DrillError
from restore_drill.images.cache import cache_dir
from restore_drill.images.pins import Offline
from restore_drill.progress import Event, StepStarted
from restore_drill.report import DrillResult
from restore_drill.restic import Restic
from restore_drill.runner import RunOptions, delete_namespaces, run_drill
from restore_drill.scenario import AppInstance, Scenario, find_scenario

SCENARIO = "fleet-cluster-rebuild"
MOVER_PREFIX = "volsync-dst-"  # VolSync names an RD's mover Job (and so its pods) so


def fleet_of(scenario: Scenario, count: int) -> Scenario:
    """The first ``count`` instances, taken round-robin across the scenario's entries."""
    groups: dict[tuple[str, str, str], list[AppInstance]] = {}
    for instance in scenario.instances:
        groups.setdefault((instance.fixture, instance.tier, instance.profile), []).append(instance)
    queues = [list(group) for group in groups.values()]
    order: list[AppInstance] = []
    while any(queues):
        order += [queue.pop(0) for queue in queues if queue]
    return replace(scenario, instances=tuple(order[:count]))


class Sampler(threading.Thread):
    """CPU busy share and mover pods running, once a second, while ``active`` is set."""

    def __init__(self, kubeconfig: Path) -> None:
        super().__init__(daemon=True)
        self.active, self.stopped = threading.Event(), threading.Event()
        # A client of its own: the drill's must not be touched from this thread.
        self.kubeconfig = kubeconfig
        self.kube: k8s.Kube | None = None
        self.cpu: list[float] = []
        self.movers: list[int] = []

    def run(self) -> None:
        before = _cpu_times()
        while not self.stopped.wait(1.0):  # a sampling period, not a wait for a state
            now = _cpu_times()
            if self.active.is_set():
                busy, total = now[0] - before[0], now[1] - before[1]
                self.cpu.append(busy / total if total else 0.0)
                self.movers.append(self._running_movers())
            before = now

    def _running_movers(self) -> int:
        try:
            kube = self.kube = self.kube or k8s.Kube(self.kubeconfig)
            pods = kube.list(k8s.POD, None)
        except Exception:  # the cluster is being rebuilt: nothing runs on it yet
            self.kube = None  # the new cluster has a new kubeconfig
            return 0
        return sum(
            1
            for pod in pods
            if pod["metadata"]["name"].startswith(MOVER_PREFIX)
            and (pod.get("status") or {}).get("phase") == "Running"
        )


def _cpu_times() -> tuple[float, float]:
    fields = [float(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


def restic_alone(backend: Backend, result: DrillResult, password: str) -> tuple[int, float]:
    """Restore every repository of the run's bucket with the mover's restic, one after
    another on this machine: (bytes, seconds)."""
    offline = Offline(load_addons())
    version = offline.restic_version(offline.addons.volsync_default)
    binary = cache_dir() / "go" / f"restic-{version}" / "restic"
    store, bucket = backend.object_store, f"rd-{result.run_id}"
    pages = store.s3_client().get_paginator("list_objects_v2").paginate(Bucket=bucket)
    keys = [item["Key"] for page in pages for item in page.get("Contents", [])]
    prefixes = sorted(key.removesuffix("/config") for key in keys if key.endswith("/config"))
    total, seconds = 0, 0.0
    for prefix in prefixes:
        url = store.repository_url(bucket, prefix, in_cluster=False)
        repository = Restic(url, password, env=store.credentials.env(), binary=str(binary))
        with tempfile.TemporaryDirectory(prefix="fleet-bench-") as target:
            started = time.perf_counter()
            repository.run("restore", "latest", "--target", target, timeout=600)
            seconds += time.perf_counter() - started
            total += sum(f.stat().st_size for f in Path(target).rglob("*") if f.is_file())
    return total, seconds


def remove_leftovers(backend: Backend, result: DrillResult) -> None:
    """The run kept its namespaces and bucket for restic_alone; remove them now."""
    try:
        failures = delete_namespaces(backend.cluster.kube(), result.namespaces, timeout=300)
    except DrillError as exc:  # a run that failed in the rebuild has no cluster to clean
        failures = [exc]
    for failure in failures:
        print(f"  namespace left: {failure}", file=sys.stderr)
    backend.object_store.delete_bucket(f"rd-{result.run_id}")


def restore_seconds(result: DrillResult) -> float:
    """GitOps re-sync to the last app Ready: the RTO without the cluster rebuild."""
    return sum(s.seconds for s in result.steps if s.name in ("recreate_app", "wait_restored"))


def run_fleet(backend: Backend, scenario: Scenario, size: str, out: Path) -> dict[str, Any]:
    password = secrets.token_urlsafe(24)
    sampler = Sampler(backend.cluster.kubeconfig)
    sampler.start()

    def progress(event: Event) -> None:
        if not isinstance(event, StepStarted):
            return
        print(f"  [{len(scenario.instances)} apps] {event.step}", flush=True)
        # From the GitOps re-sync to the last app Ready: the restore, without the rebuild.
        if event.step == "recreate_app":
            sampler.active.set()
        elif event.step == "verify":
            sampler.active.clear()

    options = RunOptions(
        out_dir=out, size=size, keep="always", progress=progress, password=password
    )
    result = run_drill(scenario, backend.cluster, backend.object_store, options)
    sampler.stopped.set()
    if not result.passed:
        print(f"  FAILED: {result.failure_type}: {result.failure}", file=sys.stderr)
    restored = sum(int(p.get("bytes") or 0) for p in result.verify.get("pvcs", {}).values())
    alone_bytes, alone_seconds = restic_alone(backend, result, password)
    remove_leftovers(backend, result)
    apps = result.rto_cluster.get("apps") or {}
    return {
        "apps": len(scenario.instances),
        "passed": result.passed,
        "rto": result.rto_seconds or 0.0,
        "restore": restore_seconds(result),
        "slowest_app": max(apps.values(), default=result.rto_seconds or 0.0),
        "fastest_app": min(apps.values(), default=result.rto_seconds or 0.0),
        "bytes": restored,
        "cpu_busy": sum(sampler.cpu) / len(sampler.cpu) if sampler.cpu else 0.0,
        "movers_max": max(sampler.movers, default=0),
        "restic_bytes": alone_bytes,
        "restic_seconds": alone_seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--apps", default="1,6,18", help="fleet sizes, comma-separated")
    parser.add_argument("--size", default="1MiB", help="data per PVC")
    args = parser.parse_args()
    sizes = [int(n) for n in args.apps.split(",")]
    scenario = find_scenario(SCENARIO)
    if max(sizes) > len(scenario.instances):
        parser.error(f"--apps: the fleet has {len(scenario.instances)} apps")
    out = Path(tempfile.mkdtemp(prefix="fleet-bench-"))
    backend = start_backend("kind", out / "backend")
    try:
        rows = [run_fleet(backend, fleet_of(scenario, n), args.size, out) for n in sizes]
    finally:
        backend.close()
    if all(row["passed"] for row in rows):
        shutil.rmtree(out, ignore_errors=True)
    else:
        print(f"a fleet failed: its result.json and failure bundle are under {out}")
    one = rows[0]
    print(f"\nfleet-cluster-rebuild on kind, {args.size} per PVC (RTO includes the rebuild)")
    print(
        f"{'apps':>4} {'pass':>5} {'RTO s':>7} {'x first':>7} {'restore s':>9} {'x first':>7} "
        f"{'apps s':>11} {'MiB':>6} {'fleet MiB/s':>11} {'restic MiB/s':>12} "
        f"{'CPU busy':>8} {'movers':>6}"
    )
    for row in rows:
        fleet_rate = row["bytes"] / 2**20 / row["restore"] if row["restore"] else 0.0
        alone = row["restic_bytes"] / 2**20 / row["restic_seconds"] if row["restic_seconds"] else 0
        print(
            f"{row['apps']:>4} {row['passed']!s:>5} {row['rto']:>7.1f} "
            f"{row['rto'] / one['rto']:>7.2f} {row['restore']:>9.1f} "
            f"{row['restore'] / one['restore']:>7.2f} "
            f"{row['fastest_app']:>5.0f}-{row['slowest_app']:<5.0f} {row['bytes'] / 2**20:>6.1f} "
            f"{fleet_rate:>11.2f} {alone:>12.2f} {row['cpu_busy']:>8.0%} {row['movers_max']:>6}"
        )
    print(
        "CPU busy: this machine's mean CPU use from the GitOps re-sync to the last app Ready; "
        "movers: the most restore movers seen running at once."
    )


if __name__ == "__main__":
    main()

"""Cluster backends (kind, sim, existing) behind one contract, and how one is chosen.

Backends are imported when chosen, not here: the sim pulls in its API server and
controllers, kind shells out to Docker; neither should cost anything when unused.
"""

from __future__ import annotations

import secrets
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from restore_drill.errors import UsageError

if TYPE_CHECKING:
    from restore_drill.clusters.base import Cluster
    from restore_drill.objectstore import ObjectStore

BACKENDS = ("kind", "sim", "existing")
CHOICES = ("auto", *BACKENDS)


def choose_backend(requested: str, *, ci: bool = False) -> tuple[str, str]:
    """The backend to use and why (callers print the reason).

    ``auto`` means kind when a Docker engine answers and kind is installed, else sim.
    ``ci`` only changes the wording: a CI log must say plainly that it ran on the sim.
    """
    if requested not in CHOICES:
        raise UsageError(
            f"unknown cluster backend {requested!r} (choose from {', '.join(CHOICES)})"
        )
    if requested != "auto":
        return requested, f"{requested} requested"
    from restore_drill.clusters.kind import docker_engine_answers

    answers, why = docker_engine_answers()
    if answers and shutil.which("kind"):
        return "kind", f"auto: {why} and kind is installed"
    if answers:
        why = f"{why} but kind is not on PATH"
    prefix = "auto (CI)" if ci else "auto"
    return "sim", f"{prefix}: {why}; using the sim backend (a local API server, not a real cluster)"


def make_cluster(backend: str, run_dir: Path, object_store: ObjectStore, **options: Any) -> Cluster:
    """Build (not start) the cluster for ``backend``; ``options`` are backend-specific.

    kind: ``name``, ``volsync_version``, ``addons``, ``install_addons``.
    sim: passed through to ``SimCluster``.
    existing: ``kubeconfig``, ``context``, ``allow_existing``, ``run_id``,
    ``storage_class``, ``snapshot_class``.
    """
    # A name of its own per run: a cluster kept from an earlier run (or another run going
    # on at the same time) is never picked up, and so never rebuilt or deleted by mistake.
    name = str(options.pop("name", f"restore-drill-{backend}-{secrets.token_hex(3)}"))
    if backend == "kind":
        from restore_drill.clusters.kind import KindCluster

        return KindCluster(name, run_dir, object_store, **options)
    if backend == "sim":
        from restore_drill.clusters.sim.cluster import SimCluster

        sim: Cluster = SimCluster(name, run_dir, object_store, **options)
        return sim
    if backend == "existing":
        from restore_drill.clusters.existing import ExistingCluster

        return ExistingCluster(name, run_dir, object_store, **options)
    raise UsageError(f"unknown cluster backend {backend!r} (choose from {', '.join(BACKENDS)})")

"""Cluster backends (kind, existing) behind one contract, and how one is chosen.

Backends are imported when chosen, not here: kind shells out to Docker and the existing
backend only reads a kubeconfig; neither should cost anything when unused.
"""

from __future__ import annotations

import importlib
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from restore_drill.errors import BackendUnavailable, UsageError

if TYPE_CHECKING:
    from restore_drill.clusters.base import Cluster
    from restore_drill.objectstore import ObjectStore


@dataclass(frozen=True)
class BackendSpec:
    """One cluster backend: its class (imported when chosen), what it cannot run without
    (the names of ``doctor``'s probes), and the object store its drills back up to."""

    cluster_class: str  # "module:Class"
    needs: tuple[str, ...]
    object_store: str  # "minio": started beside the cluster; "external": the user's endpoint
    note: str = "all it needs is here"

    def load(self) -> type[Cluster]:
        module, name = self.cluster_class.split(":")
        found: type[Cluster] = getattr(importlib.import_module(module), name)
        return found


# The one table of backends. restic is for `verify-backups`, not for drills: the movers
# run the restic inside VolSync's image.
BACKENDS: dict[str, BackendSpec] = {
    "kind": BackendSpec(
        "restore_drill.clusters.kind:KindCluster",
        needs=("Docker engine", "kind", "kubectl", "helm", "git"),
        object_store="minio",
    ),
    "existing": BackendSpec(
        "restore_drill.clusters.existing:ExistingCluster",
        needs=("python",),
        object_store="external",
        note="needs --kubeconfig, --context and --allow-existing",
    ),
}
CHOICES = ("auto", *BACKENDS)


def in_ci() -> bool:
    """Whether a CI system runs us (they set ``CI``); it only changes how choices are worded."""
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def choose_backend(requested: str, *, ci: bool | None = None) -> tuple[str, str]:
    """The backend to use and why (callers print the reason).

    ``auto`` means kind; when no Docker engine answers or kind cannot be found, it says so
    (there is no pretend cluster to fall back to). ``ci`` only changes the wording.
    """
    if requested not in CHOICES:
        raise UsageError(
            f"unknown cluster backend {requested!r} (choose from {', '.join(CHOICES)})"
        )
    if requested != "auto":
        return requested, f"{requested} requested"
    from restore_drill.clusters.kind import NO_DOCKER_HINT, docker_engine_answers
    from restore_drill.images.tools import tool

    prefix = "auto (CI)" if (in_ci() if ci is None else ci) else "auto"
    answers, why = docker_engine_answers()
    if not answers:
        raise BackendUnavailable(f"{prefix}: {why}; {NO_DOCKER_HINT}")
    kind = tool("kind")
    if not os.path.isfile(kind):
        raise BackendUnavailable(f"{prefix}: {why} but kind is not found; run `make setup`")
    return "kind", f"{prefix}: {why} and kind is at {kind}"


def make_cluster(backend: str, run_dir: Path, object_store: ObjectStore, **options: Any) -> Cluster:
    """Build (not start) the cluster for ``backend``; ``options`` are backend-specific.

    kind: ``name``, ``volsync_version``, ``addons``, ``install_addons``, ``images``.
    existing: ``kubeconfig``, ``context``, ``allow_existing``,
    ``storage_class``, ``snapshot_class``.
    """
    # A name of its own per run: a cluster kept from an earlier run (or another run going
    # on at the same time) is never picked up, and so never rebuilt or deleted by mistake.
    if backend not in BACKENDS:
        known = ", ".join(BACKENDS)
        raise UsageError(f"unknown cluster backend {backend!r} (choose from {known})")
    name = str(options.pop("name", f"restore-drill-{backend}-{secrets.token_hex(3)}"))
    return BACKENDS[backend].load()(name, run_dir, object_store, **options)

"""A run's backend: the object store and the cluster, started together and closed together.

``start_backend`` refuses before it makes anything when the backend cannot run here; a
kept cluster keeps its object store, and both are recorded for ``restore-drill clean``.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from restore_drill.errors import DrillError, UsageError

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from restore_drill.clusters.base import Cluster
    from restore_drill.objectstore import ObjectStore
    from restore_drill.report import DrillResult

# What a kept run leaves running, in its backend directory (read by `restore-drill clean`).
KEPT_FILE = "kept.json"
# What a run has made so far and the process that owns it, while it runs: a run that is
# killed (SIGKILL, a lost CI runner) leaves it behind for `restore-drill clean`.
RUNNING_FILE = "running.json"
# Every process a run starts carries this variable, set to the run's mark, in its
# environment: `restore-drill clean` finds what a killed run's tools left running by it.
RUN_MARK = "RESTORE_DRILL_RUN"


KEEP_CHOICES = ("never", "on-failure", "always")
# The store's own start bounds its waits (docker run, MinIO's readiness): a margin above.
STORE_START_TIMEOUT = 300.0


def keep_cluster(keep: str, *, failed: bool) -> bool:
    """``--keep`` for the cluster and its object store, the same in the CLI and pytest:
    ``always``, or ``on-failure`` when something failed."""
    return keep == "always" or (keep == "on-failure" and failed)


@dataclass
class Backend:
    """A started object store and cluster for a run; ``close`` stops only what it started."""

    cluster: Cluster
    object_store: ObjectStore
    created_cluster: bool
    run_dir: Path | None = None

    def close(self, *, keep_cluster: bool = False) -> None:
        """Stop what the run started; a kept cluster keeps its object store too (it backs
        the cluster's repositories up), recorded in ``kept.json`` for ``restore-drill clean``."""
        ours = self.created_cluster and self.cluster.created_by_this_run
        try:
            if ours and not keep_cluster:
                self.cluster.delete()
            else:
                self.cluster.close_client()
        finally:
            if ours and keep_cluster:
                self._record_kept(
                    {"kind_cluster": self.cluster.name, "kubeconfig": str(self.cluster.kubeconfig)}
                )
            self.object_store.stop()
        # Reached only when the teardown finished: a record left behind means it did not.
        if self.run_dir is not None:
            (self.run_dir / RUNNING_FILE).unlink(missing_ok=True)

    def _record_kept(self, kept: dict[str, str]) -> None:
        kept = {**kept, **self.object_store.leave_running()}
        if self.run_dir is not None:
            (self.run_dir / KEPT_FILE).write_text(json.dumps(kept, indent=2) + "\n")
        print(
            f"restore-drill: kept {', '.join(f'{k} {v}' for k, v in kept.items())}; "
            f"'restore-drill clean {self.run_dir.parent.name if self.run_dir else '--kept'}' "
            "removes them",
            flush=True,
        )


def _object_store(kind: str, options: dict[str, Any]) -> ObjectStore:
    """The store a backend's drills back up to (its kind comes from the backend table)."""
    if kind == "minio":
        from restore_drill.addons import load_addons
        from restore_drill.clusters.kind_offline import choose_images
        from restore_drill.objectstore.minio import MinioContainer, pinned_image

        options["images"] = choose_images(load_addons(), str(options.get("images", "auto")))
        return MinioContainer(image=pinned_image(options["images"]))
    from restore_drill.objectstore import ExternalS3

    return ExternalS3.from_env()


_mark: list[str] = []  # this process's
_marking = threading.Lock()  # backends start side by side, in threads


def _process_mark() -> str:
    """The mark every tool this process starts carries (the environment is the process's:
    backends started side by side share one), made on first use."""
    with _marking:
        if not _mark:
            _mark.append(secrets.token_hex(8))
            os.environ[RUN_MARK] = _mark[0]  # inherited by every tool started from here on
        return _mark[0]


def start_backend(backend: str, run_dir: Path, **options: Any) -> Backend:
    """Start the object store, then create (or attach to) the cluster for ``backend``."""
    from restore_drill.addons.together import Background
    from restore_drill.clusters import BACKENDS, make_cluster

    spec = BACKENDS.get(backend)
    if spec is None:
        raise UsageError(f"unknown cluster backend {backend!r} (choose from {', '.join(BACKENDS)})")
    # Before anything is made: no run directory, container or cluster for a run that
    # cannot start.
    spec.load().ensure_available()
    store = _object_store(spec.object_store, options)
    # The cluster's own input (kubeconfig, context) is checked here too: nothing is made yet.
    cluster = make_cluster(backend, run_dir / "cluster", store, **options)
    run_dir.mkdir(parents=True, exist_ok=True)
    record = run_dir / RUNNING_FILE
    mark = _process_mark()
    owned: dict[str, object] = {"pid": os.getpid(), "processes": mark}
    # What the cluster must find (MinIO's network) first; the store then starts beside the
    # cluster's creation, and the cluster's addons are never waited for by the store.
    starting: Background | None = None
    try:
        store.prepare()
        owned.update(store.started_resources())
        if backend == "kind" and "name" not in options:
            # A fresh random name: a cluster by that name is this run's, made or half-made.
            owned.update({"kind_cluster": cluster.name, "kubeconfig": str(cluster.kubeconfig)})
        if store.starts_beside_cluster:
            record.write_text(json.dumps(owned, indent=2) + "\n")
            starting = Background("object store", store.start)
        else:
            store.start()
            owned.update(store.started_resources())
            record.write_text(json.dumps(owned, indent=2) + "\n")
        cluster.create()
        if starting is not None:
            starting.result(STORE_START_TIMEOUT)
    except BaseException:
        # A half-made cluster is not left behind (it is ours only if we created it).
        if cluster.created_by_this_run:
            try:
                cluster.delete()
            except DrillError as exc:
                log.warning("could not remove the half-made cluster: %s", exc)
        if starting is not None:
            starting.ended(STORE_START_TIMEOUT)  # stopped only once its start has ended
        store.stop()
        record.unlink(missing_ok=True)
        raise
    return Backend(cluster, store, created_cluster=backend != "existing", run_dir=run_dir)


def on_own_backend(
    backend: str,
    where: Path,
    keep: str,
    drill: Callable[[Backend], DrillResult],
    **options: Any,
) -> DrillResult:
    """``drill`` on a cluster and object store of its own, started in ``where`` and closed
    after it: kept as ``keep`` says for its verdict; one that raised (stopped, crashed) is
    kept only with ``always``, as a stopped run's is."""
    started = start_backend(backend, where, **options)
    kept = keep == "always"
    try:
        result = drill(started)
        kept = keep_cluster(keep, failed=not result.passed)
        return result
    finally:
        started.close(keep_cluster=kept)

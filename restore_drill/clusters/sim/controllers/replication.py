"""What VolSync's ReplicationSource and ReplicationDestination reconcilers share.

The state machine (``controllers/statemachine``) drives a subclass's ``synchronize`` and
``cleanup``; the restic mover Job is run, judged and retried here as VolSync's
``ensureJob`` does: a Job that reached its backoff limit has its logs copied into
``status.latestMoverStatus`` (result ``Failed``) and is deleted, then recreated on a later
pass. The sim waits a growing delay (5 s doubling to 60 s) before recreating it, where the
real controller recreates it at once and the Job's own pod back-off spaces the retries.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass
from typing import Any

from restore_drill.clusters.sim.controllers import volsync_machine as machine
from restore_drill.clusters.sim.controllers import volsync_objects as objects
from restore_drill.clusters.sim.controllers.base import Controller
from restore_drill.clusters.sim.controllers.volsync_objects import Obj, SyncError
from restore_drill.errors import KubeError, NotFound
from restore_drill.k8s import JOB, POD, PVC, SECRET, VOLUME_SNAPSHOT, Kind

ERROR_RETRY = 5.0  # seconds before retrying after an error (controller-runtime backs off)
BIND_TIMEOUT = 30.0  # VolSync's SnapshotBindTimeout / PVCBindTimeout before warning


@dataclass(frozen=True)
class Step:
    """The outcome of one pass of ``synchronize``: done, or come back in ``requeue`` s."""

    done: bool = False
    requeue: float | None = None


class ReplicationController(Controller):
    """Base of the RS and RD reconcilers; subclasses set ``owner_kind`` and ``direction``."""

    owner_kind: Kind
    direction: str  # "src" or "dst", as in VolSync's object names
    first_retry = 5.0  # seconds before a failed mover Job is recreated (doubles, max 60)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._retry_after: dict[tuple[str, str], tuple[int, float]] = {}

    # --- dispatch ----------------------------------------------------------------------

    def reconcile(self, kind: Kind, namespace: str | None, name: str) -> float | None:
        if namespace is None:
            return None
        if kind == self.owner_kind:
            return self.reconcile_owner(namespace, name)
        if kind == SECRET:
            for owner in self.kube.list(self.owner_kind, namespace):
                if (owner.get("spec") or {}).get("restic", {}).get("repository") == name:
                    self.enqueue(self.owner_kind, namespace, owner["metadata"]["name"])
            return None
        owner_name = self._owner_of(kind, namespace, name)
        if owner_name:
            self.enqueue(self.owner_kind, namespace, owner_name)
        return None

    def _owner_of(self, kind: Kind, namespace: str, name: str) -> str | None:
        found = self.kube.find(kind, name, namespace)
        if found is not None:
            return objects.controller_of(found, self.owner_kind.kind)
        prefix = f"{objects.PREFIX}{self.direction}-"
        if kind == JOB and name.startswith(prefix):  # a deleted mover Job names its owner
            return name[len(prefix) :]
        return None

    # --- the state machine -------------------------------------------------------------

    def reconcile_owner(self, namespace: str, name: str) -> float | None:
        owner = self.kube.find(self.owner_kind, name, namespace)
        if owner is None or owner["metadata"].get("deletionTimestamp"):
            self._retry_after.pop((namespace, name), None)
            return None
        spec = owner.get("spec") or {}
        if not spec.get("restic"):
            return None  # only the restic mover is simulated
        status: Obj = copy.deepcopy(owner.get("status") or {})
        now = machine.utcnow()
        requeue: float | None = None
        try:
            current = machine.state(status)
            if current == machine.INITIAL:
                machine.begin_sync(status, now)
                requeue = 0.0
            elif current == machine.SYNCHRONIZING:
                step = self.synchronize(owner, status)
                if step.done:
                    machine.finish_sync(spec, status, now)
                    requeue = 0.0
                else:
                    machine.set_syncing(status, now)
                    requeue = step.requeue
            elif self.cleanup(owner, status):
                requeue = machine.after_cleanup(spec, status, now)
            else:
                machine.set_condition(status, machine.REASON_CLEANUP, "Cleaning up", now)
                requeue = 1.0
        except SyncError as exc:
            machine.set_error(status, str(exc), now)
            requeue = ERROR_RETRY
        self.write_status(owner, status)
        return requeue

    def write_status(self, owner: Obj, status: Obj) -> None:
        clean = {key: value for key, value in status.items() if value is not None}
        if clean == (owner.get("status") or {}):
            return
        try:
            self.kube.replace_status({**owner, "status": clean})
        except KubeError as exc:
            if exc.status != 409:
                raise
            # someone else wrote first: the watch event brings us back with fresh data
            self.enqueue(self.owner_kind, owner["metadata"]["namespace"], owner["metadata"]["name"])

    # --- subclass hooks ----------------------------------------------------------------

    def synchronize(self, owner: Obj, status: Obj) -> Step:
        raise NotImplementedError

    def cleanup(self, owner: Obj, status: Obj) -> bool:
        """Delete the per-sync objects; True once they are gone (VolSync's CleanupObjects)."""
        namespace = owner["metadata"]["namespace"]
        selector = f"{objects.CLEANUP}={owner['metadata']['uid']}"
        remaining = False
        for kind in (JOB, VOLUME_SNAPSHOT, PVC):
            for obj in self.kube.list(kind, namespace, label_selector=selector):
                remaining = True
                if not obj["metadata"].get("deletionTimestamp"):
                    self.kube.delete(kind, obj["metadata"]["name"], namespace)
        return not remaining

    # --- helpers for subclasses --------------------------------------------------------

    def ensure(self, owner: Obj, manifest: Obj, reason: str, message: str) -> Obj:
        """The object, created from ``manifest`` (with a Normal event) when missing."""
        kind = Kind(manifest["apiVersion"], manifest["kind"])
        meta = manifest["metadata"]
        found = self.kube.find(kind, meta["name"], meta["namespace"])
        if found is not None:
            return found
        created = self.kube.create(manifest)
        if reason:
            self.ctx.event(owner, "Normal", reason, message)
        return created

    def repository_secret(self, owner: Obj) -> Obj:
        name = str(owner["spec"]["restic"].get("repository") or "")
        if not name:
            raise SyncError("spec.restic.repository is empty")
        secret = self.kube.find(SECRET, name, owner["metadata"]["namespace"])
        objects.validate_secret(secret, name)
        assert secret is not None
        return secret

    def warn_if_unbound(self, owner: Obj, obj: Obj, bound: bool, hint: str) -> float | None:
        """VolSync's VolumeSnapshotNotBound / PersistentVolumeClaimNotBound warnings."""
        if bound:
            return None
        created = machine.parse_timestamp(obj["metadata"].get("creationTimestamp"))
        age = (machine.utcnow() - created).total_seconds() if created else 0.0
        if age < BIND_TIMEOUT:
            return BIND_TIMEOUT - age + 0.5
        kind = obj["kind"]
        reason = (
            "VolumeSnapshotNotBound"
            if kind == "VolumeSnapshot"
            else "PersistentVolumeClaimNotBound"
        )
        self.ctx.event(
            owner,
            "Warning",
            reason,
            f"waiting for {kind}/{obj['metadata']['name']} to bind; {hint}",
        )
        return BIND_TIMEOUT

    def run_mover(self, owner: Obj, status: Obj, job: Obj) -> Step:
        """Create the mover Job or judge it; ``done`` once it succeeded."""
        namespace, name = job["metadata"]["namespace"], job["metadata"]["name"]
        key = (namespace, owner["metadata"]["name"])
        found = self.kube.find(JOB, name, namespace)
        if found is None:
            failures, not_before = self._retry_after.get(key, (0, 0.0))
            wait = not_before - time.monotonic()
            if wait > 0:
                return Step(requeue=wait)
            self.kube.create(job)
            return Step()
        outcome = objects.job_outcome(found)
        if outcome == "running":
            return Step()
        logs = self.job_logs(found)
        if outcome == "failed":
            status["latestMoverStatus"] = {"result": "Failed", "logs": objects.tail_lines(logs)}
            failures = self._retry_after.get(key, (0, 0.0))[0] + 1
            delay = min(self.first_retry * 2 ** (failures - 1), 60.0)
            self._retry_after[key] = (failures, time.monotonic() + delay)
            self.log.info("mover job %s/%s failed; recreating it in %.0fs", namespace, name, delay)
            self.kube.delete(JOB, name, namespace)
            return Step(requeue=delay)
        self._retry_after.pop(key, None)
        status["latestMoverStatus"] = {
            "result": "Successful",
            "logs": objects.filter_success_logs(logs),
        }
        return Step(done=True)

    def job_logs(self, job: Obj) -> str:
        """Logs of the Job's newest pod that has any ('' when none can be read)."""
        namespace, name = job["metadata"]["namespace"], job["metadata"]["name"]
        uid = job["metadata"].get("uid", "")
        pods = [
            pod
            for pod in self.kube.list(POD, namespace)
            if objects.is_owned_by(pod, uid)
            or (pod["metadata"].get("labels") or {}).get("job-name") == name
        ]
        pods.sort(key=lambda pod: str(pod["metadata"].get("creationTimestamp") or ""))
        for pod in reversed(pods):
            try:
                text = self.kube.pod_logs(pod["metadata"]["name"], namespace)
            except (NotFound, KubeError):
                continue
            if text:
                return text
        return ""

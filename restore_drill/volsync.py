"""VolSync, as the drills drive it: manual triggers, the waits for a sync to end (failing
fast when the mover fails), and what an RS or RD reports (latestImage, mover logs)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from restore_drill import k8s, progress, restic
from restore_drill.errors import KubeError, MoverFailed, WaitTimeout
from restore_drill.k8s import Kube, Obj
from restore_drill.kinds import dig

# VolSync reports a failed mover only when its Job reaches backoffLimit 8, some 20 minutes
# of back-off later; a mover whose pods failed twice is failing for a reason a retry will
# not fix, so the drill ends there. The Job is looked at between watch slices this long.
FAILED_MOVER_PODS = 2
MOVER_CHECK_SECONDS = 10.0


# --- triggers ----------------------------------------------------------------------------


def trigger_manual_sync(kube: Kube, kind: k8s.Kind, name: str, namespace: str, tag: str) -> Obj:
    """Start a sync now: set ``spec.trigger.manual`` to ``tag`` (and drop any schedule,
    since VolSync runs one trigger kind at a time)."""
    patch = {"spec": {"trigger": {"manual": tag, "schedule": None}}}
    return kube.patch(kind, name, patch, namespace)


def restore_schedule(kube: Kube, kind: k8s.Kind, name: str, namespace: str, schedule: str) -> Obj:
    """Hand the object back to its schedule after a manual sync (as it is in git)."""
    patch = {"spec": {"trigger": {"manual": None, "schedule": schedule}}}
    return kube.patch(kind, name, patch, namespace)


def mover_failure(obj: Obj | None, started_after: str) -> str | None:
    """The mover's failure for this attempt, with its log tail, or None."""
    if obj is None:
        return None
    mover = dig(obj, "status", "latestMoverStatus") or {}
    if mover.get("result") != "Failed":
        return None
    # A failure from an earlier attempt (before our trigger) is not ours.
    last_start = str(dig(obj, "status", "lastSyncStartTime") or "")
    if started_after and last_start and last_start < started_after:
        return None
    tail = "\n".join(str(mover.get("logs") or "").strip().splitlines()[-8:])
    return tail or "(no mover log)"


def mover_job(kind: k8s.Kind, name: str) -> str:
    """VolSync's name for the mover Job of an RS or RD."""
    return f"volsync-{'src' if kind is k8s.REPLICATION_SOURCE else 'dst'}-{name}"


def failed_mover_job(kube: Kube, owner: Obj, at_least: int = FAILED_MOVER_PODS) -> str | None:
    """The owner's mover Job once ``at_least`` of its pods failed: name and log tail."""
    meta = owner.get("metadata") or {}
    namespace = str(meta.get("namespace") or "")
    for job in kube.list(k8s.JOB, namespace):
        owners = dig(job, "metadata", "ownerReferences") or []
        if not any(ref.get("uid") == meta.get("uid") for ref in owners):
            continue
        failed = int(dig(job, "status", "failed") or 0)
        if failed < at_least:
            continue
        name = job["metadata"]["name"]
        return f"Job {name}: {failed} mover pods failed; log tail:\n{failed_pod_log(kube, job)}"
    return None


def failed_pod_log(kube: Kube, job: Obj) -> str:
    """The last lines a failed pod of this very Job (not of an earlier Job of the same
    name, which VolSync deletes and recreates when the RS changes) wrote."""
    namespace = str(dig(job, "metadata", "namespace") or "")
    uid = dig(job, "metadata", "uid")
    pods = kube.list(k8s.POD, namespace, label_selector=f"job-name={job['metadata']['name']}")
    dead = [
        p
        for p in pods
        if dig(p, "status", "phase") == "Failed"
        and (uid is None or dig(p, "metadata", "labels", "controller-uid") in (None, uid))
    ]
    logs = ""
    if dead:
        try:
            logs = kube.pod_logs(dead[-1]["metadata"]["name"], namespace)
        except KubeError:
            pass
    return "\n".join(logs.strip().splitlines()[-8:]) or "(no mover log)"


def wait_manual_sync(
    kube: Kube,
    kind: k8s.Kind,
    name: str,
    namespace: str,
    tag: str,
    *,
    timeout: float,
    started_after: str = "",
    on_event: Callable[[Obj | None], None] | None = None,
) -> Obj:
    """Wait (by watch) until ``status.lastManualSync == tag``; fail fast when the mover fails.

    VolSync recreates a failed mover Job and the tag never advances, so waiting for the tag
    alone would only end at the deadline; ``latestMoverStatus.result == Failed`` ends it, and
    so does a mover Job whose pods keep failing (checked between watch slices).
    """
    failure: list[str] = []

    def done(obj: Obj | None) -> bool:
        if obj is None:
            return False
        if dig(obj, "status", "lastManualSync") == tag:
            return True
        reason = mover_failure(obj, started_after)
        if reason is not None:
            failure.append(reason)
            return True
        return False

    what = (
        f"{kind.kind} {namespace}/{name} to finish manual sync {tag!r} (within {timeout:g}s,"
        f" its mover Job checked every {MOVER_CHECK_SECONDS:g}s)"
    )
    # One wait on the progress display, not one per slice between mover checks.
    with progress.waiting(f"{kind.kind} {namespace}/{name} manual sync {tag!r}", timeout):
        start = time.monotonic()
        deadline = start + timeout
        while True:
            try:
                obj = kube.wait_for(
                    kind,
                    name,
                    namespace,
                    done,
                    timeout=max(0.1, min(MOVER_CHECK_SECONDS, deadline - time.monotonic())),
                    what=what,
                    on_event=on_event,
                )
                break
            except WaitTimeout as exc:
                if time.monotonic() >= deadline:
                    raise WaitTimeout(what, time.monotonic() - start, exc.last_seen) from None
            current = kube.find(kind, name, namespace)
            job_failure = failed_mover_job(kube, current) if current else None
            if job_failure:
                raise _mover_failed(kind, name, namespace, job_failure)
    if failure:
        raise _mover_failed(kind, name, namespace, f"log tail:\n{failure[0]}")
    assert obj is not None
    return obj


def _mover_failed(kind: k8s.Kind, name: str, namespace: str, detail: str) -> MoverFailed:
    cause = restic.classify(None, detail)
    words = restic.CAUSES_IN_WORDS[cause]
    return MoverFailed(
        f"{kind.kind} {namespace}/{name}: mover failed ({cause}: {words}); {detail}", cause=cause
    )


def syncing(obj: Obj | None) -> bool:
    """Whether a sync (or its clean-up) runs now: VolSync's ``Synchronizing`` condition."""
    for condition in dig(obj, "status", "conditions") or []:
        if condition.get("type") == "Synchronizing":
            return bool(condition.get("status") == "True")
    return False


def wait_idle(kube: Kube, kind: k8s.Kind, name: str, namespace: str, *, timeout: float) -> None:
    """Wait until no sync runs. A manual tag set while a scheduled sync runs is recorded by
    THAT sync (whose snapshot may already be written), so a drill's backup starts idle."""
    kube.wait_for(
        kind,
        name,
        namespace,
        lambda obj: obj is not None and not syncing(obj),
        timeout=timeout,
        what=f"{kind.kind} {namespace}/{name} idle (no sync running)",
    )


@dataclass(frozen=True)
class AskedSync:
    """A manual sync asked for and not yet waited for."""

    kind: k8s.Kind
    name: str
    namespace: str
    tag: str
    started_after: str  # a mover failure older than this is not this sync's


def ask_manual_sync(kube: Kube, kind: k8s.Kind, name: str, namespace: str, tag: str) -> AskedSync:
    started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 1))
    trigger_manual_sync(kube, kind, name, namespace, tag)
    return AskedSync(kind, name, namespace, tag, started)


def wait_asked_sync(kube: Kube, asked: AskedSync, *, timeout: float) -> Obj:
    return wait_manual_sync(
        kube,
        asked.kind,
        asked.name,
        asked.namespace,
        asked.tag,
        timeout=timeout,
        started_after=asked.started_after,
    )


def latest_image(obj: Obj | None) -> str | None:
    image = dig(obj, "status", "latestImage") or {}
    return str(image["name"]) if image.get("name") else None


def wait_latest_image(
    kube: Kube, name: str, namespace: str, *, timeout: float, not_named: str | None = None
) -> str:
    """Wait until the RD has a ``latestImage`` (other than ``not_named``); its name."""
    obj = kube.wait_for(
        k8s.REPLICATION_DESTINATION,
        name,
        namespace,
        lambda o: latest_image(o) not in (None, not_named),
        timeout=timeout,
        what=f"ReplicationDestination {namespace}/{name} latestImage",
    )
    image = latest_image(obj)
    assert image is not None
    return image


def mover_logs(kube: Kube, kind: k8s.Kind, name: str, namespace: str) -> str:
    """``status.latestMoverStatus.logs`` of an RS/RD, or "" (for failure messages)."""
    try:
        obj = kube.find(kind, name, namespace)
    except KubeError:
        return ""
    return str(dig(obj, "status", "latestMoverStatus", "logs") or "")

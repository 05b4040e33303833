"""Steps of the stale-lock drill: a backup killed while it ran leaves its lock in the
repository, and the drill watches what VolSync's ``spec.restic.unlock`` does about it.

restic calls a lock stale only when its process is known dead: on the host that made it,
or 30 minutes after its last refresh on any other host. A mover pod's lock is always from
another host, and VolSync's unlock runs plain ``restic unlock``, so a fresh lock outlives
it; the drill states which of the two it expects, and fails if the other happens.
"""

from __future__ import annotations

import functools
import os
import selectors
import signal
import time

from restore_drill import k8s, restic, volsync
from restore_drill.errors import ResticError, UsageError, VerificationFailed
from restore_drill.k8s import Obj
from restore_drill.kinds import dig, job_ended
from restore_drill.steps.context import AppUnderTest, Drill
from restore_drill.steps.registry import step
from restore_drill.steps.snapshots import repository_prefix

# What ``restic -v backup`` prints once it holds its lock (0.14 to 0.18).
HOLDS_LOCK = b"load index files"
UNLOCK_OUTCOMES = ("still-locked", "cleared")


def host_restic(drill: Drill, app: AppUnderTest, pvc: str) -> restic.Restic:
    """The PVC's repository, reached from this machine with the run's keys."""
    prefix = repository_prefix(app, pvc, drill.bucket)
    url = drill.object_store.repository_url(drill.bucket, prefix, in_cluster=False)
    password = str(dig(app.fixture.repository_secret(pvc), "stringData", "RESTIC_PASSWORD"))
    return restic.Restic(url, password, env=drill.object_store.credentials.env())


def leave_lock(repository: restic.Restic, timeout: float) -> None:
    """Start a backup that reads a stdin nobody writes to, and SIGKILL it once it says it
    holds its lock: the lock stays in the repository, as a killed mover's does."""
    process = repository.start("backup", "--stdin", "--stdin-filename", "killed-backup")
    said = b""
    try:
        assert process.stdout is not None
        with selectors.DefaultSelector() as watch:
            watch.register(process.stdout, selectors.EVENT_READ)
            deadline = time.monotonic() + timeout
            while HOLDS_LOCK not in said:
                left = deadline - time.monotonic()
                if left <= 0 or not watch.select(left):
                    raise ResticError(
                        f"restic backup did not take its lock in {timeout:.0f}s; it said: "
                        f"{repository.redact(said.decode(errors='replace'))[-300:] or 'nothing'}"
                    )
                chunk = os.read(process.stdout.fileno(), 4096)
                if not chunk:
                    process.wait()
                    raise repository.error("backup", process.returncode, said.decode())
                said += chunk
    finally:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait()
        for stream in (process.stdin, process.stdout):
            if stream is not None:
                stream.close()


@step("leave_stale_lock")
def leave_stale_lock(drill: Drill) -> None:
    """Leave a lock in every repository the way a backup killed mid-run does (OOM, node
    lost); the end of the drill removes it whatever happened."""
    for app, pvc in drill.volumes():
        repository = host_restic(drill, app, pvc)
        leave_lock(repository, timeout=drill.step_timeout)
        remove = functools.partial(repository.unlock, remove_all=True)
        drill.mends.append((f"locks of {app.name}/{pvc} removed", remove))
    drill.notes.append("a backup was killed while it held its repository lock")


@step("unlock_repository", params=("expect",))
def unlock_repository(drill: Drill, expect: str = "still-locked") -> None:
    """Set every RS's ``spec.restic.unlock``, as VolSync documents for a locked repository,
    and check what its next mover run did: ``still-locked`` (the backup failed on the lock
    again) or ``cleared`` (it succeeded)."""
    if expect not in UNLOCK_OUTCOMES:
        raise UsageError(
            f"unlock_repository: expect {expect!r} is not one of {', '.join(UNLOCK_OUTCOMES)}"
        )
    kube = drill.kube()
    for app, pvc in drill.volumes():
        name = app.fixture.source_for(pvc)["metadata"]["name"]
        tag = drill.next_tag("unlock")
        kube.patch(
            k8s.REPLICATION_SOURCE, name, {"spec": {"restic": {"unlock": tag}}}, app.namespace
        )
        job = volsync.mover_job(k8s.REPLICATION_SOURCE, name)
        # VolSync deletes the running Job (its arguments changed) and starts one that runs
        # `unlock` before `backup`: only that Job's end answers.
        ended = kube.wait_for(
            k8s.JOB,
            job,
            app.namespace,
            lambda obj: _unlocks(obj) and job_ended(obj),
            timeout=drill.step_timeout,
            what=f"Job {app.namespace}/{job}: a mover pod that ran restic unlock ended",
        )
        seen = "cleared" if dig(ended, "status", "succeeded") else "still-locked"
        log = volsync.failed_pod_log(kube, ended or {}) if seen == "still-locked" else ""
        if seen == "still-locked" and restic.classify(None, log) != "locked":
            raise VerificationFailed(
                f"after spec.restic.unlock the backup of {app.name}/{pvc} failed, but not on "
                f"its lock; log tail:\n{log}"
            )
        if seen != expect:
            raise VerificationFailed(
                f"spec.restic.unlock left the repository of {app.name}/{pvc} {seen}, where "
                f"the scenario expects {expect}"
            )
        drill.notes.append(
            f"spec.restic.unlock on {name}: restic unlock ran, and the lock a killed backup "
            + (
                "left was not stale to it: the backup failed on it again"
                if seen == "still-locked"
                else "left was removed: the backup went through"
            )
        )


def _unlocks(job: Obj | None) -> bool:
    containers = dig(job, "spec", "template", "spec", "containers") or []
    return any("unlock" in (c.get("args") or []) for c in containers)


@step("remove_locks")
def remove_locks(drill: Drill) -> None:
    """Remove every lock from the repositories (``restic unlock --remove-all``), as a person
    does once no mover runs; the mover Job's next retry can then finish its backup."""
    for app, pvc in drill.volumes():
        host_restic(drill, app, pvc).unlock(remove_all=True)
    drill.fault_cleared = time.time()
    drill.notes.append("every lock was removed with restic unlock --remove-all")

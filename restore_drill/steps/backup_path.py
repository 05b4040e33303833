"""Steps of the fault drills (``scenarios/faults/``): they break the backup path the way it
breaks on a real cluster (the object store goes down, a mover is killed, the repository
Secret is wrong) and watch what VolSync does about it.

Whatever a step breaks is put back before the drill ends, passed or not (``Drill.mends``).
"""

from __future__ import annotations

import functools
import time

from restore_drill import k8s, restic, volsync
from restore_drill.errors import KubeError, UsageError, VerificationFailed
from restore_drill.gitops import secret_data
from restore_drill.k8s import Obj
from restore_drill.kinds import dig, job_ended
from restore_drill.steps import clock, snapshots
from restore_drill.steps.actions import record_backup
from restore_drill.steps.context import AppUnderTest, Drill
from restore_drill.steps.registry import step

# What break_repository_secret changes in the RD's copy of the repository Secret.
SECRET_CHANGES = {
    "s3-keys": lambda data: {
        **data,
        "AWS_SECRET_ACCESS_KEY": "not-" + data["AWS_SECRET_ACCESS_KEY"],
    },
    "restic-password": lambda data: {**data, "RESTIC_PASSWORD": "not-" + data["RESTIC_PASSWORD"]},
    "repository-path": lambda data: {
        **data,
        "RESTIC_REPOSITORY": data["RESTIC_REPOSITORY"] + "-empty",
    },
}


def _restore_job(app: AppUnderTest, pvc: str) -> str:
    """The mover Job of the RD that restores ``pvc``."""
    rd = app.fixture.destination_for(pvc)["metadata"]["name"]
    return volsync.mover_job(k8s.REPLICATION_DESTINATION, rd)


@step("take_down_object_store", alone=True)
def take_down_object_store(drill: Drill) -> None:
    """Stop the object store (the NAS goes down); bring_back_object_store restarts it, and
    so does the end of the drill whatever happened."""
    drill.object_store.take_down()
    drill.mends.append(("object store brought back", drill.object_store.bring_back))
    drill.outage_started = time.time()


@step("bring_back_object_store")
def bring_back_object_store(drill: Drill) -> None:
    """Start the object store again, with its data, and wait until it answers."""
    drill.object_store.bring_back()
    down = time.time() - (drill.outage_started or time.time())
    drill.fault_cleared = time.time()
    drill.notes.append(f"the object store was down for {down:.1f}s")


@step("backup_fails", params=("cause",))
def backup_fails(drill: Drill, cause: str = "") -> None:
    """Ask every RS for a backup while the backup path is broken: its mover must fail, for
    ``cause`` when one is named (a kind of ``restic.classify``), and its log must say why
    (the first failed pod is proof enough; the Job goes on retrying)."""
    if cause and cause not in restic.CAUSES_IN_WORDS:
        raise UsageError(
            f"backup_fails: cause {cause!r} is not one of {', '.join(restic.CAUSES_IN_WORDS)}"
        )
    kube = drill.kube()
    for app, pvc in drill.volumes():
        name = app.fixture.source_for(pvc)["metadata"]["name"]
        volsync.wait_idle(
            kube, k8s.REPLICATION_SOURCE, name, app.namespace, timeout=drill.step_timeout
        )
        tag = drill.next_tag("backup")
        asked = time.time()
        volsync.trigger_manual_sync(kube, k8s.REPLICATION_SOURCE, name, app.namespace, tag)
        job = volsync.mover_job(k8s.REPLICATION_SOURCE, name)
        ended = kube.wait_for(
            k8s.JOB,
            job,
            app.namespace,
            job_ended,
            timeout=drill.step_timeout,
            what=f"Job {app.namespace}/{job}: a mover pod ended",
        )
        source = kube.find(k8s.REPLICATION_SOURCE, name, app.namespace) or {}
        failed = volsync.failed_mover_job(kube, source, at_least=1)
        if dig(ended, "status", "succeeded") or failed is None:
            raise VerificationFailed(
                f"ReplicationSource {app.namespace}/{name} reported a backup while the backup "
                "path was broken"
            )
        seen = restic.classify(None, failed)
        if cause and seen != cause:
            raise VerificationFailed(
                f"the backup of {app.name}/{pvc} failed for {seen} "
                f"({restic.CAUSES_IN_WORDS[seen]}), not {cause}; {failed}"
            )
        drill.failed_backups[app.namespace, name] = (tag, asked)
        drill.notes.append(
            f"backup of {app.name}/{pvc} failed loudly ({seen}: {restic.CAUSES_IN_WORDS[seen]})"
        )


@step("wait_backup_retried")
def wait_backup_retried(drill: Drill) -> None:
    """Wait until the backup that failed is made by the mover Job's retry once the fault is
    cleared, and report the RPO the fault cost."""
    kube = drill.kube()
    for (namespace, name), (tag, asked) in drill.failed_backups.items():

        def made(obj: Obj | None, tag: str = tag) -> bool:
            return bool(dig(obj, "status", "lastManualSync") == tag)

        done = kube.wait_for(
            k8s.REPLICATION_SOURCE,
            name,
            namespace,
            made,
            timeout=drill.step_timeout,
            what=f"ReplicationSource {namespace}/{name}'s mover Job to retry backup {tag!r}",
        )
        at = str(dig(done, "status", "lastSyncTime") or "")
        cleared = drill.fault_cleared or time.time()
        drill.notes.append(
            f"the backup that failed was made by the Job's retry at {at}, "
            f"{time.time() - cleared:.0f}s after the fault was cleared: the fault cost "
            f"{time.time() - asked:.0f}s of RPO"
        )


@step("break_repository_secret", params=("change",))
def break_repository_secret(drill: Drill, change: str = "s3-keys") -> None:
    """Point every RD at a copy of its repository Secret with one thing wrong: ``s3-keys``,
    ``restic-password`` or ``repository-path`` (an empty path)."""
    if change not in SECRET_CHANGES:
        raise UsageError(
            f"break_repository_secret: change {change!r} is not one of {', '.join(SECRET_CHANGES)}"
        )
    kube = drill.kube()
    for app, pvc in drill.volumes():
        rd = app.fixture.destination_for(pvc)
        secret_name = rd["spec"]["restic"]["repository"]
        secret = app.fixture.secret(secret_name)
        wrong = {
            **secret,
            "metadata": {"name": f"{secret_name}-{change}", "namespace": app.namespace},
            "stringData": SECRET_CHANGES[change](secret["stringData"]),
        }
        kube.apply(secret_data(wrong))
        kube.patch(
            k8s.REPLICATION_DESTINATION,
            rd["metadata"]["name"],
            {"spec": {"restic": {"repository": wrong["metadata"]["name"]}}},
            app.namespace,
        )
    drill.notes.append(
        f"every ReplicationDestination reads a repository Secret with {change} wrong"
    )


@step("wait_mover_failed")
def wait_mover_failed(drill: Drill) -> None:
    """Wait until every RD's restore mover has failed once (the fault was felt), and check
    that the populator kept the PVC Pending: no empty or partial volume reaches the app."""
    kube = drill.kube()
    for app, pvc in drill.volumes():
        job = _restore_job(app, pvc)
        kube.wait_for(
            k8s.JOB,
            job,
            app.namespace,
            lambda obj: int(dig(obj, "status", "failed") or 0) >= 1,
            timeout=drill.step_timeout,
            what=f"Job {app.namespace}/{job}: a failed mover pod",
        )
        phase = dig(kube.find(k8s.PVC, pvc, app.namespace), "status", "phase")
        if phase == "Bound":
            raise VerificationFailed(
                f"PVC {app.namespace}/{pvc} is {phase} while its restore mover fails: the "
                "populator handed the app a volume the restore never filled"
            )
        drill.notes.append(
            f"{job}: a mover pod failed during the fault; PVC {pvc} stayed {phase or 'absent'}"
        )


@step("kill_mover")
def kill_mover(drill: Drill) -> None:
    """Kill every RD's restore mover pod once it runs (as an OOM kill or a node drain
    would); the Job must start another one that restores the same data."""
    kube = drill.kube()
    for app, pvc in drill.volumes():
        job = _restore_job(app, pvc)
        pod = running_pod(drill, job, app.namespace)
        log = ""
        try:
            log = kube.pod_logs(pod, app.namespace)
        except KubeError:
            pass
        kube.delete(k8s.POD, pod, app.namespace, grace_seconds=0)
        reached = next(
            (line for line in reversed(log.splitlines()) if line.startswith("===")), "its start"
        )
        drill.notes.append(
            f"mover pod {pod} killed while running (its log had reached {reached!r})"
        )


def running_pod(drill: Drill, job: str, namespace: str) -> str:
    """The name of the Job's first pod, once it is Running (found by watching the Job)."""
    kube = drill.kube()
    deadline = time.monotonic() + drill.step_timeout
    kube.wait_for(
        k8s.JOB,
        job,
        namespace,
        lambda obj: int(dig(obj, "status", "active") or 0) >= 1,
        timeout=drill.step_timeout,
        what=f"Job {namespace}/{job} active",
    )
    pods = kube.list(k8s.POD, namespace, label_selector=f"job-name={job}")
    if not pods:
        raise VerificationFailed(f"Job {namespace}/{job} is active but has no pod")
    name = str(pods[0]["metadata"]["name"])
    running = kube.wait_for(
        k8s.POD,
        name,
        namespace,
        lambda obj: obj is None or dig(obj, "status", "phase") != "Pending",
        timeout=max(1.0, deadline - time.monotonic()),
        what=f"mover pod {namespace}/{name} running",
    )
    phase = dig(running, "status", "phase")
    if phase != "Running":
        raise VerificationFailed(
            f"mover pod {namespace}/{name} was {phase or 'gone'} before it could be killed"
        )
    return name


@step("backup_starts", params=("mover_cpu",))
def backup_starts(drill: Drill, mover_cpu: str = "20m") -> None:
    """Ask every RS for a backup with its mover held to ``mover_cpu`` (VolSync's
    ``spec.restic.moverResources``), and go on once the mover runs: the backup is under way
    and, like a large volume's, far from its snapshot. wait_backup_finished waits for it."""
    kube = drill.kube()
    for app, pvc in drill.volumes():
        name = app.fixture.source_for(pvc)["metadata"]["name"]
        volsync.wait_idle(
            kube, k8s.REPLICATION_SOURCE, name, app.namespace, timeout=drill.step_timeout
        )
        resources = {"spec": {"restic": {"moverResources": {"limits": {"cpu": mover_cpu}}}}}
        kube.patch(k8s.REPLICATION_SOURCE, name, resources, app.namespace)
        unheld = {"spec": {"restic": {"moverResources": None}}}
        drill.mends.append(
            (
                f"{name}'s mover CPU limit removed",
                functools.partial(kube.patch, k8s.REPLICATION_SOURCE, name, unheld, app.namespace),
            )
        )
        prefix = snapshots.repository_prefix(app, pvc, drill.bucket)
        before = snapshots.RepositoryListing(drill.object_store, drill.bucket, prefix)
        tag, asked = drill.next_tag("backup"), time.time()
        volsync.trigger_manual_sync(kube, k8s.REPLICATION_SOURCE, name, app.namespace, tag)
        running_pod(drill, volsync.mover_job(k8s.REPLICATION_SOURCE, name), app.namespace)
        drill.running_backups[app.namespace, name] = (app, pvc, tag, asked, before)
    drill.notes.append(f"a backup was started with its mover held to {mover_cpu} of CPU")


@step("wait_backup_finished", backs_up=True)
def wait_backup_finished(drill: Drill) -> None:
    """Wait for the backups backup_starts began; each one's snapshot is the last dataset's,
    and the note says which snapshot the RD's restore point, taken meanwhile, holds."""
    kube = drill.kube()
    for (_, name), (app, pvc, tag, asked, before) in drill.running_backups.items():
        synced = volsync.wait_manual_sync(
            kube, k8s.REPLICATION_SOURCE, name, app.namespace, tag, timeout=drill.remaining()
        )
        took = time.time() - asked
        key = f"{app.name}/{pvc}"
        snapshot = record_backup(drill, app, pvc, before, synced)
        rd = app.fixture.destination_for(pvc)["metadata"]["name"]
        image = volsync.latest_image(kube.find(k8s.REPLICATION_DESTINATION, rd, app.namespace))
        held = drill.images.get(snapshots.image_key(app.namespace, image or ""))
        label = next(
            (
                label
                for label, made in drill.snapshots.items()
                if key in made and held and made[key].id.startswith(held)
            ),
            "no backup of this drill",
        )
        drill.notes.append(
            f"the backup of {key} asked for at {clock.wall(asked):%H:%M:%S} finished "
            f"{took:.0f}s later as snapshot {snapshot.short_id}; the restore point taken "
            f"meanwhile holds {held[:8] if held else 'nothing'} ({label}): a restore from it "
            "loses what that backup was saving, and the RPO counts from the backup before it"
        )

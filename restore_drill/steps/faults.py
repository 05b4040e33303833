"""Faults a negative drill injects on purpose, so that a wrong restore is shown to FAIL.

A scenario lists them under ``faults:``; each strikes right after the step it names.
"""

from __future__ import annotations

from restore_drill import k8s
from restore_drill.errors import ObjectStoreError
from restore_drill.steps.context import Drill
from restore_drill.steps.registry import fault
from restore_drill.steps.snapshots import repository_prefix
from restore_drill.steps.workloads import run_agent_job


@fault("corrupt-repository", after="backup")
def corrupt_repository(drill: Drill) -> None:
    """Overwrite each repository's ``config`` object in S3 (bit rot on the NAS): restic can
    no longer open the repository, so every later restore fails."""
    s3 = drill.object_store.s3_client()
    for app, pvc in drill.volumes():
        key = f"{repository_prefix(app, pvc, drill.bucket)}/config"
        # A fault that strikes nothing would let the drill "recover" for the wrong reason.
        listed = s3.list_objects_v2(Bucket=drill.bucket, Prefix=key, MaxKeys=1)
        if not any(item["Key"] == key for item in listed.get("Contents", [])):
            raise ObjectStoreError(f"{drill.bucket}/{key} does not exist: nothing to corrupt")
        s3.put_object(Bucket=drill.bucket, Key=key, Body=b"corrupted by the drill")


@fault("restore-previous-snapshot", after="backup")
def restore_previous_snapshot(drill: Drill) -> None:
    """Make each RD restore the backup before the newest one (the wrong snapshot)."""
    kube = drill.kube()
    for app, pvc in drill.volumes():
        name = app.fixture.destination_for(pvc)["metadata"]["name"]
        kube.patch(
            k8s.REPLICATION_DESTINATION,
            name,
            {"spec": {"restic": {"previous": 1}}},
            app.namespace,
        )


@fault("lose-file-before-backup", after="write_dataset")
def lose_file_before_backup(drill: Drill) -> None:
    """Remove one written file before the backup, so the backup never had it."""
    dataset = drill.datasets[drill.last_dataset]
    for app, pvc in drill.volumes():
        files = sorted(
            path
            for path, entry in dataset[f"{app.name}/{pvc}"].entries.items()
            if entry.get("type") == "file" and "'" not in path
        )
        if files:
            run_agent_job(drill, app, pvc, "lose", f"rm -f '/data/{files[0]}'")

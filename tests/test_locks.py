"""The stale-lock drill's steps: a killed backup's lock left in a real repository, and what
the drill concludes from the mover Job VolSync runs after ``spec.restic.unlock``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from restore_drill import k8s, volsync
from restore_drill.errors import ResticError, UsageError, VerificationFailed
from restore_drill.objectstore import LocalS3
from restore_drill.restic import Restic
from restore_drill.steps import locks
from tests.drill_stubs import stub_drill
from tests.test_backup_path import Kube

BUCKET = "lock-tests"
LOCKED = (
    "unable to create lock in backend: repository is already locked by PID 12 on "
    "volsync-src-home-assistant-x by root (UID 0, GID 0)\nlock was created at 2026-12-03"
)


@pytest.fixture(scope="module")
def store(local_s3: LocalS3) -> LocalS3:
    local_s3.create_bucket(BUCKET)
    return local_s3


def repository(store: LocalS3, tmp_path: Path) -> Restic:
    restic = Restic(
        store.repository_url(BUCKET, tmp_path.name, in_cluster=False),
        "pw",
        env=store.credentials.env(),
        cache_dir=tmp_path / "cache",
    )
    restic.init()
    return restic


def test_a_killed_backup_leaves_its_lock(store: LocalS3, tmp_path: Path) -> None:
    restic = repository(store, tmp_path)
    locks.leave_lock(restic, timeout=60)
    assert restic.run("list", "locks", "--no-lock").stdout.strip()  # the lock stayed
    with pytest.raises(ResticError) as caught:
        restic.forget(keep_last=1)  # an exclusive lock, as VolSync's forget takes
    assert caught.value.kind == "locked"
    restic.unlock(remove_all=True)
    assert not restic.run("list", "locks", "--no-lock").stdout.strip()
    restic.forget(keep_last=1)


def test_a_backup_that_never_takes_its_lock_is_reported(tmp_path: Path) -> None:
    fake = tmp_path / "restic"
    fake.write_text("#!/bin/sh\necho 'Fatal: unable to open config file: stat: no such'\nexit 1\n")
    fake.chmod(0o755)
    with pytest.raises(ResticError, match="no-repository"):
        locks.leave_lock(Restic("s3:http://127.0.0.1:1/b/p", "pw", binary=str(fake)), timeout=30)
    fake.write_text("#!/bin/sh\necho open repository\nexec sleep 30\n")
    with pytest.raises(ResticError, match="did not take its lock in 1s; it said: open repo"):
        locks.leave_lock(Restic("s3:http://127.0.0.1:1/b/p", "pw", binary=str(fake)), timeout=1)


def unlock_job(status: dict[str, int], log: str = LOCKED, args: Any = ("unlock", "backup")) -> Kube:
    job = volsync.mover_job(k8s.REPLICATION_SOURCE, "home-assistant")
    kube = Kube(
        {
            ("Job", job): {
                "metadata": {"name": job, "namespace": "ns", "uid": "job-2"},
                "spec": {"template": {"spec": {"containers": [{"args": list(args)}]}}},
                "status": status,
            },
            ("Pod", "mover-1"): {
                "metadata": {"name": "mover-1", "labels": {"controller-uid": "job-2"}},
                "status": {"phase": "Failed"},
            },
        }
    )
    kube.pod_logs = lambda name, namespace: log  # type: ignore[method-assign]
    return kube


def test_unlock_that_leaves_the_lock_is_seen_and_judged(tmp_path: Path) -> None:
    kube = unlock_job({"failed": 1})
    d = stub_drill(tmp_path, kube)
    locks.unlock_repository(d, "still-locked")
    [(_, patch)] = kube.patches
    assert patch["spec"]["restic"]["unlock"].startswith("drill-r1-unlock-")
    assert "was not stale to it" in d.notes[-1]
    with pytest.raises(VerificationFailed, match=r"left the repository .* still-locked, where"):
        locks.unlock_repository(stub_drill(tmp_path, unlock_job({"failed": 1})), "cleared")


def test_unlock_that_clears_the_lock_fails_a_drill_that_expects_it_kept(tmp_path: Path) -> None:
    with pytest.raises(VerificationFailed, match="cleared, where the scenario expects still"):
        locks.unlock_repository(stub_drill(tmp_path, unlock_job({"succeeded": 1})))
    d = stub_drill(tmp_path, unlock_job({"succeeded": 1}))
    locks.unlock_repository(d, "cleared")
    assert "the backup went through" in d.notes[-1]


def test_a_failure_after_unlock_that_is_not_the_lock_fails_the_drill(tmp_path: Path) -> None:
    kube = unlock_job(
        {"failed": 1}, log="Fatal: dial tcp 127.0.0.1:9000: connect: connection refused"
    )
    with pytest.raises(VerificationFailed, match="failed, but not on its lock"):
        locks.unlock_repository(stub_drill(tmp_path, kube))


def test_only_the_job_that_ran_unlock_answers(tmp_path: Path) -> None:
    with pytest.raises(AssertionError, match="never met the wait"):
        locks.unlock_repository(stub_drill(tmp_path, unlock_job({"failed": 1}, args=["backup"])))
    with pytest.raises(UsageError, match="expect 'maybe' is not one of"):
        locks.unlock_repository(stub_drill(tmp_path, unlock_job({})), "maybe")

"""restic against the local S3 server: real repositories, real failures, no leaked secret."""

from __future__ import annotations

import secrets
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from restore_drill.errors import RefusedDestructiveAction, ResticError
from restore_drill.objectstore import LocalS3, free_port
from restore_drill.restic import Restic, classify, parse_time, subset_argument

BUCKET = "restic-tests"


@pytest.fixture(scope="module")
def store(local_s3: LocalS3) -> LocalS3:
    local_s3.create_bucket(BUCKET)
    return local_s3


def _restic(store: LocalS3, tmp_path: Path, password: str = "pw-correct", **kw: bool) -> Restic:
    prefix = tmp_path.name  # one repository per test
    return Restic(
        store.repository_url(BUCKET, prefix, in_cluster=False),
        password,
        env=store.credentials.env(),
        cache_dir=tmp_path / "cache",
        **kw,
    )


def _data(root: Path, files: dict[str, bytes]) -> Path:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    return root


# --- classification (restic 0.14 messages as printed by the binary) -------------------------


@pytest.mark.parametrize(
    ("code", "output", "kind"),
    [
        (1, "Fatal: wrong password or no key found\n", "wrong-password"),
        (
            1,
            "Fatal: unable to open config file: Stat: The specified key does not exist.\n"
            "Is there a repository at the following location?\ns3:http://h/b/p",
            "no-repository",
        ),
        (
            1,
            'Fatal: unable to open config file: Stat: Head "http://127.0.0.1:9/b/config": '
            "dial tcp 127.0.0.1:9: connect: connection refused\n"
            "Is there a repository at the following location?",
            "unreachable",
        ),
        (
            1,
            "Fatal: unable to open config file: Stat: The Access Key Id you provided does not "
            "exist in our records.\nIs there a repository at the following location?",
            "access-denied",
        ),
        (1, "ERROR: failure connecting to repository, incorrect password", "wrong-password"),
        (1, "unable to create lock in backend: repository is already locked by PID 7", "locked"),
        (
            1,
            "ignoring error for /data/db.sqlite: write /data/db.sqlite: no space left on device\n"
            "Fatal: There were 1 errors",
            "disk-full",
        ),
        (1, "Fatal: repository contains errors", "failed"),
        (10, "", "no-repository"),
        (11, "", "locked"),
        (12, "", "wrong-password"),
    ],
)
def test_classify_reads_code_and_message(code: int, output: str, kind: str) -> None:
    assert classify(code, output) == kind


def test_parse_time_handles_nanoseconds_and_offsets() -> None:
    assert parse_time("2026-01-01T10:00:00.123456789Z") == datetime(
        2026, 1, 1, 10, 0, 0, 123456, tzinfo=UTC
    )
    assert parse_time("2026-01-01T12:00:00+02:00") == datetime(2026, 1, 1, 10, tzinfo=UTC)
    with pytest.raises(ValueError):
        parse_time("yesterday")


def test_subset_argument() -> None:
    assert subset_argument(0.1) == "10%"
    assert subset_argument("1/5") == "1/5"
    with pytest.raises(ValueError):
        subset_argument(1.5)


def test_version_is_the_installed_binary() -> None:
    assert Restic.version() == "0.14.0"
    with pytest.raises(ResticError):
        Restic.version("/nonexistent/restic")


# --- real repositories -----------------------------------------------------------------------


def test_backup_snapshots_stats_check_restore(store: LocalS3, tmp_path: Path) -> None:
    restic = _restic(store, tmp_path)
    assert not restic.repository_exists()
    assert restic.ensure_repository() is True
    assert restic.ensure_repository() is False
    data = _data(tmp_path / "data", {"a.txt": b"hello", "dir/b.bin": b"x" * 5000})
    (data / "lost+found").mkdir()
    (data / "lost+found" / "junk").write_bytes(b"junk")
    earlier = datetime(2026, 1, 1, 10, tzinfo=UTC)
    first = restic.backup(data, host="volsync", time=earlier)
    second = restic.backup(data, host="volsync", time=earlier + timedelta(hours=1))
    assert first and second and first != second

    snaps = restic.snapshots()
    assert [parse_time(s["time"]) for s in snaps] == [earlier, earlier + timedelta(hours=1)]
    assert {s["hostname"] for s in snaps} == {"volsync"}
    assert restic.snapshots(host="other") == []

    stats = restic.stats(second)
    assert stats.total_file_count == 3  # a.txt, dir, dir/b.bin: lost+found excluded
    assert stats.total_size == 5005
    assert "no errors were found" in restic.check()
    assert "no errors were found" in restic.check(read_data_subset=1.0)

    target = tmp_path / "restored"
    (target).mkdir()
    (target / "stale.txt").write_text("not in the snapshot")
    restic.restore("latest", target, host="volsync", delete=True)
    assert (target / "a.txt").read_bytes() == b"hello"
    assert (target / "dir" / "b.bin").stat().st_size == 5000
    assert not (target / "stale.txt").exists()
    assert not (target / "lost+found").exists()


def test_forget_keeps_what_it_is_told(store: LocalS3, tmp_path: Path) -> None:
    restic = _restic(store, tmp_path)
    restic.init()
    data = _data(tmp_path / "data", {"f": b"1"})
    start = datetime(2026, 2, 1, tzinfo=UTC)
    for hour in range(3):
        restic.backup(data, host="h", time=start + timedelta(hours=hour))
    restic.forget(keep_last=1)
    restic.prune()
    assert len(restic.snapshots()) == 1


def test_wrong_password_is_classified_and_not_echoed(store: LocalS3, tmp_path: Path) -> None:
    _restic(store, tmp_path).init()
    wrong = "pw-" + secrets.token_hex(8)
    with pytest.raises(ResticError) as caught:
        _restic(store, tmp_path, password=wrong).snapshots()
    assert caught.value.kind == "wrong-password"
    assert caught.value.exit_code == 1
    assert wrong not in str(caught.value)
    assert store.credentials.secret_key not in str(caught.value)


def test_missing_repository_is_no_repository(store: LocalS3, tmp_path: Path) -> None:
    with pytest.raises(ResticError) as caught:
        _restic(store, tmp_path).snapshots()
    assert caught.value.kind == "no-repository"
    assert "pw-correct" not in str(caught.value)


@pytest.mark.slow  # restic 0.14 retries a refused connection for about 15 s
def test_unreachable_endpoint_is_unreachable(tmp_path: Path) -> None:
    restic = Restic(
        f"s3:http://127.0.0.1:{free_port()}/bucket/p",
        "pw",
        env={"AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "b"},
    )
    with pytest.raises(ResticError) as caught:
        restic.snapshots()
    assert caught.value.kind == "unreachable"


def test_locked_repository_and_lock_free_reads(store: LocalS3, tmp_path: Path) -> None:
    restic = _restic(store, tmp_path)
    restic.init()
    restic.backup(_data(tmp_path / "data", {"f": b"1"}), host="h")
    # `backup --stdin` holds its lock for as long as stdin stays open.
    holder = subprocess.Popen(
        [restic.binary, "backup", "--stdin", "--stdin-filename", "held"],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=restic._env(),
    )
    try:
        # Wait for its lock object, not a fixed time: the lock is a key under locks/.
        client = store.s3_client()
        prefix = f"{tmp_path.name}/locks/"
        for _ in range(200):
            if client.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("KeyCount"):
                break
            try:
                holder.wait(timeout=0.05)
            except subprocess.TimeoutExpired:
                pass
        with pytest.raises(ResticError) as caught:
            restic.prune()
        assert caught.value.kind == "locked"
        reader = _restic(store, tmp_path, read_only=True)
        assert len(reader.snapshots()) == 1
        assert "no errors were found" in reader.check()
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=60)


def test_read_only_refuses_every_write(store: LocalS3, tmp_path: Path) -> None:
    reader = _restic(store, tmp_path, read_only=True)
    for action in (
        reader.init,
        reader.prune,
        reader.unlock,
        lambda: reader.forget(keep_last=1),
        lambda: reader.backup(tmp_path, host="h"),
    ):
        with pytest.raises(RefusedDestructiveAction):
            action()


def test_no_secret_in_failure_messages(tmp_path: Path) -> None:
    # A stand-in binary that prints its environment's secrets, as a careless tool might.
    fake = tmp_path / "restic"
    fake.write_text(
        "#!/bin/sh\n"
        'echo "Fatal: boom $RESTIC_PASSWORD $AWS_SECRET_ACCESS_KEY args=$*" >&2\nexit 3\n'
    )
    fake.chmod(0o755)
    password, secret = "pw-" + secrets.token_hex(6), "sk-" + secrets.token_hex(6)
    restic = Restic(
        "s3:http://127.0.0.1:1/b/p",
        password,
        binary=str(fake),
        env={"AWS_SECRET_ACCESS_KEY": secret},
    )
    with pytest.raises(ResticError) as caught:
        restic.snapshots()
    message = str(caught.value)
    assert password not in message and secret not in message
    assert "*** ***" in message
    assert "args=snapshots --json" in message  # the password never rides in argv
    assert caught.value.exit_code == 3
    assert password not in repr(restic)


def test_environment_overrides_cannot_swap_the_password(
    store: LocalS3, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    restic = _restic(store, tmp_path)
    restic.init()
    other = tmp_path / "other-password"
    other.write_text("something else\n")
    monkeypatch.setenv("RESTIC_PASSWORD_FILE", str(other))
    assert restic.snapshots() == []

"""verify-backups against real restic repositories in the local S3 server.

One bucket holds one repository per situation (healthy, stale, corrupted, ...), made by
the real restic with backdated snapshots; the clock of the verification is injected.
"""

from __future__ import annotations

import argparse
import json
import secrets
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from restore_drill.commands import verify_backups as command
from restore_drill.errors import UsageError
from restore_drill.objectstore import LocalS3, free_port
from restore_drill.restic import Restic, SnapshotStats
from restore_drill.verify_backups import (
    AppCheck,
    AppResult,
    BackupVerifier,
    SecretSource,
    load_config,
    parse_duration,
    parse_retention,
    parse_size,
    render_json,
    render_table,
)
from restore_drill.verify_backups.checks import check_drift, check_freshness, check_retention

BUCKET = "volsync"
NOW = datetime(2026, 6, 1, 12, 40, tzinfo=UTC)
HOURLY = "0 * * * *"
PASSWORD_ENV = "VERIFY_TEST_RESTIC_PASSWORD"
# every repository shares one password: the wrong-password case uses another variable
PASSWORD = "restic-pw-" + secrets.token_hex(8)
WRONG_PASSWORD_ENV = "VERIFY_TEST_WRONG_PASSWORD"


def _hours_ago(*hours: int) -> list[datetime]:
    top = NOW.replace(minute=0)
    return [top - timedelta(hours=h) for h in sorted(hours, reverse=True)]


def _write_app_data(root: Path, *, rows: int = 400, extra_files: int = 5) -> None:
    root.mkdir(parents=True, exist_ok=True)
    with closing(sqlite3.connect(root / "home.db")) as db:
        db.execute("CREATE TABLE IF NOT EXISTS states (id INTEGER PRIMARY KEY, value TEXT)")
        db.executemany(
            "INSERT INTO states (value) VALUES (?)",
            [(f"state-{i}-" + "x" * 50,) for i in range(rows)],
        )
        db.commit()
    (root / "docs").mkdir(exist_ok=True)
    for index in range(extra_files):
        (root / "docs" / f"doc-{index}.txt").write_text(f"document {index}\n" * 20)


def _damage_sqlite(path: Path) -> None:
    # Garble the b-tree page headers (not the file header, so it still looks like SQLite).
    with path.open("r+b") as handle:
        for page in range(1, path.stat().st_size // 4096):
            handle.seek(page * 4096)
            handle.write(b"\x0d\xff\xff" + secrets.token_bytes(13))


@dataclass
class Fixture:
    store: LocalS3
    apps: dict[str, AppCheck]
    results: dict[str, AppResult]
    objects_before: dict[str, str]
    objects_after: dict[str, str]


def _data_pack_key(prefix: str, restic: Restic) -> str:
    """The object key of a pack holding file contents only. A missing tree pack makes
    restic 0.14 retry its load for about 90 s before `check` fails; a data pack fails
    at once, and `check --read-data` finds it all the same."""
    for index_id in restic.run("list", "index").stdout.split():
        index = json.loads(restic.run("cat", "index", index_id).stdout)
        for pack in index["packs"]:
            if all(blob["type"] == "data" for blob in pack["blobs"]):
                return f"{prefix}/data/{pack['id'][:2]}/{pack['id']}"
    raise AssertionError(f"{prefix}: no pack of file contents only")


def _objects(store: LocalS3) -> dict[str, str]:
    client = store.s3_client()
    found: dict[str, str] = {}
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET):
        for item in page.get("Contents", []):
            found[item["Key"]] = item["ETag"]
    return found


@pytest.fixture(scope="module")
def store(local_s3: LocalS3) -> LocalS3:
    local_s3.create_bucket(BUCKET)
    return local_s3


@pytest.fixture(scope="module")
def bucket(store: LocalS3, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fixture]:
    work = tmp_path_factory.mktemp("verify")
    mp = pytest.MonkeyPatch()
    mp.setenv(PASSWORD_ENV, PASSWORD)
    mp.setenv(WRONG_PASSWORD_ENV, "not-" + PASSWORD)

    def make(
        prefix: str,
        times: list[datetime],
        *,
        damage_last_db: bool = False,
        shrink_last: bool = False,
    ) -> Restic:
        restic = Restic(
            store.repository_url(BUCKET, prefix, in_cluster=False),
            PASSWORD,
            env=store.credentials.env(),
            cache_dir=work / "cache",
        )
        restic.init()
        data = work / prefix
        _write_app_data(data)
        for index, moment in enumerate(times):
            last = index == len(times) - 1
            if last and damage_last_db:
                _damage_sqlite(data / "home.db")
            if last and shrink_last:
                for doc in (data / "docs").iterdir():
                    doc.unlink()
                (data / "home.db").unlink()
            if index:
                (data / "docs" / f"run-{index}.txt").write_text(f"run {index}\n")
            restic.backup(data, host="volsync", time=moment)
        return restic

    def app(name: str, **changes: object) -> AppCheck:
        base = AppCheck(
            name=name,
            repository=store.repository_url(BUCKET, name, False),
            password=SecretSource(PASSWORD_ENV),
            schedule=HOURLY,
            retention={"hourly": 3, "daily": 1},
            read_data_subset="100%",
            must_exist=("home.db",),
        )
        return replace(base, **changes)  # type: ignore[arg-type]

    # Few repositories, each serving several cases: restic 0.14 spends ~1 s opening one.
    make("home-assistant", _hours_ago(2, 1, 0))
    make("shrunk", _hours_ago(4, 0), shrink_last=True)  # a gap in the hours, then a drop
    make("sqlite-damaged", _hours_ago(1, 0), damage_last_db=True)
    corrupted = {name: make(name, _hours_ago(0)) for name in ("pack-deleted", "pack-altered")}
    Restic(
        store.repository_url(BUCKET, "empty", False),
        PASSWORD,
        env=store.credentials.env(),
        cache_dir=work / "cache",
    ).init()

    client = store.s3_client()
    packs = {name: _data_pack_key(name, restic) for name, restic in corrupted.items()}
    client.delete_object(Bucket=BUCKET, Key=packs["pack-deleted"])
    altered_key = packs["pack-altered"]
    body = bytearray(client.get_object(Bucket=BUCKET, Key=altered_key)["Body"].read())
    body[len(body) // 2] ^= 0xFF
    client.put_object(Bucket=BUCKET, Key=altered_key, Body=bytes(body))

    healthy = app("home-assistant")
    only_open = {"restore": False, "read_data_subset": "0%", "retention": {}}
    apps = {
        "home-assistant": healthy,
        # the same healthy repository, five hours later: the clock is injected, not restic
        "stale": replace(healthy, name="stale", restore=False, read_data_subset="0%", retention={}),
        "retention": app(
            "retention",
            repository=store.repository_url(BUCKET, "shrunk", False),
            retention={"hourly": 6},
            restore=False,
            read_data_subset="0%",
        ),
        "shrunk": app("shrunk", must_exist=(), retention={}),
        "sqlite-damaged": app("sqlite-damaged", retention={}, read_data_subset="0%"),
        "pack-deleted": app("pack-deleted", retention={}),
        "pack-altered": app("pack-altered", retention={}),
        "empty": app("empty"),
        "wrong-password": replace(
            healthy, name="wrong-password", password=SecretSource(WRONG_PASSWORD_ENV)
        ),
        "missing": app("missing", **only_open),
        "unreachable": app(
            "unreachable", repository=f"s3:http://127.0.0.1:{free_port()}/{BUCKET}/x"
        ),
    }
    before = _objects(store)
    verifier = BackupVerifier(store.credentials, now=NOW, scratch_dir=work)
    later = BackupVerifier(store.credentials, now=NOW + timedelta(hours=5), scratch_dir=work)
    results = {
        name: (later if name == "stale" else verifier).verify(check) for name, check in apps.items()
    }
    after = _objects(store)
    yield Fixture(store, apps, results, before, after)
    mp.undo()


def _codes(result: AppResult, check: str) -> set[str]:
    return {f.code for f in result.findings if f.check == check and f.status == "fail"}


# --- one finding per situation ---------------------------------------------------------------


def test_healthy_repository_passes_every_check(bucket: Fixture) -> None:
    result = bucket.results["home-assistant"]
    assert result.passed, result.findings
    assert {f.check for f in result.findings} == {
        "open",
        "freshness",
        "retention",
        "integrity",
        "restorability",
    }
    assert all(f.status == "pass" for f in result.findings)
    assert result.snapshot_count == 3
    assert result.rpo_seconds == 40 * 60
    assert result.restore is not None
    assert result.restore.bytes > 0 and result.restore.bytes_per_second > 0


def test_stale_repository_fails_freshness(bucket: Fixture) -> None:
    result = bucket.results["stale"]
    assert not result.passed
    assert _codes(result, "freshness") == {"stale"}
    assert result.status_of("integrity") == "pass"  # the data itself is fine
    assert result.rpo_seconds == (5 * 60 + 40) * 60


@pytest.mark.parametrize("name", ["pack-deleted", "pack-altered"])
def test_corrupted_pack_fails_integrity(bucket: Fixture, name: str) -> None:
    result = bucket.results[name]
    assert _codes(result, "integrity") == {"check-failed"}
    assert result.status_of("freshness") == "pass"


def test_wrong_password_is_its_own_finding(bucket: Fixture) -> None:
    result = bucket.results["wrong-password"]
    assert _codes(result, "open") == {"wrong-password"}
    assert [f.check for f in result.findings] == ["open"]  # nothing else can be checked


def test_missing_repository_and_unreachable_endpoint_differ(bucket: Fixture) -> None:
    assert _codes(bucket.results["missing"], "open") == {"no-repository"}
    assert _codes(bucket.results["unreachable"], "open") == {"unreachable"}


def test_empty_repository_fails_as_empty(bucket: Fixture) -> None:
    result = bucket.results["empty"]
    assert result.status_of("open") == "pass"
    assert _codes(result, "freshness") == {"empty"}
    assert result.snapshot_count == 0
    assert result.restore is None


def test_retention_violation_fails_retention_only(bucket: Fixture) -> None:
    result = bucket.results["retention"]
    assert _codes(result, "retention") == {"retention"}
    assert result.status_of("freshness") == "pass"
    assert result.status_of("integrity") == "pass"


def test_damaged_sqlite_in_latest_snapshot_fails_restorability(bucket: Fixture) -> None:
    result = bucket.results["sqlite-damaged"]
    assert _codes(result, "restorability") == {"sqlite-damaged"}
    assert result.status_of("integrity") == "pass"  # restic stores the damage faithfully


def test_shrunk_snapshot_fails_drift(bucket: Fixture) -> None:
    assert "drift" in _codes(bucket.results["shrunk"], "restorability")


def test_verification_leaves_the_bucket_untouched(bucket: Fixture) -> None:
    assert bucket.objects_after == bucket.objects_before
    assert not any("/locks/" in key for key in bucket.objects_after)


# --- the rules, with any clock ---------------------------------------------------------------


def _rule_app(**changes: object) -> AppCheck:
    base = AppCheck(
        name="a",
        repository="s3:http://127.0.0.1:1/b/a",
        password=SecretSource("X"),
        schedule=HOURLY,
        retention={"hourly": 24, "daily": 7},
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def test_freshness_respects_the_slack() -> None:
    app = _rule_app(slack=timedelta(minutes=30))
    newest = [datetime(2026, 6, 1, 11, 0, 5, tzinfo=UTC)]
    # 12:20: the 12:00 run may still be running -> fresh; 12:31 -> it should have finished
    assert check_freshness(newest, app, datetime(2026, 6, 1, 12, 20, tzinfo=UTC)).status == "pass"
    late = check_freshness(newest, app, datetime(2026, 6, 1, 12, 31, tzinfo=UTC))
    assert (late.status, late.code) == ("fail", "stale")


def test_retention_flags_far_too_many_snapshots() -> None:
    app = _rule_app(retention={"daily": 2}, schedule="0 2 * * *")
    many = [NOW - timedelta(hours=h) for h in range(1, 30)]
    finding = check_retention(many, app, NOW)
    assert finding.status == "fail" and "forget" in finding.message


def test_retention_of_a_young_repository_expects_only_what_could_exist() -> None:
    app = _rule_app()  # 24 hourly + 7 daily, but the repository is 3 hours old
    finding = check_retention(_hours_ago(2, 1, 0), app, NOW)
    assert finding.status == "pass", finding.message


def test_drift_limits() -> None:
    before = SnapshotStats(total_size=1000, total_file_count=10)
    assert check_drift(SnapshotStats(1100, 11), before, 0.5) is None
    assert check_drift(SnapshotStats(100, 10), before, 0.5) is not None
    assert check_drift(SnapshotStats(100, 10), None, 0.5) is None


def test_parsers() -> None:
    assert parse_size("2GiB") == 2 * 1024**3 and parse_size("500MB") == 500_000_000
    assert parse_duration("1h30m") == timedelta(minutes=90)
    assert parse_retention("hourly=24,daily=7") == {"hourly": 24, "daily": 7}
    for bad in (
        lambda: parse_size("lots"),
        lambda: parse_duration("soon"),
        lambda: parse_retention("weekly=x"),
    ):
        with pytest.raises(UsageError):
            bad()


# --- configuration and command ---------------------------------------------------------------


def _config_file(tmp_path: Path, store: LocalS3, apps: list[dict[str, object]]) -> Path:
    path = tmp_path / "verify.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "endpoint": store.host_endpoint,
                "bucket": BUCKET,
                "defaults": {"password_env": PASSWORD_ENV, "read_data_subset": "100%"},
                "tiers": {"test": {"schedule": HOURLY, "retention": {"hourly": 3, "daily": 1}}},
                "apps": apps,
            }
        )
    )
    return path


def test_config_uses_the_users_tiers_by_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, store: LocalS3
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "a")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "b")
    path = _config_file(tmp_path, store, [{"name": "immich"}, {"name": "plex", "tier": "daily"}])
    config = load_config(path)
    immich, plex = config.apps
    assert immich.schedule == "0 * * * *" and immich.retention == {"hourly": 24, "daily": 7}
    assert plex.schedule == "0 2 * * *" and plex.retention == {"daily": 14}
    assert immich.repository == f"s3:{store.host_endpoint}/{BUCKET}/immich"


@pytest.mark.parametrize(
    "bad_app",
    [
        {"name": "x", "password": "literal"},
        {"name": "x", "tier": "nope"},
        {"name": "x", "schedule": "every hour"},
    ],
)
def test_config_rejects_mistakes(
    tmp_path: Path, store: LocalS3, bad_app: dict[str, object], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "a")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "b")
    with pytest.raises(UsageError):
        load_config(_config_file(tmp_path, store, [bad_app]))


def _args(**kw: object) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    command.add_arguments(parser)
    argv: list[str] = []
    for key, value in kw.items():
        flag = "--" + key.replace("_", "-")
        argv += [flag] if value is True else [flag, str(value)]
    return parser.parse_args(argv)


def test_command_over_several_apps_hides_every_secret(
    bucket: Fixture,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    store = bucket.store
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    monkeypatch.setenv(WRONG_PASSWORD_ENV, "not-" + PASSWORD)
    for key, value in store.credentials.env().items():
        monkeypatch.setenv(key, value)
    config = _config_file(
        tmp_path,
        store,
        [
            {"name": "home-assistant", "tier": "test"},
            {
                "name": "wrong",
                "prefix": "home-assistant",
                "tier": "test",
                "password_env": WRONG_PASSWORD_ENV,
            },
        ],
    )
    outputs = []
    for fmt in ("text", "json"):
        code = command.run(_args(config=config, format=fmt, scratch_dir=tmp_path), now=NOW)
        assert code == 1
        outputs.append(capsys.readouterr())
    text, as_json = outputs
    assert "home-assistant" in text.out and "PASS" in text.out and "FAIL" in text.out
    document = json.loads(as_json.out)
    verdicts = {app["app"]: app["verdict"] for app in document["apps"]}
    assert verdicts == {"home-assistant": "PASS", "wrong": "FAIL"}
    everything = text.out + text.err + as_json.out + as_json.err
    for secret in (PASSWORD, "not-" + PASSWORD, store.credentials.secret_key):
        assert secret not in everything


def test_one_repository_form_exits_zero_when_healthy(
    bucket: Fixture,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    for key, value in bucket.store.credentials.env().items():
        monkeypatch.setenv(key, value)
    args = _args(
        repository=bucket.apps["home-assistant"].repository,
        schedule=HOURLY,
        password_env=PASSWORD_ENV,
        retention="hourly=3",
        format="json",
        must_exist="home.db",
        max_restore_size="10MiB",
    )
    assert command.run(args, now=NOW) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["passed"] is True
    assert report["apps"][0]["restore"]["bytes_per_second"] > 0


def test_one_repository_form_needs_schedule_and_password_source() -> None:
    with pytest.raises(UsageError, match="--schedule"):
        command.run(_args(repository="s3:http://127.0.0.1:1/b/p", password_env="X"))
    with pytest.raises(UsageError, match="--password-env"):
        command.run(_args(repository="s3:http://127.0.0.1:1/b/p", schedule=HOURLY))
    with pytest.raises(SystemExit):  # a password on the command line is not even an option
        _args(repository="s3:http://127.0.0.1:1/b/p", password="secret")


@pytest.mark.slow  # two more full verifications
def test_size_cap_skips_the_restore_and_missing_paths_fail(bucket: Fixture, tmp_path: Path) -> None:
    healthy = bucket.apps["home-assistant"]
    verifier = BackupVerifier(
        bucket.store.credentials, now=NOW, scratch_dir=tmp_path, progress=lambda _line: None
    )
    capped = verifier.verify(replace(healthy, max_restore_bytes=10))
    assert capped.status_of("restorability") == "skip" and capped.restore is None
    missing = verifier.verify(replace(healthy, must_exist=("config/secrets.yaml",)))
    assert _codes(missing, "restorability") == {"missing-path"}
    assert list(tmp_path.iterdir()) == []  # scratch restores are cleaned up


def test_table_and_json_render_every_app(bucket: Fixture) -> None:
    results = list(bucket.results.values())
    table = render_table(results, NOW)
    for name in bucket.results:
        assert name in table
    assert "1 of 11 app(s) pass" in table
    assert json.loads(render_json(results, NOW))["passed"] is False

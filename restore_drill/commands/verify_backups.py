"""``restore-drill verify-backups``: check the real backups in S3, read-only, no cluster."""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from restore_drill.errors import UsageError
from restore_drill.verify_backups import (
    AppCheck,
    BackupVerifier,
    SecretSource,
    credentials_from,
    load_config,
    parse_duration,
    parse_retention,
    parse_size,
    render_json,
    render_table,
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--config", type=Path, help="YAML file listing the apps to verify")
    source.add_argument(
        "--repository",
        help="one repository, s3:http://HOST:PORT/BUCKET/PREFIX "
        "(S3 credentials from AWS_* variables)",
    )
    parser.add_argument("--schedule", help="cron schedule of the backups (with --repository)")
    secret = parser.add_mutually_exclusive_group()
    secret.add_argument(
        "--password-env", metavar="VAR", help="environment variable holding the restic password"
    )
    secret.add_argument(
        "--password-file", type=Path, metavar="FILE", help="file holding the restic password"
    )
    parser.add_argument("--name", help="app name shown in the report (with --repository)")
    parser.add_argument(
        "--retention",
        default="",
        help='expected retention, e.g. "hourly=24,daily=7" (with --repository)',
    )
    parser.add_argument("--slack", default="30m", help="grace after a scheduled run (default 30m)")
    parser.add_argument(
        "--read-data-subset",
        default="5%",
        help="share of data packs restic check reads (default 5%%)",
    )
    parser.add_argument(
        "--max-restore-size",
        default="2GiB",
        help="do not test-restore snapshots bigger than this (default 2GiB)",
    )
    parser.add_argument(
        "--must-exist",
        action="append",
        default=[],
        metavar="PATH",
        help="path that must exist in the restored snapshot (repeatable)",
    )
    parser.add_argument("--no-restore", action="store_true", help="skip the test restore")
    parser.add_argument(
        "--scratch-dir",
        type=Path,
        default=None,
        help="where test restores go (removed afterwards; default: temp dir)",
    )
    parser.add_argument(
        "--format", choices=("text", "json"), default="text", help="output format (default: text)"
    )


def _one_repository(args: argparse.Namespace) -> AppCheck:
    if not args.schedule:
        raise UsageError("--repository needs --schedule CRON")
    if not args.password_env and not args.password_file:
        raise UsageError("--repository needs --password-env VAR or --password-file FILE")
    name = args.name or args.repository.rstrip("/").rsplit("/", 1)[-1]
    return AppCheck(
        name=name,
        repository=args.repository,
        password=SecretSource(args.password_env, args.password_file),
        schedule=args.schedule,
        retention=parse_retention(args.retention),
        slack=parse_duration(args.slack),
        read_data_subset=args.read_data_subset,
        max_restore_bytes=parse_size(args.max_restore_size),
        must_exist=tuple(args.must_exist),
        restore=not args.no_restore,
    )


def _progress(line: str) -> None:
    print(f"verify-backups: {line}", file=sys.stderr, flush=True)


def run(args: argparse.Namespace, now: datetime | None = None) -> int:
    """Exit 0 when every app passes, 1 when any fails (usage errors raise -> 2)."""
    if args.config:
        config = load_config(args.config)
        apps, credentials = config.apps, config.credentials
        if args.no_restore:
            apps = tuple(replace(app, restore=False) for app in apps)
    else:
        apps, credentials = (_one_repository(args),), credentials_from({})
    checked_at = now or datetime.now(UTC)
    verifier = BackupVerifier(
        credentials, now=checked_at, scratch_dir=args.scratch_dir, progress=_progress
    )
    results = verifier.verify_all(apps)
    render = render_json if args.format == "json" else render_table
    sys.stdout.write(render(results, checked_at) + "\n")
    return 0 if all(result.passed for result in results) else 1

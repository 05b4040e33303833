"""``restore-drill data``: write a dataset, list it as a manifest, compare two of them.

restore-drill data write --profile paperless --seed 7 --size 64MiB DIR
restore-drill data manifest DIR > before.jsonl
restore-drill data diff before.jsonl DIR      (exit 0 identical, 1 different, 2 bad input)
restore-drill data diff before.jsonl DIR --json
restore-drill data check DIR                  (SQLite integrity_check)
"""

from __future__ import annotations

import argparse
import json
import sys

from restore_drill import data
from restore_drill.data.manifest import write_manifest


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="data_command", metavar="ACTION", required=True)
    write = sub.add_parser("write", help="write a deterministic dataset into an empty directory")
    write.add_argument("--profile", required=True, help=f"one of {', '.join(data.list_profiles())}")
    write.add_argument("--seed", type=int, default=1, help="same seed, same bytes (default 1)")
    write.add_argument("--size", help="e.g. 4MiB, 1GiB, 10GB (default: the profile's)")
    write.add_argument("directory")
    manifest = sub.add_parser("manifest", help="print a directory's manifest as JSON lines")
    manifest.add_argument("directory")
    diff = sub.add_parser("diff", help="compare two manifests (files or directories)")
    diff.add_argument("expected", help="manifest file or directory written before the backup")
    diff.add_argument("actual", help="manifest file or directory after the restore")
    diff.add_argument("--profile", help="apply this profile's policy (fields it ignores)")
    diff.add_argument("--limit", type=int, default=20, help="differences to list (default 20)")
    diff.add_argument("--json", action="store_true", help="print the verdict as JSON")
    check = sub.add_parser("check", help="app-level check: SQLite integrity_check on every db")
    check.add_argument("directory")


def run(args: argparse.Namespace) -> int:
    action = args.data_command
    if action == "write":
        profile = data.load_profile(args.profile)
        size = data.parse_size(args.size or str(profile.get("default_size", "4MiB")), "--size")
        summary = data.write_dataset(profile, args.seed, size, args.directory)
        print(json.dumps(summary, sort_keys=True))
        return 0
    if action == "manifest":
        write_manifest(data.manifest_lines(args.directory), sys.stdout)
        return 0
    if action == "check":
        problems = data.check_dataset(args.directory)
        for problem in problems:
            print(f"FAILED {problem}")
        print("ok" if not problems else f"{len(problems)} problem(s)")
        return 1 if problems else 0
    policy = data.Policy.from_profile(data.load_profile(args.profile)) if args.profile else None
    verdict = data.diff_manifests(
        data.load_manifest(args.expected), data.load_manifest(args.actual), policy
    )
    if args.json:
        print(json.dumps(verdict.as_dict(limit=args.limit), indent=2, sort_keys=True))
    else:
        print(verdict.summary(limit=args.limit))
    return 0 if verdict.ok else 1

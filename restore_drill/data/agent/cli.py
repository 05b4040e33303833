"""The command line: write, manifest, mark, check (``agent.py`` runs ``main``)."""

from __future__ import annotations

import argparse
import json
import os
import sys


def main(argv: list[str] | None = None, description: str = "restore-drill data agent") -> int:
    parser = argparse.ArgumentParser(prog="agent.py", description=description)
    sub = parser.add_subparsers(dest="command", required=True)
    write = sub.add_parser("write", help="write a dataset into an empty directory")
    write.add_argument("--profile-file", required=True, help="profile as JSON")
    write.add_argument("--seed", type=int, required=True)
    write.add_argument("--size", required=True, help="e.g. 4MiB, 1GiB, 10GB")
    listing = sub.add_parser("manifest", help="JSON lines: one header, one object per path")
    listing.add_argument("--workers", type=int, default=None, help="hashing threads (all cores)")
    for command in (write, listing, sub.add_parser("mark"), sub.add_parser("check")):
        command.add_argument("--root", required=True)
    args = parser.parse_args(argv)
    expected: tuple[type[Exception], ...] = (OSError, ValueError, KeyError)
    if args.command in ("write", "check"):  # only these use SQLite: manifest starts without it
        import sqlite3

        expected += (sqlite3.Error,)
    try:
        return run(args)
    except expected as exc:
        # SQLite words ENOSPC its own way: said as the OS says it, so one check finds both.
        full = type(exc).__module__ == "sqlite3" and "disk is full" in str(exc)
        why = f"[Errno 28] {os.strerror(28)} ({exc})" if full else str(exc)
        print(f"agent.py {args.command}: {type(exc).__name__}: {why}", file=sys.stderr)
        return 2


def run(args: argparse.Namespace) -> int:
    # Each command imports only what it uses: a manifest starts without sqlite3 or random.
    if args.command == "write":
        from .sizes import parse_size
        from .writer import write_dataset

        with open(args.profile_file) as source:
            profile = json.load(source)
        summary = write_dataset(args.root, profile, args.seed, parse_size(args.size))
        print(json.dumps(summary, sort_keys=True))
    elif args.command == "manifest":
        from .listing import manifest_lines

        write = sys.stdout.write
        for line in manifest_lines(args.root, workers=args.workers):
            write(line + "\n")
    elif args.command == "mark":
        from .tree import mark

        print(mark(args.root))
    else:
        from .check import check

        problems = check(args.root)
        for problem in problems:
            print(f"FAILED {problem}")
        print("ok" if not problems else f"{len(problems)} problem(s)")
        return 1 if problems else 0
    return 0

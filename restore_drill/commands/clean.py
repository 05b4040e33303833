"""``restore-drill clean``: remove what kept runs left running (their ``kept.json``).

Only what a run recorded as its own is removed: the kind cluster it created and the
object-store container it started (which must still carry the run label). Nothing else
is looked at, so clusters and containers of other tools, or of runs still going, stay.
"""

from __future__ import annotations

import argparse
import json
import subprocess
from pathlib import Path

from restore_drill.addons.commands import run_command
from restore_drill.backend import KEPT_FILE
from restore_drill.errors import DrillError
from restore_drill.objectstore.minio import RUN_LABEL

NAME = "clean"
HELP = "remove the clusters and object stores that kept runs left (see kept.json)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--out", type=Path, default=Path("runs"), help="the runs directory to look in"
    )
    parser.add_argument("--list", action="store_true", help="only list what would be removed")


def kept_records(out: Path) -> list[Path]:
    return sorted(out.glob(f"**/{KEPT_FILE}")) if out.is_dir() else []


def remove_kind_cluster(name: str) -> str:
    clusters = run_command(["kind", "get", "clusters"], timeout=60).stdout.split()
    if name not in clusters:
        return "already gone"
    run_command(["kind", "delete", "cluster", "--name", name], timeout=300)
    return "removed"


def remove_container(name: str) -> str:
    label = subprocess.run(
        ["docker", "inspect", "--format", f'{{{{index .Config.Labels "{RUN_LABEL}"}}}}', name],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    if label.returncode != 0:
        return "already gone"
    if label.stdout.strip() != name:
        return f"left alone: it does not carry {RUN_LABEL}={name}"
    subprocess.run(
        ["docker", "rm", "-f", "-v", name], capture_output=True, check=False, timeout=120
    )
    return "removed"


REMOVERS = {"kind_cluster": remove_kind_cluster, "container": remove_container}


def run(args: argparse.Namespace) -> int:
    records = kept_records(args.out)
    if not records:
        print(f"clean: nothing kept under {args.out}")
        return 0
    failed = 0
    for record in records:
        kept = json.loads(record.read_text())
        print(f"clean: {record}")
        for what, name in kept.items():
            if args.list or what not in REMOVERS:
                print(f"  {what} {name}" + ("" if args.list else ": unknown kind, left alone"))
                continue
            try:
                print(f"  {what} {name}: {REMOVERS[what](name)}")
            except DrillError as exc:
                failed += 1
                print(f"  {what} {name}: {exc}")
        if not args.list and not failed:
            record.unlink()
    return 1 if failed else 0

"""``restore-drill clean``: remove what kept runs left running (their ``kept.json``).

Only what a run recorded as its own is removed: the kind cluster it created and the
object-store container it started (which must still carry the run label). Nothing else
is looked at, so clusters and containers of other tools, or of runs still going, stay.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from restore_drill.addons.commands import run_command
from restore_drill.backend import KEPT_FILE
from restore_drill.clusters.kind import kind_cluster_exists, kind_delete_argv
from restore_drill.errors import DrillError
from restore_drill.objectstore import minio

NAME = "clean"
HELP = "remove the clusters and object stores that kept runs left (see kept.json)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--out", type=Path, default=Path("runs"), help="the runs directory to look in"
    )
    parser.add_argument("--list", action="store_true", help="only list what would be removed")


def kept_records(out: Path) -> list[Path]:
    return sorted(out.glob(f"**/{KEPT_FILE}")) if out.is_dir() else []


def remove_kind_cluster(name: str, kubeconfig: Path) -> str:
    if not kind_cluster_exists(name):
        return "already gone"
    # The run's own kubeconfig: kind must not edit the user's ~/.kube/config.
    run_command(kind_delete_argv(name, kubeconfig), timeout=300)
    return "removed"


def remove_container(name: str) -> str:
    label = minio.run_label(name)
    if label is None:
        return "already gone"
    if label != name:
        return f"left alone: it does not carry {minio.RUN_LABEL}={name}"
    minio.remove_container(name)
    return "removed"


def remove_kept(kept: dict[str, str]) -> list[str]:
    """Remove what one record names; a line per thing, saying what became of it."""
    done = []
    if "kind_cluster" in kept:
        name = kept["kind_cluster"]
        done.append(f"kind_cluster {name}: {remove_kind_cluster(name, Path(kept['kubeconfig']))}")
    if "container" in kept:
        done.append(f"container {kept['container']}: {remove_container(kept['container'])}")
    return done


def run(args: argparse.Namespace) -> int:
    records = kept_records(args.out)
    if not records:
        print(f"clean: nothing kept under {args.out}")
        return 0
    failed = 0
    for record in records:
        kept = json.loads(record.read_text())
        print(f"clean: {record}")
        if args.list:
            print("".join(f"  {what} {name}\n" for what, name in kept.items()), end="")
            continue
        try:
            print("".join(f"  {line}\n" for line in remove_kept(kept)), end="")
        except DrillError as exc:
            failed += 1  # the record stays, so a later clean can try again
            print(f"  {exc}")
            continue
        record.unlink()
    return 1 if failed else 0

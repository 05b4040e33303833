"""``restore-drill clean``: remove what kept runs left running (their ``kept.json``) and
what killed runs left behind (a ``running.json`` whose process is gone).

Only what a run recorded as its own is removed: the processes that carry its mark in
their environment (tools a killed run left running, such as a half-way `kind create`),
the kind cluster it created, the object-store container it started and the Docker network
that container made (both must still carry the run label). Nothing else is looked at, so
clusters and containers of other tools, or of runs still going, stay.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
from pathlib import Path

from restore_drill.addons.commands import run_command
from restore_drill.backend import KEPT_FILE, RUN_MARK, RUNNING_FILE
from restore_drill.clusters.kind import kind_cluster_exists, kind_delete_argv
from restore_drill.errors import DrillError, UsageError
from restore_drill.objectstore import minio


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--out", type=Path, default=Path("runs"), help="the runs directory to look in"
    )
    parser.add_argument("--list", action="store_true", help="only list what would be removed")
    parser.add_argument(
        "--kept", action="store_true", help="remove what every kept run left running, too"
    )
    parser.add_argument(
        "runs",
        nargs="*",
        metavar="RUN",
        help="a kept run to remove, by its directory name under --out (run-..., pytest-...)",
    )


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def kept_records(out: Path) -> list[Path]:
    """Kept runs' records, and the records of runs whose process is gone (killed)."""
    if not out.is_dir():
        return []
    kept = list(out.glob(f"**/{KEPT_FILE}"))
    for path in out.glob(f"**/{RUNNING_FILE}"):
        try:
            pid = int(json.loads(path.read_text()).get("pid", 0))
        except (OSError, ValueError, AttributeError):
            continue
        if pid and not process_alive(pid):
            kept.append(path)
    return sorted(kept)


def leftovers_notice(out: Path) -> str | None:
    """One line for the start of a run when earlier runs left things behind."""
    records = kept_records(out)
    if not records:
        return None
    return (
        f"restore-drill: {len(records)} earlier run(s) under {out} left a cluster or object "
        "store behind (kept, or killed); 'restore-drill clean --list' shows them"
    )


def marked_processes(mark: str, proc: Path = Path("/proc")) -> list[int] | None:
    """The processes whose environment carries the run's mark (None: no /proc here)."""
    if not proc.is_dir():
        return None
    needle = f"{RUN_MARK}={mark}".encode()
    found = []
    for entry in proc.iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if needle in (entry / "environ").read_bytes().split(b"\0"):
                found.append(int(entry.name))
        except OSError:  # gone meanwhile, or another user's
            continue
    return found


def stop_processes(mark: str, proc: Path = Path("/proc")) -> str:
    """SIGKILL the processes that carry the run's mark (first: a tool still at work, such
    as a half-way `kind create`, would go on making what the rest of clean removes)."""
    found = marked_processes(mark, proc)
    if found is None:
        return "not looked for (no /proc here)"
    killed = 0
    for pid in found:
        try:
            os.kill(pid, signal.SIGKILL)
            killed += 1
        except ProcessLookupError:
            pass
    return f"{killed} stopped" if killed else "none left"


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


def remove_network(name: str, owner: str) -> str:
    """A Docker network the run's object store created, once nothing uses it."""
    label = minio.run_label(name, "network")
    if label is None:
        return "already gone"
    if label != owner:
        return f"left alone: it does not carry {minio.RUN_LABEL}={owner}"
    # Another run's cluster or store may have joined it since (kind adopts the network).
    inspect = ["docker", "network", "inspect", "--format", "{{range .Containers}}{{.Name}} {{end}}"]
    users = run_command([*inspect, name], timeout=60).stdout.split()
    if users:
        return f"left in place: still used by {', '.join(sorted(users))}"
    run_command(["docker", "network", "rm", name], timeout=60)
    return "removed"


def remove_kept(kept: dict[str, str]) -> list[str]:
    """Remove what one record names; a line per thing, saying what became of it."""
    done = []
    if "processes" in kept:
        done.append(f"processes marked {kept['processes']}: {stop_processes(kept['processes'])}")
    if "kind_cluster" in kept:
        name = kept["kind_cluster"]
        done.append(f"kind_cluster {name}: {remove_kind_cluster(name, Path(kept['kubeconfig']))}")
    if "container" in kept:
        done.append(f"container {kept['container']}: {remove_container(kept['container'])}")
    if "network" in kept:  # last: the cluster's nodes and the store were attached to it
        owner = kept.get("container", "")
        done.append(f"network {kept['network']}: {remove_network(kept['network'], owner)}")
    return done


def run_name(out: Path, record: Path) -> str:
    """The run a record belongs to: its directory right under ``out``."""
    return record.relative_to(out).parts[0]


def run(args: argparse.Namespace) -> int:
    records = kept_records(args.out)
    if not records:
        print(f"clean: nothing kept or left behind under {args.out}")
        return 0
    unknown = sorted(set(args.runs) - {run_name(args.out, r) for r in records})
    if unknown:
        raise UsageError(f"clean: no kept or killed run {', '.join(unknown)} under {args.out}")
    failed = 0
    for record in records:
        kept = {k: str(v) for k, v in json.loads(record.read_text()).items() if k != "pid"}
        name = run_name(args.out, record)
        # A killed run's leftovers are nobody's; a kept run was kept on purpose.
        chosen = record.name == RUNNING_FILE or args.kept or name in args.runs
        print(f"clean: {record}{'' if chosen else ' (kept: named, or --kept, to remove)'}")
        if args.list or not chosen:
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

"""The sim's restic mover: what VolSync's ``mover-restic/entry.sh`` does, in Python.

Run as the command of a mover Job's pod (``python3 -m restore_drill.clusters.sim.mover
backup``), with the environment VolSync's controller gives its mover container
(``DATA_DIR``, ``RESTIC_CACHE_DIR``, ``FORGET_OPTIONS``, ``RESTORE_AS_OF``,
``SELECT_PREVIOUS``, ``PRIVILEGED_MOVER`` and the repository Secret's keys). The arguments are
the operations in order (``unlock``, ``backup``, ``prune``, ``restore``), as in VolSync.
Every operation runs the real ``restic`` binary; its output goes to stdout, which the pod
log serves and the controller filters into ``status.latestMoverStatus.logs``.

Where restic 0.14 lacks a flag the real mover passes (``--include-xattr``, ``--delete``, both
from restic 0.17), the mover says so in its log and does the equivalent: 0.14 restores every
extended attribute anyway, and ``--delete`` is done by removing what the snapshot lacks.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from restore_drill.errors import ResticError
from restore_drill.restic import Restic

RESTIC_HOST = "volsync"  # the real mover forces this host name on every snapshot
MANDATORY = (
    "PRIVILEGED_MOVER",
    "RESTIC_CACHE_DIR",
    "RESTIC_PASSWORD",
    "RESTIC_REPOSITORY",
    "DATA_DIR",
)
NOT_A_REPOSITORY = "Is there a repository at the following location"
CHECK_TIMEOUT = 10.0  # entry.sh wraps `restic cat config` in `timeout 10s`
TIMEOUT_RC = 124


class MoverExit(Exception):
    """Ends the mover with an exit code (entry.sh's ``error rc "message"``)."""

    def __init__(self, code: int, message: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Snapshot:
    id: str
    time: datetime


def _say(text: str) -> None:
    print(text, flush=True)


class Mover:
    """One run of the mover: ``run(["backup"])`` or ``run(["restore"])``."""

    def __init__(self, env: Mapping[str, str], binary: str = "restic") -> None:
        self.env = dict(env)
        self.binary = binary
        self.data_dir = Path(self.env.get("DATA_DIR", ""))

    # --- restic ------------------------------------------------------------------------

    def restic(
        self, *args: str, capture: bool = False, timeout: float | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run restic with the mover's environment; uncaptured output goes to the log."""
        runner = Restic(
            self.env.get("RESTIC_REPOSITORY", ""),
            self.env.get("RESTIC_PASSWORD", ""),
            env=self.env,
            binary=self.binary,
        )
        if self.env.get("CUSTOM_CA"):
            args = ("--cacert", self.env["CUSTOM_CA"], *args)
        try:
            done = runner.run(
                *args,
                cwd=self.data_dir if self.data_dir.is_dir() else None,
                timeout=timeout,
                check=False,
            )
        except ResticError as exc:  # ran past the timeout (entry.sh's `timeout` gives 124)
            done = subprocess.CompletedProcess([self.binary, *args], TIMEOUT_RC, "", str(exc))
        if not capture:
            sys.stdout.write(runner.redact(done.stdout + done.stderr))
            sys.stdout.flush()
        return done

    def restic_or_fail(self, *args: str) -> None:
        # entry.sh runs with `set -e`: a failing restic command ends the mover with its rc
        done = self.restic(*args)
        if done.returncode != 0:
            raise MoverExit(done.returncode)

    def version(self) -> tuple[int, ...]:
        done = self.restic("version", capture=True)
        _say(done.stdout.strip())
        try:
            return tuple(int(part) for part in done.stdout.split()[1].split("."))
        except (IndexError, ValueError):
            return (0,)

    # --- operations (entry.sh's functions, same order and messages) ---------------------

    def check_contents(self) -> bool:
        _say("== Checking directory for content ===")
        entries = [p for p in os.listdir(self.data_dir) if p != "lost+found"]
        if not entries:
            _say("== Directory is empty skipping backup ===")
            return False
        return True

    def ensure_initialized(self) -> None:
        _say("=== Check for dir initialized ===")
        done = self.restic("cat", "config", capture=True, timeout=CHECK_TIMEOUT)
        if done.returncode == 0:
            _say("dir is initialized")
            return
        output = done.stderr or ""
        # restic 0.14 has no exit code 10/11/12: the message tells a missing repository
        # apart; wrong credentials also print it, and then `restic init` fails too.
        if done.returncode in (1, 10, TIMEOUT_RC) and (
            done.returncode == 10 or NOT_A_REPOSITORY in output
        ):
            _say("=== Initialize Dir ===")
            self.restic_or_fail("init")
            return
        sys.stdout.write(output)
        if done.returncode == 12 or "wrong password" in output:
            raise MoverExit(3, "failure connecting to repository, incorrect password")
        if done.returncode == 11:
            raise MoverExit(3, "failure locking repository")
        raise MoverExit(3, "failure checking existence of repository")

    def do_backup(self) -> None:
        _say("=== Starting backup ===")
        _say(str(self.data_dir))
        self.restic_or_fail("backup", "--host", RESTIC_HOST, "--exclude=lost+found", ".")

    def do_forget(self) -> None:
        _say("=== Starting forget ===")
        options = self.env.get("FORGET_OPTIONS", "")
        if options.strip():
            self.restic_or_fail("forget", "--host", RESTIC_HOST, *shlex.split(options))

    def do_unlock(self) -> None:
        _say("=== Starting unlock ===")
        done = self.restic("unlock", capture=True)
        if done.returncode == 0:
            return
        sys.stdout.write(done.stderr or "")
        if NOT_A_REPOSITORY in (done.stderr or ""):
            _say("No repo, ignoring unlock error")
            return
        raise MoverExit(3, "failure unlocking repository")

    def do_prune(self) -> None:
        _say("=== Starting prune ===")
        self.restic_or_fail("prune")

    def list_snapshots(self) -> list[Snapshot]:
        done = self.restic("snapshots", "--json", capture=True)
        if done.returncode != 0:
            sys.stdout.write(done.stderr or "")
            raise MoverExit(3, "failure getting list of snapshots from repository")
        listed = json.loads(done.stdout or "[]")
        return [Snapshot(item["id"], parse_time(item["time"])) for item in listed]

    def do_restore(self, restic_version: tuple[int, ...]) -> None:
        _say("=== Starting restore ===")
        chosen = select_snapshot(
            self.list_snapshots(),
            restore_as_of=self.env.get("RESTORE_AS_OF", ""),
            previous=int(self.env.get("SELECT_PREVIOUS") or 0),
        )
        if chosen is None:
            _say("No eligible snapshots found")
            _say("=== No data will be restored ===")
            return
        options = shlex.split(self.env.get("RESTORE_OPTIONS", ""))
        if options:
            _say(f"RESTORE_OPTIONS: {' '.join(options)}")
        _say(str(self.data_dir))
        _say(f"Selected restic snapshot with id: {chosen.id}")
        modern = restic_version >= (0, 17)
        delete = "--delete" in options
        args = ["restore", chosen.id, "-t", ".", "--host", RESTIC_HOST]
        if modern:
            args += ["--include-xattr", "user.*", *options]
        else:
            _say(
                f"restic {'.'.join(map(str, restic_version))} lacks --include-xattr "
                "(it restores every xattr) and --delete (done after the restore)"
            )
            args += [option for option in options if option != "--delete"]
        self.restic_or_fail(*args)
        if delete and not modern:
            self.delete_extra_files(chosen.id)

    def delete_extra_files(self, snapshot_id: str) -> None:
        """What ``restic restore --delete`` does: remove what the snapshot does not hold."""
        done = self.restic("ls", "--json", snapshot_id, capture=True)
        if done.returncode != 0:
            raise MoverExit(done.returncode)
        kept: set[str] = set()
        for line in done.stdout.splitlines():
            item = json.loads(line)
            if item.get("struct_type") == "node":
                kept.add(item["path"].lstrip("/"))
        removed = remove_paths_not_in(self.data_dir, kept)
        _say(f"Deleted {removed} entries not in the snapshot")

    # --- the script --------------------------------------------------------------------

    def run(self, operations: Sequence[str]) -> int:
        _say("Starting container")
        _say("VolSync restic container version: sim")
        _say(" ".join(operations))
        try:
            restic_version = self.version()
            _say("Testing mandatory env variables")
            for name in MANDATORY:
                if not self.env.get(name):
                    raise MoverExit(1, f"{name} must be defined")
            if not self.data_dir.is_dir():
                raise MoverExit(1, f"DATA_DIR {self.data_dir} is not a directory")
            start = time.monotonic()
            for operation in operations:
                if operation == "unlock":
                    self.do_unlock()
                elif operation == "backup":
                    if not self.check_contents():
                        return 0  # entry.sh exits 0 here: no snapshot is made
                    self.ensure_initialized()
                    self.do_backup()
                    self.do_forget()
                elif operation == "prune":
                    self.do_prune()
                elif operation == "restore":
                    self.ensure_initialized()
                    self.do_restore(restic_version)
                    os.sync()
                else:
                    raise MoverExit(2, f"unknown operation: {operation}")
        except MoverExit as exc:
            if exc.message:
                _say(f"ERROR: {exc.message}")
            return exc.code
        _say(f"Restic completed in {round(time.monotonic() - start)}s")
        _say("=== Done ===")
        return 0


def parse_time(text: str) -> datetime:
    """A restic or RFC 3339 time, trimmed to whole seconds as entry.sh does."""
    text = text.strip().replace("Z", "+00:00")
    if "." in text:
        head, _, tail = text.partition(".")
        zone = next((i for i, ch in enumerate(tail) if ch in "+-"), len(tail))
        text = head + tail[zone:]
    parsed = datetime.fromisoformat(text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def select_snapshot(
    snapshots: Sequence[Snapshot], *, restore_as_of: str = "", previous: int = 0
) -> Snapshot | None:
    """Newest first; skip those after ``restore_as_of``; then skip ``previous`` more."""
    ordered = sorted(snapshots, key=lambda s: s.time, reverse=True)
    offset = 0
    if restore_as_of:
        target = parse_time(restore_as_of)
        while offset < len(ordered) and ordered[offset].time > target:
            offset += 1
    offset += max(previous, 0)
    return ordered[offset] if offset < len(ordered) else None


def remove_paths_not_in(root: Path, kept: set[str]) -> int:
    """Remove entries under ``root`` whose relative path is not in ``kept``; count them."""
    removed = 0
    for dirpath, dirnames, filenames in os.walk(root, topdown=True):
        base = Path(dirpath)
        for name in list(dirnames):
            relative = (base / name).relative_to(root).as_posix()
            if relative == "lost+found":
                dirnames.remove(name)
            elif relative not in kept:
                path = base / name
                if path.is_symlink():
                    path.unlink()
                else:
                    shutil.rmtree(path)
                dirnames.remove(name)
                removed += 1
        for name in filenames:
            if (base / name).relative_to(root).as_posix() not in kept:
                (base / name).unlink()
                removed += 1
    return removed


def main(argv: Sequence[str] | None = None) -> int:
    operations = list(sys.argv[1:] if argv is None else argv)
    return Mover(os.environ).run(operations)


if __name__ == "__main__":
    sys.exit(main())

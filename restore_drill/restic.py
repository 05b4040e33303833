"""The real ``restic`` binary, run as a child process, with failures sorted by cause.

The password travels only in the child's environment (``RESTIC_PASSWORD``), never in argv,
and every message this module builds has the password and the S3 secret masked.
restic 0.14 exits 1 for almost everything (codes 10/11/12 arrived in 0.17), so the cause is
read from the exit code when there is one and from the message otherwise.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import subprocess
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from restore_drill.errors import RefusedDestructiveAction, ResticError

log = logging.getLogger(__name__)

MASK = "***"
NO_REPOSITORY_CODE = 10  # restic >= 0.17
LOCKED_CODE = 11
WRONG_PASSWORD_CODE = 12

# Checked in this order: an unreachable endpoint also prints "Is there a repository ...".
_CAUSES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("wrong-password", ("wrong password or no key found", "incorrect password")),
    # What an S3 store that checks keys and signatures (MinIO, RustFS) answers to wrong ones.
    (
        "access-denied",
        (
            "access key id you provided does not exist",
            "signature we calculated does not match",
            "signaturedoesnotmatch",
            "invalidaccesskeyid",
            "access denied",
        ),
    ),
    ("locked", ("repository is already locked", "unable to create lock")),
    ("disk-full", ("no space left on device",)),
    (
        "unreachable",
        (
            "dial tcp",
            "connection refused",
            "no such host",
            "i/o timeout",
            "connection reset",
            "tls handshake timeout",
            "context deadline exceeded",
            "network is unreachable",
        ),
    ),
    (
        "no-repository",
        (
            "is there a repository at the following location",
            "unable to open config file",
            "repository does not exist",
            "the specified bucket does not exist",
        ),
    ),
)
_CODES = {
    NO_REPOSITORY_CODE: "no-repository",
    LOCKED_CODE: "locked",
    WRONG_PASSWORD_CODE: "wrong-password",
}
# Variables that would make restic read another password or repository than ours.
_OVERRIDING = ("RESTIC_PASSWORD_FILE", "RESTIC_PASSWORD_COMMAND", "RESTIC_REPOSITORY_FILE")
_MUTATING = frozenset(
    {
        "init",
        "backup",
        "forget",
        "prune",
        "unlock",
        "rebuild-index",
        "tag",
        "key",
        "migrate",
        "copy",
        "repair",
    }
)


# Each kind in words, for reports.
CAUSES_IN_WORDS = {
    "wrong-password": "wrong restic password",
    "access-denied": "the object store refused the S3 keys",
    "locked": "the repository is locked",
    "disk-full": "the volume filled up (no space left on device)",
    "unreachable": "the object store did not answer",
    "no-repository": "no repository at that path",
    "failed": "see the log",
}


def classify(exit_code: int | None, output: str) -> str:
    """The failure kind: no-repository, wrong-password, access-denied, locked, disk-full,
    unreachable or failed."""
    if exit_code in _CODES:
        return _CODES[exit_code]
    text = output.lower()
    for kind, needles in _CAUSES:
        if any(needle in text for needle in needles):
            return kind
    return "failed"


@dataclass(frozen=True)
class SnapshotStats:
    """What restoring a snapshot would write (``restic stats --mode restore-size``)."""

    total_size: int
    total_file_count: int


def parse_time(value: str) -> datetime:
    """restic's snapshot time (RFC 3339 with nanoseconds) as an aware datetime."""
    match = re.match(r"(.*T\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)$", value)
    if not match:
        raise ValueError(f"not a restic time: {value!r}")
    base, fraction, zone = match.groups()
    micros = (fraction or ".0")[1:7].ljust(6, "0")
    zone = "+00:00" if zone == "Z" else zone
    return datetime.fromisoformat(f"{base}.{micros}{zone}").astimezone(UTC)


class Restic:
    """One restic repository, driven through the ``restic`` binary.

    ``read_only=True`` adds ``--no-lock`` to every read and refuses every command that
    writes to the repository (backup, forget, prune, unlock, ...).
    """

    def __init__(
        self,
        repository: str,
        password: str,
        *,
        env: Mapping[str, str] | None = None,
        binary: str = "restic",
        cache_dir: Path | None = None,
        read_only: bool = False,
    ) -> None:
        self.repository = repository
        self._password = password
        self._extra_env = dict(env or {})
        self.binary = binary
        self.cache_dir = cache_dir
        self.read_only = read_only

    def __repr__(self) -> str:
        return f"Restic({self.repository!r}, read_only={self.read_only})"

    # --- running -------------------------------------------------------------------------

    def _env(self) -> dict[str, str]:
        env = {**os.environ, **self._extra_env}
        for name in _OVERRIDING:
            env.pop(name, None)
        env["RESTIC_REPOSITORY"] = self.repository
        env["RESTIC_PASSWORD"] = self._password
        if self.cache_dir is not None:
            env["RESTIC_CACHE_DIR"] = str(self.cache_dir)
        return env

    def _secrets(self) -> list[str]:
        values = [
            self._password,
            self._extra_env.get("AWS_SECRET_ACCESS_KEY", ""),
            os.environ.get("AWS_SECRET_ACCESS_KEY", ""),
        ]
        return [value for value in values if value]

    def redact(self, text: str) -> str:
        """``text`` with the password and the S3 secret masked."""
        for secret in sorted(self._secrets(), key=len, reverse=True):
            text = text.replace(secret, MASK)
        return text

    def run(
        self,
        *args: str,
        cwd: Path | str | None = None,
        timeout: float | None = None,
        check: bool = True,
        extra_env: Mapping[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run ``restic ARGS``; on failure (``check``) raise a classified :class:`ResticError`."""
        command = args[0] if args else ""
        if self.read_only and command in _MUTATING:
            raise RefusedDestructiveAction(f"restic {command} refused: repository is read-only")
        argv = [self.binary, *(["--no-lock"] if self.read_only else []), *args]
        log.debug("restic %s (%s)", " ".join(args), self.repository)
        try:
            done = subprocess.run(
                argv,
                cwd=cwd,
                env={**self._env(), **(extra_env or {})},
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
        except FileNotFoundError:
            raise ResticError(f"restic binary not found: {self.binary}", kind="failed") from None
        except subprocess.TimeoutExpired:
            raise ResticError(
                f"restic {command} on {self.repository} ran past {timeout:.0f}s",
                kind="failed",
            ) from None
        if check and done.returncode != 0:
            raise self.error(command, done.returncode, done.stderr + done.stdout)
        return done

    def start(self, *args: str) -> subprocess.Popen[bytes]:
        """Start ``restic -v ARGS`` in its own process group, stdin and output piped (for a
        caller that acts on what restic says while it runs)."""
        if self.read_only and args and args[0] in _MUTATING:
            raise RefusedDestructiveAction(f"restic {args[0]} refused: repository is read-only")
        try:
            return subprocess.Popen(
                [self.binary, "-v", *args],
                env=self._env(),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        except FileNotFoundError:
            raise ResticError(f"restic binary not found: {self.binary}", kind="failed") from None

    def error(self, command: str, exit_code: int | None, output: str) -> ResticError:
        """A :class:`ResticError` for a failed command, its message masked and short."""
        kind = classify(exit_code, output)
        lines = [line.strip() for line in self.redact(output).splitlines() if line.strip()]
        fatal = [line for line in lines if line.lower().startswith(("fatal", "error"))]
        detail = "; ".join((fatal or lines)[-3:]) or "no output"
        return ResticError(
            f"restic {command} failed ({kind}, exit {exit_code}): {detail}",
            kind=kind,
            exit_code=exit_code,
        )

    @staticmethod
    def version(binary: str = "restic") -> str:
        """The binary's version, e.g. ``"0.14.0"``."""
        path = shutil.which(binary) or binary
        try:
            out = subprocess.run(
                [path, "version"], capture_output=True, text=True, timeout=30, check=True
            ).stdout
        except (OSError, subprocess.SubprocessError) as exc:
            raise ResticError(f"cannot run {binary} version: {type(exc).__name__}") from None
        match = re.search(r"restic (\d+\.\d+\.\d+)", out)
        if not match:
            raise ResticError(f"unexpected `restic version` output: {out.strip()[:80]}")
        return match.group(1)

    # --- repository ----------------------------------------------------------------------

    def init(self) -> None:
        self.run("init")

    def repository_exists(self) -> bool:
        """True if the repository opens; False if there is none. Other failures raise."""
        try:
            self.run("cat", "config", timeout=120)
        except ResticError as exc:
            if exc.kind == "no-repository":
                return False
            raise
        return True

    def ensure_repository(self) -> bool:
        """Create the repository when missing; True if it was created now."""
        if self.repository_exists():
            return False
        self.init()
        return True

    def snapshots(self, host: str | None = None) -> list[dict[str, Any]]:
        """Snapshots, oldest first, as restic's JSON objects (``time`` left as text)."""
        args = ["snapshots", "--json", *(["--host", host] if host else [])]
        found = json.loads(self.run(*args).stdout or "[]")
        return sorted(found or [], key=lambda snap: parse_time(snap["time"]))

    def stats(self, snapshot_id: str) -> SnapshotStats:
        out = json.loads(self.run("stats", "--json", "--mode", "restore-size", snapshot_id).stdout)
        return SnapshotStats(int(out.get("total_size", 0)), int(out.get("total_file_count", 0)))

    def ls(self, snapshot_id: str) -> list[dict[str, Any]]:
        """Every node of a snapshot (``restic ls --json``), paths as restore writes them."""
        nodes = []
        for line in self.run("ls", "--json", snapshot_id).stdout.splitlines():
            item = json.loads(line)
            if item.get("struct_type") == "node":
                nodes.append(item)
        return nodes

    # --- writing -------------------------------------------------------------------------

    def backup(
        self,
        directory: Path | str,
        *,
        host: str,
        excludes: Iterable[str] = ("lost+found",),
        time: datetime | None = None,
    ) -> str:
        """Back ``directory`` up as ``.`` (as VolSync's mover does); returns the snapshot id.

        ``time`` backdates the snapshot (tests of age and retention use it).
        """
        args = ["backup", "--json", "--host", host, *[f"--exclude={e}" for e in excludes]]
        env: dict[str, str] = {}
        if time is not None:
            # restic reads --time in the local zone: pin the zone so the instant is exact.
            args += ["--time", time.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")]
            env["TZ"] = "UTC"
        done = self.run(*args, ".", cwd=directory, extra_env=env)
        for line in reversed(done.stdout.splitlines()):
            try:
                message = json.loads(line)
            except json.JSONDecodeError:
                continue
            if message.get("message_type") == "summary":
                return str(message.get("snapshot_id", ""))
        return ""

    def forget(self, **keep: int | str | bool) -> None:
        """``restic forget`` with ``keep_hourly=24`` style options (``True`` = bare flag)."""
        args = ["forget"]
        for name, value in keep.items():
            flag = "--" + name.replace("_", "-")
            if value is True:
                args.append(flag)
            elif value is not False:
                args += [flag, str(value)]
        self.run(*args)

    def prune(self) -> None:
        self.run("prune")

    def unlock(self, *, remove_all: bool = False) -> None:
        """Remove stale locks; ``remove_all`` removes every lock, fresh ones too."""
        self.run("unlock", *(["--remove-all"] if remove_all else []))

    # --- checking and restoring ----------------------------------------------------------

    def check(self, read_data_subset: str | float | None = None) -> str:
        """``restic check``; ``read_data_subset`` as ``"10%"``, ``"1/5"`` or a fraction."""
        args = ["check"]
        if read_data_subset is not None:
            args += ["--read-data-subset", subset_argument(read_data_subset)]
        return self.run(*args).stdout

    def restore(
        self,
        snapshot_id: str,
        target: Path | str,
        *,
        host: str | None = None,
        delete: bool = False,
        timeout: float | None = None,
    ) -> None:
        """Restore a snapshot into ``target``.

        ``delete`` removes what the snapshot lacks; restic 0.14 has no ``--delete`` (0.17
        does), so the snapshot's listing decides what to remove.
        """
        args = ["restore", snapshot_id, "--target", str(target)]
        if host:
            args += ["--host", host]
        self.run(*args, timeout=timeout)
        if delete:
            self._remove_extra(snapshot_id, Path(target), host)

    def _remove_extra(self, snapshot_id: str, target: Path, host: str | None) -> None:
        ref = snapshot_id
        if snapshot_id == "latest":
            snaps = self.snapshots(host)
            ref = snaps[-1]["id"] if snaps else snapshot_id
        keep = {node["path"].lstrip("/") for node in self.ls(ref)}
        for path in sorted(target.rglob("*"), key=lambda p: len(p.parts), reverse=True):
            relative = path.relative_to(target).as_posix()
            if relative in keep:
                continue
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()


def subset_argument(value: str | float) -> str:
    """``--read-data-subset`` text from ``"10%"``, ``"1/5"`` or a fraction like ``0.1``."""
    if isinstance(value, str):
        return value
    if not 0 < value <= 1:
        raise ValueError(f"read-data-subset fraction must be in (0, 1]: {value}")
    return f"{value * 100:g}%"

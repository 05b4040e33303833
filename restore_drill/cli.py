"""The ``restore-drill`` command: a thin dispatcher over ``restore_drill.commands``.

Each subcommand is a small module there with ``add_arguments(parser)`` and
``run(args) -> int``; its options live beside it, its name and help in ``COMMANDS``.
"""

from __future__ import annotations

import argparse
import errno
import importlib
import os
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from types import FrameType, ModuleType
from typing import Any

from restore_drill import __version__
from restore_drill.errors import DrillError, Terminated, UsageError

# Each command: its module under restore_drill.commands and its help, in --help order.
# The help lives here, not in the module: --help lists every command without importing
# any (their imports are the Kubernetes client, the scenarios, the linter).
COMMANDS = {
    "list": (
        "list_scenarios",
        "list the scenarios with their recovery-time targets, backends and expected outcomes",
    ),
    "run": (
        "run",
        "run one scenario (or all) on a cluster backend and write result.json files",
    ),
    "selftest": (
        "selftest",
        "show that the drill's checks catch each kind of broken restore, on this cluster",
    ),
    "doctor": (
        "doctor",
        "explain which cluster backends (kind, existing) can run here and why not",
    ),
    "data": (
        "data",
        "write checksummed datasets, list them as manifests, compare manifests exactly",
    ),
    "lint": (
        "lint",
        "audit a GitOps repository's VolSync backup and restore configuration (no cluster needed)",
    ),
    "verify-backups": (
        "verify_backups",
        "verify restic backups in S3: freshness vs schedule, retention, restic check, "
        "test restore (read-only)",
    ),
    "images": (
        "images",
        "build (or list) the offline image set: kind node, addons, VolSync, MinIO, agent",
    ),
    "cluster": (
        "cluster",
        "bring a kind cluster with every addon and MinIO up (or down again)",
    ),
    "clean": (
        "clean",
        "remove the clusters and object stores that kept or killed runs left behind",
    ),
}


def _module(name: str) -> ModuleType:
    return importlib.import_module(f"restore_drill.commands.{COMMANDS[name][0]}")


def build_parser(argv: Sequence[str] = ()) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="restore-drill",
        description="End-to-end restore drills for VolSync-protected Kubernetes volumes.",
    )
    parser.add_argument("--version", action="version", version=f"restore-drill {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    chosen = argv[0] if argv and argv[0] in COMMANDS else None
    for name, (_, help_text) in COMMANDS.items():
        sub = subparsers.add_parser(name, help=help_text, description=help_text)
        if name == chosen:
            # Only the chosen command's module is imported: a command does not pay for the
            # others' imports, and --help or a mistyped name pays for none.
            module = _module(name)
            module.add_arguments(sub)
            sub.set_defaults(handler=module.run)
    return parser


def _force_exit(signum: int, _frame: FrameType | None) -> None:
    os._exit(128 + signum)  # a second signal: the teardown is not waited for


def _unwinding(stop: type[KeyboardInterrupt]) -> Callable[[int, FrameType | None], None]:
    """A handler that starts the orderly teardown by raising ``stop``; from then on either
    signal forces the exit."""

    def handler(signum: int, _frame: FrameType | None) -> None:
        for number in (signal.SIGTERM, signal.SIGINT):
            signal.signal(number, _force_exit)
        raise stop()

    return handler


def _own_signals() -> dict[int, Any]:
    """SIGTERM and SIGINT both start the orderly teardown, and a second one forces the exit.
    SIGINT is set here too: a run started in the background inherits it ignored."""
    previous: dict[int, Any] = {}
    if threading.current_thread() is threading.main_thread():
        for number, stop in ((signal.SIGTERM, Terminated), (signal.SIGINT, KeyboardInterrupt)):
            previous[number] = signal.signal(number, _unwinding(stop))
    return previous


def main(argv: list[str] | None = None) -> int:
    if argv is None:
        argv = sys.argv[1:]
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    previous = _own_signals()
    try:
        return int(args.handler(args))
    except UsageError as exc:
        print(f"restore-drill: error: {exc}", file=sys.stderr)
        return 2
    except DrillError as exc:
        print(f"restore-drill: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        if exc.errno != errno.ENOSPC:
            raise
        print(f"restore-drill: DiskFull: this machine's disk filled up: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt as stop:
        terminated = isinstance(stop, Terminated)
        print(f"restore-drill: {'terminated' if terminated else 'interrupted'}", file=sys.stderr)
        return 143 if terminated else 130
    finally:
        for number, handler in previous.items():  # in-process callers (tests) get theirs back
            signal.signal(number, handler)


if __name__ == "__main__":
    sys.exit(main())

"""The ``restore-drill`` command: a thin dispatcher over ``restore_drill.commands``.

Each subcommand is a small module there with ``NAME``, ``HELP``, ``add_arguments(parser)``
and ``run(args) -> int``; its options live beside it.
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

# Each command's NAME and its module under restore_drill.commands, in --help order.
COMMAND_MODULES = {
    "list": "list_scenarios",
    "run": "run",
    "selftest": "selftest",
    "doctor": "doctor",
    "data": "data",
    "lint": "lint",
    "verify-backups": "verify_backups",
    "images": "images",
    "cluster": "cluster",
    "clean": "clean",
}


def _commands(argv: Sequence[str] = ()) -> list[ModuleType]:
    """Only the module of the command ``argv`` names, when it names one: a command does not
    pay for the others' imports (the Kubernetes client, the scenarios). Otherwise all of
    them, for --help and for the error that names the choices."""
    names = [argv[0]] if argv and argv[0] in COMMAND_MODULES else list(COMMAND_MODULES)
    return [importlib.import_module(f"restore_drill.commands.{COMMAND_MODULES[n]}") for n in names]


def build_parser(argv: Sequence[str] = ()) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="restore-drill",
        description="End-to-end restore drills for VolSync-protected Kubernetes volumes.",
    )
    parser.add_argument("--version", action="version", version=f"restore-drill {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in _commands(argv):
        sub = subparsers.add_parser(module.NAME, help=module.HELP, description=module.HELP)
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

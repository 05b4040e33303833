"""``restore-drill lint PATH``: audit a GitOps repository's restore configuration."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from restore_drill.errors import UsageError
from restore_drill.lint import lint_repository
from restore_drill.lint.output import FORMATTERS
from restore_drill.lint.policy import load_policy


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", type=Path, help="repository (or directory) to lint")
    parser.add_argument(
        "--policy",
        type=Path,
        default=None,
        help="YAML policy: tiers, schedules, retention (default: built in)",
    )
    parser.add_argument(
        "--format", choices=sorted(FORMATTERS), default="text", help="output format (default: text)"
    )


def run(args: argparse.Namespace) -> int:
    """Exit 0 when no error-level finding, 1 when there are some (usage errors raise -> 2)."""
    path: Path = args.path
    if not path.is_dir():
        raise UsageError(f"{path}: not a directory")
    policy = load_policy(args.policy)
    result = lint_repository(path.resolve(), policy)
    sys.stdout.write(FORMATTERS[args.format](result.findings, result.notes))
    return 1 if result.has_errors else 0

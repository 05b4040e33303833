"""``restore-drill images build|list``: the offline image set (every image a kind drill
needs, built here from Go modules and Debian packages, cached per version)."""

from __future__ import annotations

import argparse
import subprocess

from restore_drill.addons import load_addons
from restore_drill.errors import UsageError
from restore_drill.images.pins import Offline
from restore_drill.images.plan import make_plan
from restore_drill.images.steps import HOW_LABEL, GoBinaries, PauseBinary, run_steps


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=("build", "list"), help="build what is missing, or list")
    parser.add_argument(
        "--force", action="store_true", help="rebuild every step even when its cache is current"
    )
    parser.add_argument(
        "--only",
        action="append",
        metavar="STEP",
        help="build only this step (repeatable), e.g. --only actionlint",
    )


def _size(image: str) -> str:
    done = subprocess.run(
        ["docker", "image", "inspect", "--format", "{{.Size}}", image],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    return f"{int(done.stdout) / 1e6:.0f} MB" if done.returncode == 0 else "-"


def _how(image: str) -> str:
    done = subprocess.run(
        [
            "docker",
            "image",
            "inspect",
            "--format",
            f'{{{{index .Config.Labels "{HOW_LABEL}"}}}}',
            image,
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    return done.stdout.strip() if done.returncode == 0 else ""


def list_images() -> int:
    plan = make_plan(load_addons())
    rows = [("image", "version", "state", "size", "built from")]
    for step in plan.steps:
        if isinstance(step, GoBinaries | PauseBinary):
            continue
        for name in getattr(step, "tags", None) or [getattr(step, "image", step.name)]:
            state = "built" if step.is_current() else "missing"
            rows.append((name, step.version, state, _size(name), step.how))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row[:4], widths, strict=True)), row[4])
    addons = load_addons()
    absent = sorted(set(addons.volsync_allowed) - set(Offline(addons).volsync_versions))
    if absent:
        print(
            f"\nVolSync {', '.join(absent)}: in the users' matrix, not built here "
            "(the Go module proxy does not serve that release)"
        )
    return 0


def run(args: argparse.Namespace) -> int:
    if args.action == "list":
        return list_images()
    steps = make_plan(load_addons()).steps
    if args.only:
        known = {step.name for step in steps}
        unknown = sorted(set(args.only) - known)
        if unknown:
            raise UsageError(
                f"--only: no step named {', '.join(unknown)} (steps: {', '.join(sorted(known))})"
            )
        steps = [step for step in steps if step.name in args.only]
    outcomes = run_steps(steps, lambda line: print(line, flush=True), force=args.force)
    built = sum(1 for _, outcome in outcomes if outcome != "cached")
    print(f"images: {len(outcomes)} steps, {built} built, {len(outcomes) - built} cached")
    return 0

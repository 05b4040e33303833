"""``restore-drill doctor``: which backends can run on this machine, and why not."""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass

from restore_drill.addons import load_addons
from restore_drill.clusters import BACKENDS
from restore_drill.clusters.kind import docker_engine_answers
from restore_drill.images.tools import TOOLS, tool

MIN_RESTIC = (0, 14)
MIN_PYTHON = (3, 11)
PROBE_TIMEOUT = 10.0


@dataclass(frozen=True)
class Probe:
    """One thing the backends need: whether it is here, and what was found."""

    name: str
    ok: bool
    detail: str


def _tool_version(argv: list[str], pattern: str = r"v?(\d+\.\d+(?:\.\d+)?)") -> tuple[bool, str]:
    # kind, kubectl and helm: the pinned builds of `images build` first, then PATH.
    if argv[0] in TOOLS:
        argv = [tool(argv[0]), *argv[1:]]
    if shutil.which(argv[0]) is None:
        return False, "not built (restore-drill images build) and not on PATH"
    try:
        done = subprocess.run(
            argv, capture_output=True, text=True, timeout=PROBE_TIMEOUT, check=False
        )
    except subprocess.TimeoutExpired:
        return False, f"'{' '.join(argv)}' did not answer within {PROBE_TIMEOUT:.0f}s"
    found = re.search(pattern, done.stdout + done.stderr)
    if done.returncode != 0 or not found:
        return False, f"'{' '.join(argv)}' exited {done.returncode}"
    return True, found.group(1)


def probe_docker() -> Probe:
    ok, detail = docker_engine_answers()
    return Probe("Docker engine", ok, detail)


def probe_kind() -> Probe:
    return Probe("kind", *_tool_version(["kind", "version"]))


def probe_kubectl() -> Probe:
    return Probe("kubectl", *_tool_version(["kubectl", "version", "--client"]))


def probe_helm() -> Probe:
    return Probe("helm", *_tool_version(["helm", "version", "--short"]))


def probe_git() -> Probe:
    return Probe("git", *_tool_version(["git", "--version"]))


def probe_restic() -> Probe:
    ok, detail = _tool_version(["restic", "version"], r"restic (\d+\.\d+\.\d+)")
    if ok and tuple(int(p) for p in detail.split(".")[:2]) < MIN_RESTIC:
        return Probe("restic", False, f"{detail} (need >= {'.'.join(map(str, MIN_RESTIC))})")
    return Probe("restic", ok, detail)


def probe_python() -> Probe:
    version = ".".join(map(str, sys.version_info[:3]))
    return Probe("python", sys.version_info[:2] >= MIN_PYTHON, version)


PROBES: tuple[Callable[[], Probe], ...] = (
    probe_docker,
    probe_kind,
    probe_kubectl,
    probe_helm,
    probe_git,
    probe_restic,
    probe_python,
)


def verdicts(probes: list[Probe]) -> dict[str, tuple[bool, str]]:
    """Per backend: (can run, why / why not)."""
    by_name = {p.name: p for p in probes}
    result = {}
    for backend, spec in BACKENDS.items():
        missing = [f"{n}: {by_name[n].detail}" for n in spec.needs if not by_name[n].ok]
        if missing:
            result[backend] = (False, "; ".join(missing))
        else:
            result[backend] = (True, spec.note)
    return result


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--require",
        choices=tuple(BACKENDS),
        metavar="BACKEND",
        help="exit 1 unless BACKEND can run here (kind or existing)",
    )


def render(
    probes: list[Probe], backends: dict[str, tuple[bool, str]], pins: dict[str, str] | None = None
) -> str:
    width = max(len(p.name) for p in probes)
    lines = ["tools:"]
    lines += [f"  {p.name:<{width}}  {'ok ' if p.ok else 'no '}  {p.detail}" for p in probes]
    lines.append("backends:")
    lines += [
        f"  {name:<8}  {'yes' if ok else 'no '}  {why}" for name, (ok, why) in backends.items()
    ]
    if pins:
        lines.append("pinned for kind (clusters/addons.yaml):")
        pin_width = max(len(name) for name in pins)
        lines += [f"  {name:<{pin_width}}  {version}" for name, version in pins.items()]
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    probes = [probe() for probe in PROBES]
    backends = verdicts(probes)
    print(render(probes, backends, load_addons().versions()))
    required = getattr(args, "require", None)
    if required and not backends[required][0]:
        print(
            f"restore-drill: {required} cannot run here: {backends[required][1]}", file=sys.stderr
        )
        return 1
    return 0

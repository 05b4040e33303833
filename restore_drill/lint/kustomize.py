"""Kustomization roots and the real kustomize that renders them.

The linter judges what a kustomization DEPLOYS, not what lies in its directory: a resource
commented out is not deployed, a namespace override applies. Only the real kustomize knows
that exactly, so it renders; where it cannot (remote bases, Helm charts that need the network,
no kustomize installed) the files are read as they are and a finding says so.
"""

from __future__ import annotations

import os
import posixpath
import shutil
import subprocess
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from restore_drill.lint.loader import KUSTOMIZATION_NAMES, LoadResult

RENDER_TIMEOUT_SECONDS = 60
MAX_RENDERED_BYTES = 16 * 1024 * 1024
_REMOTE_MARKERS = ("://", "github.com/", "gitlab.com/", "git@", "oci://")


@dataclass
class Kustomization:
    """A kustomization file: its directory (relative to the repository) and its body."""

    directory: str
    file: str
    body: dict[str, Any]

    @property
    def is_component(self) -> bool:
        return self.body.get("kind") == "Component"

    def entries(self) -> list[str]:
        listed: list[str] = []
        for key in ("resources", "components", "bases"):
            value = self.body.get(key)
            if isinstance(value, list):
                listed.extend(item for item in value if isinstance(item, str))
        return listed

    def remote_reason(self) -> str:
        """Why this root needs the network (empty when it does not)."""
        if self.body.get("helmCharts") or self.body.get("helmChartInflationGenerator"):
            return "it inflates Helm charts"
        for entry in self.entries():
            if any(marker in entry for marker in _REMOTE_MARKERS):
                return f"it has a remote base ({entry})"
        return ""


def find_kustomizations(loads: dict[str, LoadResult]) -> dict[str, Kustomization]:
    """Kustomization files by directory."""
    found: dict[str, Kustomization] = {}
    for rel, result in loads.items():
        directory, name = posixpath.split(rel)
        if name in KUSTOMIZATION_NAMES and result.documents:
            found[directory] = Kustomization(directory, rel, result.documents[0].body)
    return found


def _file_entries(body: dict[str, Any]) -> list[str]:
    """Files a kustomization reads besides its resources: patches and Helm values."""
    files = [p for p in body.get("patchesStrategicMerge") or [] if isinstance(p, str)]
    for key in ("patches", "patchesJson6902"):
        files += [
            str(p["path"]) for p in body.get(key) or [] if isinstance(p, dict) and p.get("path")
        ]
    for chart in body.get("helmCharts") or []:
        if isinstance(chart, dict) and isinstance(chart.get("valuesFile"), str):
            files.append(chart["valuesFile"])
    return files


def listed_files(root: Kustomization, kustomizations: dict[str, Kustomization]) -> set[str]:
    """Every file ``root`` reads, through the kustomizations it includes (what kustomize
    opens; a file beside them that no entry names is not part of the deployment)."""
    seen: set[str] = set()
    files: set[str] = set()

    def visit(kustomization: Kustomization) -> None:
        if kustomization.directory in seen:
            return
        seen.add(kustomization.directory)
        files.add(kustomization.file)
        for entry in [*kustomization.entries(), *_file_entries(kustomization.body)]:
            path = posixpath.normpath(posixpath.join(kustomization.directory, entry))
            included = kustomizations.get("" if path == "." else path)
            if included is not None:
                visit(included)
            else:
                files.add(path)

    visit(root)
    return files


def find_roots(kustomizations: dict[str, Kustomization]) -> list[Kustomization]:
    """Kustomizations no other kustomization includes: the units a GitOps tool deploys."""
    included: set[str] = set()
    for kustomization in kustomizations.values():
        for entry in kustomization.entries():
            included.add(posixpath.normpath(posixpath.join(kustomization.directory, entry)))
    return [
        k
        for directory, k in sorted(kustomizations.items())
        if not k.is_component and posixpath.normpath(directory) not in included
    ]


def kustomize_command() -> list[str] | None:
    """``kustomize build`` when installed, else ``kubectl kustomize`` (kustomize built in)."""
    if shutil.which("kustomize"):
        return ["kustomize", "build"]
    if shutil.which("kubectl"):
        return ["kubectl", "kustomize"]
    return None


@dataclass
class RenderOutcome:
    directory: str
    text: str | None
    problem: str = ""


def render_roots(repo: str, directories: Sequence[str]) -> dict[str, RenderOutcome]:
    """Render every root once, a few at a time (each render is a subprocess)."""
    command = kustomize_command()
    if command is None:
        return {d: RenderOutcome(d, None, "no kustomize or kubectl installed") for d in directories}

    def one(directory: str) -> RenderOutcome:
        return _render(command, os.path.join(repo, directory), directory)

    workers = max(1, min(4, len(directories), os.cpu_count() or 1))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return {outcome.directory: outcome for outcome in pool.map(one, directories)}


def _render(command: list[str], path: str, directory: str) -> RenderOutcome:
    try:
        completed = subprocess.run(
            [*command, path],
            capture_output=True,
            timeout=RENDER_TIMEOUT_SECONDS,
            check=False,
            env={**os.environ, "KUSTOMIZE_PLUGIN_HOME": os.devnull},
        )
    except subprocess.TimeoutExpired:
        return RenderOutcome(directory, None, f"kustomize took over {RENDER_TIMEOUT_SECONDS}s")
    except OSError as exc:
        return RenderOutcome(directory, None, f"kustomize could not run: {exc.strerror}")
    if completed.returncode != 0:
        lines = completed.stderr.decode("utf-8", "replace").strip().splitlines()
        return RenderOutcome(directory, None, lines[-1][:300] if lines else "kustomize failed")
    if len(completed.stdout) > MAX_RENDERED_BYTES:
        return RenderOutcome(directory, None, "kustomize output over the size limit")
    return RenderOutcome(directory, completed.stdout.decode("utf-8", "replace"))

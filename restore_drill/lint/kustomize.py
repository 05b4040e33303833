"""Kustomization roots and the real kustomize that renders them.

The linter judges what a kustomization DEPLOYS, not what lies in its directory: a resource
commented out is not deployed, a namespace override applies. Only the real kustomize knows
that exactly, so it renders; where it cannot (remote bases, Helm charts that need the network,
no kustomize installed) the files are read as they are and a finding says so.
"""

from __future__ import annotations

import os
import posixpath
import re
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from restore_drill.lint import batch
from restore_drill.lint.loader import KUSTOMIZATION_NAMES, LoadResult

RENDER_TIMEOUT_SECONDS = 60
MAX_RENDERED_BYTES = 16 * 1024 * 1024
# kustomize is a short-lived Go program: without garbage collection (until its heap nears
# the limit) it spends about a third less CPU. The environment's own settings win.
_GO_RUNTIME = {"GOGC": "off", "GOMEMLIMIT": "512MiB"}
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


# kubectl's log header ("E1202 17:33:46.522693   23974 run.go:72] "): a time and a PID
# that differ on every run, so the same problem would read as a new one.
_KLOG_HEADER = re.compile(r"^[IWEF]\d{4} [\d:.]+\s+\d+ [\w.]+:\d+\] ")


@dataclass
class RenderOutcome:
    directory: str
    text: str | None
    problem: str = ""


@dataclass
class _Run:
    """One kustomize subprocess: its output (and how many bytes), or why there is none."""

    output: str | None
    problem: str = ""
    size: int = 0
    timed_out: bool = False


def render_roots(
    repo: str, directories: Sequence[str], batches: Sequence[batch.Batch] = ()
) -> dict[str, RenderOutcome]:
    """Render every root once, in ``directories`` order. The roots of each of ``batches``
    render together (batch.py); the kustomize subprocesses run a few at a time."""
    command = kustomize_command()
    if command is None:
        return {d: RenderOutcome(d, None, "no kustomize or kubectl installed") for d in directories}
    workers = max(1, min(4, os.cpu_count() or 1))
    work = [part for b in batches if b.directories for part in _spread(b, workers)]
    batched = {d for b in work for d in b.directories}
    work += [batch.Batch([d]) for d in directories if d not in batched]
    outcomes: dict[str, RenderOutcome] = {}
    with (
        tempfile.TemporaryDirectory(prefix="restore-drill-lint-") as scratch,
        ThreadPoolExecutor(max_workers=workers) as pool,
    ):
        while work:
            work = _wave(work, outcomes, pool=pool, command=command, repo=repo, scratch=scratch)
    return {d: outcomes[d] for d in directories}


def _spread(unit: batch.Batch, workers: int) -> list[batch.Batch]:
    """A batch that renders once, cut in one part per worker (each part still a batch)."""
    if unit.sources is None:
        return [unit]  # renders twice at once already
    parts = max(1, min(workers, len(unit.directories) // batch.MIN_BATCH))
    return [batch.Batch(unit.directories[i::parts], unit.sources[i::parts]) for i in range(parts)]


def _wave(
    work: list[batch.Batch],
    outcomes: dict[str, RenderOutcome],
    *,
    pool: ThreadPoolExecutor,
    command: list[str],
    repo: str,
    scratch: str,
) -> list[batch.Batch]:
    """Run every unit of ``work`` (one root, or a batch) at once; return what is left to do."""
    paths: list[str] = []
    prefixes: list[str] = []
    for unit in work:
        if len(unit.directories) == 1:
            paths.append(os.path.join(repo, unit.directories[0]))
            continue
        ordered, marked, prefix = batch.write_wrappers(
            tempfile.mkdtemp(dir=scratch), repo, unit.directories
        )
        paths += [ordered] if unit.sources is not None else [ordered, marked]
        prefixes.append(prefix)
    runs = iter(pool.map(lambda path: _kustomize(command, path), paths))
    markers = iter(prefixes)
    left: list[batch.Batch] = []
    for unit in work:
        if len(unit.directories) == 1:
            run = next(runs)
            if run.output is not None and run.size > MAX_RENDERED_BYTES:
                run = _Run(None, "kustomize output over the size limit")
            directory = unit.directories[0]
            outcomes[directory] = RenderOutcome(directory, run.output, run.problem)
            continue
        ordered_run, prefix = next(runs), next(markers)
        marked_run = next(runs) if unit.sources is None else None
        left += _settle(unit, ordered_run, marked_run, prefix, outcomes)
    return left


def _settle(
    unit: batch.Batch,
    ordered: _Run,
    marked: _Run | None,
    prefix: str,
    outcomes: dict[str, RenderOutcome],
) -> list[batch.Batch]:
    """Each root's outcome from a batch's renders; the units still to render."""
    directories = unit.directories
    one_by_one = [batch.Batch([d]) for d in directories]
    if ordered.output is None:  # a root fails, or is slow: find it in halves, or alone
        if ordered.timed_out:
            return one_by_one
        half = len(directories) // 2
        sources = unit.sources or [set() for _ in directories]
        return [
            batch.Batch(directories[:half], unit.sources and sources[:half]),
            batch.Batch(directories[half:], unit.sources and sources[half:]),
        ]
    if marked is not None and marked.output is None:
        return one_by_one  # the roots render but the markers do not (an old kustomize)
    mark = None if marked is None else (marked.output or "", prefix)
    resolved = batch.resolve(unit, ordered.output, mark)
    if resolved is None:  # not told apart by name: markers; the renders disagree: alone
        return [batch.Batch(directories)] if marked is None else one_by_one
    texts, crossed = resolved
    left: list[batch.Batch] = []
    for index, (directory, text) in enumerate(zip(directories, texts, strict=True)):
        if index in crossed:
            left.append(batch.Batch([directory]))
        elif len(text.encode("utf-8")) > MAX_RENDERED_BYTES:
            outcomes[directory] = RenderOutcome(
                directory, None, "kustomize output over the size limit"
            )
        else:
            outcomes[directory] = RenderOutcome(directory, text)
    return left


def _kustomize(command: list[str], path: str) -> _Run:
    """``kustomize build PATH``: every kustomize subprocess of the lint runs here."""
    try:
        completed = subprocess.run(
            [*command, path],
            capture_output=True,
            timeout=RENDER_TIMEOUT_SECONDS,
            check=False,
            env={**_GO_RUNTIME, **os.environ, "KUSTOMIZE_PLUGIN_HOME": os.devnull},
        )
    except subprocess.TimeoutExpired:
        return _Run(None, f"kustomize took over {RENDER_TIMEOUT_SECONDS}s", timed_out=True)
    except OSError as exc:
        return _Run(None, f"kustomize could not run: {exc.strerror}")
    if completed.returncode != 0:
        lines = completed.stderr.decode("utf-8", "replace").strip().splitlines()
        return _Run(None, _KLOG_HEADER.sub("", lines[-1])[:300] if lines else "kustomize failed")
    return _Run(completed.stdout.decode("utf-8", "replace"), size=len(completed.stdout))

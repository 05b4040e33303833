"""How long `restore-drill lint` takes on a repository of about 500 files, and where it goes.

    .venv/bin/python benchmarks/bench_lint.py [--apps 42] [--repeat 3] [--baseline main]

A GitOps repository is generated into a temporary directory from the apps of
fixtures/gitops (homelab's ArgoCD layout, flux-helm's HelmReleases), cloned under new names
until there are --apps apps, each a kustomize root; each app also gets a Service, a
ConfigMap, a NetworkPolicy and its own config files (YAML that is not a manifest).
Then, side by side:

- the CLI as a subprocess (wall time, imports included), median of --repeat runs;
- with --baseline REF, the same CLI from that git ref of this repository (extracted with
  `git archive`, nothing checked out), and whether its findings are the same;
- the CLI in-process (restore_drill.cli.main), median of --repeat runs after one warm-up,
  and where one run's time goes: files (walk, read, parse), kustomize subprocesses,
  parsing kustomize output, the rules.

It asserts nothing (timings are not tests).
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import hashlib
import io
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

PROJECT = Path(__file__).resolve().parents[1]
EXAMPLES = PROJECT / "fixtures" / "gitops"
# (template directory, tier directory in the generated repository)
TEMPLATES = [
    *((p, "critical") for p in sorted((EXAMPLES / "homelab/apps/critical").iterdir())),
    *((p, "standard") for p in sorted((EXAMPLES / "homelab/apps/standard").iterdir())),
    *((p, "standard") for p in sorted((EXAMPLES / "flux-helm/apps").iterdir())),
]
SERVICE = """apiVersion: v1
kind: Service
metadata:
  name: {app}
spec:
  selector:
    app.kubernetes.io/name: {app}
  ports:
    - name: http
      port: 80
      targetPort: 8080
"""
CONFIGMAP = """apiVersion: v1
kind: ConfigMap
metadata:
  name: {app}-env
data:
  TZ: Europe/Paris
  LOG_LEVEL: info
"""
NETWORK_POLICY = """apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: {app}-ingress
spec:
  podSelector:
    matchLabels:
      app.kubernetes.io/name: {app}
  ingress:
    - from:
        - namespaceSelector:
            matchLabels:
              kubernetes.io/metadata.name: ingress
"""
CI_WORKFLOW = """name: validate
on: [push, pull_request]
jobs:
  kustomize:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: restore-drill lint .
"""


def _rename(text: str, old: str, new: str) -> str:
    return re.sub(rf"(?<![A-Za-z0-9-]){re.escape(old)}(?![A-Za-z0-9])", new, text)


def generate(root: Path, apps: int) -> None:
    """Write the repository: homelab's argocd/ and infrastructure/, then ``apps`` apps."""
    for part in ("argocd", "infrastructure"):
        shutil.copytree(EXAMPLES / "homelab" / part, root / part)
    (root / ".github/workflows").mkdir(parents=True)
    (root / ".github/workflows/validate.yaml").write_text(CI_WORKFLOW)
    (root / ".yamllint.yaml").write_text("extends: default\nrules:\n  line-length: disable\n")
    for index in range(apps):
        template, tier = TEMPLATES[index % len(TEMPLATES)]
        copy = index // len(TEMPLATES)
        name = template.name if copy == 0 else f"{template.name}-{copy + 1}"
        target = root / "apps" / tier / name
        for source in sorted(template.rglob("*")):
            if source.is_file():
                dest = target / source.relative_to(template)
                dest.parent.mkdir(parents=True, exist_ok=True)
                dest.write_text(_rename(source.read_text(), template.name, name))
        (target / "service.yaml").write_text(SERVICE.format(app=name))
        (target / "configmap.yaml").write_text(CONFIGMAP.format(app=name))
        (target / "networkpolicy.yaml").write_text(NETWORK_POLICY.format(app=name))
        kustomization = target / "kustomization.yaml"
        kustomization.write_text(
            kustomization.read_text().replace(
                "resources:\n",
                "resources:\n  - service.yaml\n  - configmap.yaml\n  - networkpolicy.yaml\n",
                1,
            )
        )
        config = target / "config"
        config.mkdir(exist_ok=True)
        (config / "settings.yaml").write_text(
            f"# {name}'s own settings, not a manifest\nserver:\n  port: 8080\n"
            f"  name: {name}\nlogger: !include logger.yaml\n"
        )
        (config / "logger.yaml").write_text("level: info\nformat: json\n")
        (config / "features.yaml").write_text(
            "features:\n  - name: search\n    enabled: true\n  - name: export\n    enabled: false\n"
        )


def count_files(root: Path) -> int:
    return sum(1 for p in root.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())


def roots_noted(json_output: str) -> str:
    """The lint's own count of kustomize roots and objects, from its notes."""
    for note in json.loads(json_output)["notes"]:
        if note.startswith("rendered "):
            return str(note)
    return "(no note)"


def median_walls(
    argv: list[str], envs: dict[str, dict[str, str]], repeat: int, cwd: Path
) -> dict[str, tuple[float, str]]:
    """Median wall time and last output of each environment's run; the runs alternate, so
    that load from other work on the machine falls on all of them alike. They run in
    ``cwd``: ``python -m`` puts the current directory first on sys.path, before PYTHONPATH."""
    times: dict[str, list[float]] = {name: [] for name in envs}
    outputs: dict[str, str] = {}
    for _ in range(repeat):
        for name, env in envs.items():
            start = time.perf_counter()
            done = subprocess.run(
                argv, env=env, cwd=cwd, capture_output=True, text=True, check=False
            )
            times[name].append(time.perf_counter() - start)
            if done.returncode not in (0, 1):
                raise SystemExit(f"{' '.join(argv)} ({name}) failed:\n{done.stderr}")
            outputs[name] = done.stdout
    return {name: (statistics.median(times[name]), outputs[name]) for name in envs}


def digest(json_output: str) -> str:
    """A short hash of the findings and notes, to compare two runs."""
    data = json.loads(json_output)
    canonical = json.dumps([data["findings"], data["notes"]], sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()[:12] + f" ({len(data['findings'])})"


def lint_argv(repo: Path) -> list[str]:
    return [sys.executable, "-m", "restore_drill.cli", "lint", str(repo), "--format", "json"]


def baseline_tree(ref: str, into: Path) -> Path:
    """The restore_drill package as it is at ``ref``, extracted (the work tree is untouched)."""
    into.mkdir()
    archive = subprocess.run(
        ["git", "-C", str(PROJECT), "archive", ref, "restore_drill"],
        capture_output=True,
        check=True,
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


class Spent:
    """Wall time spent in wrapped functions, by bucket (outermost call only)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.calls: dict[str, int] = {}

    @contextlib.contextmanager
    def wrapped(self, targets: list[tuple[Any, str, str]]) -> Iterator[None]:
        saved = []
        for module, attribute, bucket in targets:
            original = getattr(module, attribute, None)
            if original is None:
                continue
            saved.append((module, attribute, original))
            setattr(module, attribute, self._timer(original, bucket))
        try:
            yield
        finally:
            for module, attribute, original in saved:
                setattr(module, attribute, original)

    def _timer(self, function: Callable[..., Any], bucket: str) -> Callable[..., Any]:
        @functools.wraps(function)
        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self.seconds[bucket] = self.seconds.get(bucket, 0.0) + time.perf_counter() - start
                self.calls[bucket] = self.calls.get(bucket, 0) + 1

        return timed


def run_in_process(repo: Path) -> float:
    from restore_drill.cli import main

    start = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        main(["lint", str(repo), "--format", "json"])
    return time.perf_counter() - start


def where_time_goes(repo: Path) -> None:
    from restore_drill import lint
    from restore_drill.lint import kustomize, loader, render

    spent = Spent()
    targets = [
        (render, "load_tree", "files: walk, read, parse"),
        (loader, "load_tree", "files: walk, read, parse"),
        (render, "render_roots", "kustomize renders (wall)"),
        (render, "parse_documents", "parse kustomize output"),
        (lint, "run_checks", "rules"),
        (kustomize, "_render", "one kustomize subprocess"),  # before batching
        (kustomize, "_kustomize", "one kustomize subprocess"),
    ]
    with spent.wrapped(targets):
        total = run_in_process(repo)
    print(f"  where one in-process run's {total:.3f} s goes:")
    for bucket in (
        "files: walk, read, parse",
        "kustomize renders (wall)",
        "parse kustomize output",
        "rules",
    ):
        seconds = spent.seconds.get(bucket, 0.0)
        print(f"    {bucket:<28} {seconds:6.3f} s  {100 * seconds / total:4.0f}%")
    other = total - sum(
        spent.seconds.get(b, 0.0)
        for b in ("files: walk, read, parse", "kustomize renders (wall)", "parse kustomize output")
    )
    other -= spent.seconds.get("rules", 0.0)
    print(f"    {'the rest (model, output)':<28} {other:6.3f} s  {100 * other / total:4.0f}%")
    renders = spent.calls.get("one kustomize subprocess", 0)
    busy = spent.seconds.get("one kustomize subprocess", 0.0)
    if renders:
        wall = spent.seconds.get("kustomize renders (wall)", 0.0)
        print(
            f"    ({renders} kustomize subprocesses, {busy:.3f} s end to end in all, "
            f"{busy / max(wall, 1e-9):.1f} at a time on average)"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--apps", type=int, default=42, help="apps (kustomize roots) to generate")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--baseline", metavar="REF", help="also time this git ref's CLI")
    parser.add_argument("--keep", action="store_true", help="keep the generated repository")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="restore-drill-bench-lint-"))
    try:
        repo = workdir / "gitops"
        generate(repo, args.apps)
        print(f"cores: {os.cpu_count()}; load average before: {os.getloadavg()[0]:.2f}")
        print(f"repository: {repo}: {count_files(repo)} YAML files")
        envs: dict[str, dict[str, str]] = {}
        if args.baseline:
            old = baseline_tree(args.baseline, workdir / "baseline")
            envs[f"CLI at {args.baseline}"] = {**os.environ, "PYTHONPATH": str(old)}
        envs["CLI, this tree"] = {**os.environ, "PYTHONPATH": str(PROJECT)}
        measured = median_walls(lint_argv(repo), envs, args.repeat, workdir)
        rows = [(name, wall, digest(output)) for name, (wall, output) in measured.items()]
        print(f"lint: {roots_noted(measured['CLI, this tree'][1])}")
        sys.path.insert(0, str(PROJECT))
        run_in_process(repo)  # warm-up: imports, page cache
        in_process = statistics.median(run_in_process(repo) for _ in range(args.repeat))
        print(f"\n{'':<22} {'wall':>8}   findings+notes digest (count)")
        for name, wall, findings in rows:
            print(f"{name:<22} {wall:6.3f} s   {findings}")
        print(f"{'in-process, this tree':<22} {in_process:6.3f} s")
        if args.baseline:
            same = rows[0][2] == rows[1][2]
            print(f"findings and notes identical: {'yes' if same else 'NO'}")
            print(f"speed-up: {rows[0][1] / rows[1][1]:.1f}x (wall, subprocess)")
        print()
        where_time_goes(repo)
        print(
            f"load average after: {os.getloadavg()[0]:.2f} (other work on the machine skews this)"
        )
    finally:
        if args.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

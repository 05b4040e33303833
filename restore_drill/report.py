"""Drill results: result.json (versioned), Markdown, JUnit, history (report.html: report_html).

Nothing here holds a secret: results carry times, counts, paths and error messages, and
error messages of the harness never include credentials.
"""

from __future__ import annotations

import json
import os
import secrets
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from restore_drill.errors import UsageError

SCHEMA = "restore-drill/result/v1"
HISTORY_FILE = "history.jsonl"


def utc_now() -> str:
    """Now, in UTC, as result.json and the history record times."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


@dataclass
class StepTiming:
    name: str
    seconds: float
    ok: bool = True
    # The step that makes the disaster: the RTO runs from its start. result.json files
    # written before the field existed lack it, and read as False.
    disaster: bool = False


@dataclass
class DrillResult:
    """The verdict of one scenario on one backend."""

    scenario: str
    backend: str
    run_id: str
    passed: bool
    rto_target_seconds: float
    dataset: str = ""  # profile and size per PVC, e.g. "smoke 1MiB"
    rto_seconds: float | None = None
    # The same RTO read from the cluster's timestamps: seconds, start, end, start's source.
    rto_cluster: dict[str, Any] = field(default_factory=dict)
    rpo_seconds: float | None = None
    verify_seconds: float | None = None
    verify: dict[str, Any] = field(default_factory=dict)
    steps: list[StepTiming] = field(default_factory=list)
    versions: dict[str, str] = field(default_factory=dict)
    failure: str | None = None
    failure_type: str | None = None
    notes: list[str] = field(default_factory=list)
    namespaces: list[str] = field(default_factory=list)
    interrupted: str | None = None  # the step a signal stopped the drill in
    # What the scenario declares and what happened: "recovers" or "fails-loudly: <failure>".
    outcome_expected: str = "recovers"
    outcome_observed: str = ""
    observed_failure: str | None = None  # the failure a fails-loudly drill was right to see
    started_at: str = field(default_factory=utc_now)

    @property
    def verdict(self) -> str:
        return "PASS" if self.passed else "FAIL"

    def document(self) -> dict[str, Any]:
        body = asdict(self)
        return {"schema": SCHEMA, **body, "verdict": self.verdict}


def new_run_dir(out: Path, prefix: str = "run") -> Path:
    """A directory of its own for this run under ``out``: the time, then a random suffix, so
    two runs started in the same second never share one. Made here, or a one-line
    UsageError when ``out`` cannot hold it."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    try:
        out.mkdir(parents=True, exist_ok=True)
        for _ in range(20):
            candidate = out / f"{prefix}-{stamp}-{secrets.token_hex(2)}"
            try:
                candidate.mkdir()
            except FileExistsError:
                continue
            return candidate
    except OSError as exc:
        raise UsageError(
            f"--out {out}: cannot make a run directory there ({exc.strerror})"
        ) from None
    raise UsageError(f"--out {out}: no free run directory name")


def remove_if_empty(directory: Path) -> None:
    """Remove ``directory`` when nothing but empty directories is in it (a run that
    stopped before it wrote anything leaves no trace)."""
    if not directory.is_dir() or any(p.is_file() for p in directory.rglob("*")):
        return
    for path in sorted(directory.rglob("*"), reverse=True):
        path.rmdir()
    directory.rmdir()


def write_result(result: DrillResult, directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "result.json"
    path.write_text(json.dumps(result.document(), indent=2, sort_keys=True) + "\n")
    return path


def load_result(path: Path) -> dict[str, Any]:
    document = dict(json.loads(path.read_text()))
    if document.get("schema") != SCHEMA:
        raise ValueError(f"{path}: unknown result schema {document.get('schema')!r}")
    return document


def append_history(result: DrillResult, out_dir: Path) -> Path:
    """One JSON line per drill, across runs: the HTML report plots the trend from it."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / HISTORY_FILE
    line = {
        "scenario": result.scenario,
        "backend": result.backend,
        "run_id": result.run_id,
        "started_at": result.started_at,
        "passed": result.passed,
        "rto_seconds": result.rto_seconds,
        "rto_target_seconds": result.rto_target_seconds,
    }
    with path.open("a") as out:
        out.write(json.dumps(line, sort_keys=True) + "\n")
    return path


def read_history(out_dir: Path) -> list[dict[str, Any]]:
    path = out_dir / HISTORY_FILE
    if not path.exists():
        return []
    entries = []
    for line in path.read_text().splitlines():
        try:
            entries.append(dict(json.loads(line)))
        except ValueError:
            continue  # a torn line from an interrupted run is skipped, not fatal
    return entries


def seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}s"


def table_rows(results: list[DrillResult]) -> list[list[str]]:
    return [
        [
            r.scenario,
            r.backend,
            r.dataset or "-",
            seconds(r.rto_seconds),
            f"{r.rto_target_seconds:g}s",
            seconds(r.rpo_seconds),
            outcome_cell(r),
            r.verdict,
        ]
        for r in results
    ]


def outcome_cell(r: DrillResult) -> str:
    """What happened, and what was expected when that differs."""
    observed = r.outcome_observed or ("recovers" if r.passed else "fails")
    if observed == r.outcome_expected:
        return observed
    return f"{observed} (expected {r.outcome_expected})"


TABLE_HEADER = [
    "scenario",
    "backend",
    "data per PVC",
    "RTO",
    "target",
    "RPO",
    "outcome",
    "verdict",
]


def markdown_summary(results: list[DrillResult]) -> str:
    lines = ["| " + " | ".join(TABLE_HEADER) + " |", "|" + " --- |" * len(TABLE_HEADER)]
    lines += ["| " + " | ".join(row) + " |" for row in table_rows(results)]
    for r in results:
        if r.failure:
            lines.append(f"\n**{r.scenario}** failed ({r.failure_type}): {r.failure}")
        if r.observed_failure:
            lines.append(f"\n{r.scenario} failed loudly, as declared: {r.observed_failure}")
        for note in r.notes:
            lines.append(f"\n{r.scenario}: {note}")
    return "\n".join(lines) + "\n"


def junit_xml(results: list[DrillResult]) -> str:
    suite = ElementTree.Element(
        "testsuite",
        name="restore-drill",
        tests=str(len(results)),
        failures=str(sum(1 for r in results if not r.passed)),
    )
    for r in results:
        case = ElementTree.SubElement(
            suite,
            "testcase",
            classname=f"restore-drill.{r.backend}",
            name=r.scenario,
            time=f"{sum(s.seconds for s in r.steps):.3f}",
        )
        if not r.passed:
            failure = ElementTree.SubElement(
                case, "failure", type=str(r.failure_type), message=str(r.failure)[:500]
            )
            failure.text = str(r.failure)
    return ElementTree.tostring(suite, encoding="unicode") + "\n"


def write_reports(
    results: list[DrillResult], out_dir: Path, history_dir: Path | None = None
) -> dict[str, Path]:
    """The run's summary files next to the per-scenario result.json files; the chart plots
    the history kept in ``history_dir`` (the results directory every run appends to)."""
    from restore_drill.report_html import html_report

    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {
        "markdown": out_dir / "summary.md",
        "html": out_dir / "report.html",
        "junit": out_dir / "junit.xml",
    }
    history = read_history(history_dir or out_dir)
    for kind, text in (
        ("markdown", markdown_summary(results)),
        ("html", html_report(results, history)),
        ("junit", junit_xml(results)),
    ):
        replace_file(paths[kind], text)
    return paths


def replace_file(path: Path, text: str) -> None:
    """Write ``path`` whole or not at all: runs that share an --out write the same latest
    report, and a reader must never see two half files spliced."""
    partial = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(2)}")
    partial.write_text(text)
    os.replace(partial, path)

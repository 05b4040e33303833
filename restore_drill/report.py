"""Drill results: result.json (versioned), Markdown, HTML with an RTO plot, JUnit, history.

Nothing here holds a secret: results carry times, counts, paths and error messages, and
error messages of the harness never include credentials.
"""

from __future__ import annotations

import html
import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

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


@dataclass
class DrillResult:
    """The verdict of one scenario on one backend."""

    scenario: str
    backend: str
    run_id: str
    passed: bool
    rto_target_seconds: float
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
    started_at: str = field(default_factory=utc_now)

    @property
    def verdict(self) -> str:
        return "PASS" if self.passed else "FAIL"

    def document(self) -> dict[str, Any]:
        body = asdict(self)
        return {"schema": SCHEMA, **body, "verdict": self.verdict}


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
            seconds(r.rto_seconds),
            f"{r.rto_target_seconds:g}s",
            seconds(r.rpo_seconds),
            r.verdict,
        ]
        for r in results
    ]


TABLE_HEADER = ["scenario", "backend", "RTO", "target", "RPO", "verdict"]


def markdown_summary(results: list[DrillResult]) -> str:
    lines = ["| " + " | ".join(TABLE_HEADER) + " |", "|" + " --- |" * len(TABLE_HEADER)]
    lines += ["| " + " | ".join(row) + " |" for row in table_rows(results)]
    for r in results:
        if r.failure:
            lines.append(f"\n**{r.scenario}** failed ({r.failure_type}): {r.failure}")
        for note in r.notes:
            lines.append(f"\n{r.scenario}: {note}")
    return "\n".join(lines) + "\n"


def rto_plot_svg(history: list[dict[str, Any]], width: int = 640, height: int = 220) -> str:
    """Inline SVG: one dot per drill (RTO), a dash for its target, across runs."""
    points = [h for h in history if h.get("rto_seconds") is not None]
    top = max([float(h["rto_seconds"]) for h in points] + [1.0])
    top = max(top, *[float(h.get("rto_target_seconds") or 0) for h in points], 1.0)
    pad, n = 30, max(len(points), 1)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'role="img" aria-label="RTO versus target across runs">',
        f'<line x1="{pad}" y1="{height - pad}" x2="{width - 5}" y2="{height - pad}" '
        'stroke="#888"/>',
        f'<text x="2" y="{pad - 8}" font-size="11">{top:.0f}s</text>',
    ]
    for i, h in enumerate(points):
        x = pad + (width - pad - 10) * (i + 0.5) / n
        rto, target = float(h["rto_seconds"]), float(h.get("rto_target_seconds") or 0)
        y = height - pad - (height - 2 * pad) * rto / top
        ty = height - pad - (height - 2 * pad) * target / top
        colour = "#2a7" if h.get("passed") else "#c33"
        label = html.escape(f"{h.get('scenario')} {h.get('started_at')}: {rto:.1f}s / {target:g}s")
        dash = f'x1="{x - 6:.1f}" y1="{ty:.1f}" x2="{x + 6:.1f}" y2="{ty:.1f}"'
        parts.append(f'<line {dash} stroke="#555"/>')
        dot = f'cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{colour}"'
        parts.append(f"<circle {dot}><title>{label}</title></circle>")
    parts.append("</svg>")
    return "\n".join(parts)


def html_report(results: list[DrillResult], history: list[dict[str, Any]]) -> str:
    rows = "".join(
        "<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in row) + "</tr>"
        for row in table_rows(results)
    )
    failures = "".join(
        f"<h3>{html.escape(r.scenario)}</h3><pre>{html.escape(str(r.failure))}</pre>"
        for r in results
        if r.failure
    )
    head = "".join(f"<th>{h}</th>" for h in TABLE_HEADER)
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>restore-drill report</title>"
        "<style>body{font-family:sans-serif}td,th{padding:2px 8px;border-bottom:1px solid #ddd}"
        "</style></head><body><h1>restore-drill</h1>"
        f"<table><tr>{head}</tr>{rows}</table>"
        "<h2>RTO against target, across runs (dot = RTO, dash = target)</h2>"
        f"{rto_plot_svg(history)}{failures}</body></html>\n"
    )


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


def write_reports(results: list[DrillResult], out_dir: Path) -> dict[str, Path]:
    """The run's summary files next to the per-scenario result.json files."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {
        "markdown": out_dir / "summary.md",
        "html": out_dir / "report.html",
        "junit": out_dir / "junit.xml",
    }
    paths["markdown"].write_text(markdown_summary(results))
    paths["html"].write_text(html_report(results, read_history(out_dir)))
    paths["junit"].write_text(junit_xml(results))
    return paths

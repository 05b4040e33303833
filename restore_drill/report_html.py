"""report.html: the run's table, each drill's notes and failure, and RTO against target
across runs.

The chart has one band per scenario, its runs oldest to newest left to right, and a log
scale: RTOs go from seconds (a deleted PVC) to a quarter of an hour (a rebuilt cluster),
and on a linear scale the short ones all sit on the axis.
"""

from __future__ import annotations

import html
import math
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from restore_drill.report import DrillResult

WIDTH, HEIGHT = 720, 300
LEFT, RIGHT, TOP, BOTTOM = 58, 12, 16, 46
FLOOR_SECONDS = 1.0  # the scale's bottom; a faster restore sits on it


def _y(seconds: float, top_seconds: float) -> float:
    span = math.log10(top_seconds) - math.log10(FLOOR_SECONDS)
    share = (math.log10(max(seconds, FLOOR_SECONDS)) - math.log10(FLOOR_SECONDS)) / span
    return HEIGHT - BOTTOM - (HEIGHT - TOP - BOTTOM) * share


def rto_chart(history: list[dict[str, Any]]) -> str:
    """Inline SVG of every drill in ``history`` with an RTO: a dot (green PASS, red FAIL),
    and its scenario's target as a dashed line."""
    points = [h for h in history if h.get("rto_seconds") is not None]
    if not points:
        return "<p>No drill with a measured RTO yet: the chart fills in as runs are made.</p>"
    highest = max(
        max(float(h["rto_seconds"]), float(h.get("rto_target_seconds") or 0)) for h in points
    )
    top = 10.0 ** max(1, math.ceil(math.log10(max(highest, 10.0))))
    scenarios = sorted({str(h.get("scenario")) for h in points})
    band = (WIDTH - LEFT - RIGHT) / len(scenarios)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        'role="img" aria-label="RTO against target per scenario, across runs" '
        'font-family="sans-serif" font-size="11">',
        f'<text x="12" y="{(HEIGHT - BOTTOM + TOP) / 2:.0f}" text-anchor="middle" '
        f'transform="rotate(-90 12 {(HEIGHT - BOTTOM + TOP) / 2:.0f})">RTO (log scale)</text>',
    ]
    tick = FLOOR_SECONDS
    while tick <= top:
        y = _y(tick, top)
        parts.append(
            f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}" stroke="#e4e4e4"/>'
        )
        parts.append(f'<text x="{LEFT - 4}" y="{y + 4:.1f}" text-anchor="end">{tick:g} s</text>')
        tick *= 10
    for index, scenario in enumerate(scenarios):
        left = LEFT + band * index
        runs = [h for h in points if str(h.get("scenario")) == scenario]
        centre = left + band / 2
        parts.append(
            f'<text x="{centre:.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle">'
            f"{html.escape(scenario)}</text>"
        )
        target = float(runs[-1].get("rto_target_seconds") or 0)
        if target > 0:
            ty = _y(target, top)
            parts.append(
                f'<line x1="{left + 4:.1f}" y1="{ty:.1f}" x2="{left + band - 4:.1f}" '
                f'y2="{ty:.1f}" stroke="#555" stroke-dasharray="4 3"><title>target '
                f"{target:g} s</title></line>"
            )
        for number, run in enumerate(runs):
            x = left + band * (number + 1) / (len(runs) + 1)
            rto = float(run["rto_seconds"])
            colour = "#2a7" if run.get("passed") else "#c33"
            label = html.escape(
                f"{scenario} {run.get('started_at')}: RTO {rto:.1f} s, target {target:g} s"
            )
            parts.append(
                f'<circle cx="{x:.1f}" cy="{_y(rto, top):.1f}" r="4" fill="{colour}">'
                f"<title>{label}</title></circle>"
            )
    parts.append(
        f'<text x="{(LEFT + WIDTH - RIGHT) / 2:.0f}" y="{HEIGHT - 8}" text-anchor="middle">'
        "scenario; its runs oldest to newest, left to right (dashed: target)</text>"
    )
    parts.append("</svg>")
    return "\n".join(parts)


def html_report(results: list[DrillResult], history: list[dict[str, Any]]) -> str:
    from restore_drill.report import TABLE_HEADER, table_rows

    head = "".join(f"<th>{h}</th>" for h in TABLE_HEADER)
    rows = "".join(
        "<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in row) + "</tr>"
        for row in table_rows(results)
    )
    details = ""
    for r in results:
        if not (r.failure or r.observed_failure or r.notes):
            continue
        details += f"<h3>{html.escape(r.scenario)}: {r.verdict}</h3>"
        if r.failure:
            details += f"<pre>{html.escape(f'{r.failure_type}: {r.failure}')}</pre>"
        if r.observed_failure:
            declared = f"failed loudly, as declared ({r.outcome_expected}): {r.observed_failure}"
            details += f"<pre>{html.escape(declared)}</pre>"
        if r.notes:
            details += "<ul>" + "".join(f"<li>{html.escape(n)}</li>" for n in r.notes) + "</ul>"
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>restore-drill report</title>"
        "<style>body{font-family:sans-serif;max-width:60em}td,th{padding:2px 8px;"
        "border-bottom:1px solid #ddd;text-align:left}pre{white-space:pre-wrap}</style>"
        "</head><body><h1>restore-drill</h1>"
        f"<table><tr>{head}</tr>{rows}</table>"
        "<h2>RTO against target, across runs</h2>"
        f"{rto_chart(history)}{details}</body></html>\n"
    )

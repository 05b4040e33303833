"""The report's pictures, as inline SVG: one drill's RTO against its target, one drill's
steps on a time line, and RTO against target across runs.

Colours say the same thing everywhere: green within target or PASS, red over target or
FAIL, orange the disaster.
"""

from __future__ import annotations

import html
import math
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable

    from restore_drill.report import DrillResult

GREEN, RED, ORANGE, STEP_BLUE, GREY = "#2a7", "#c33", "#e8890c", "#7b9bc8", "#555"

# The RTO bar: the target sits at two thirds of the track, so an RTO up to one and a half
# times the target still shows how far over it went.
BAR_WIDTH, BAR_HEIGHT = 280, 26
BAR_SCALE = 1.5  # the track's end, in targets

# The step time line.
TIMELINE_WIDTH = 1000
NAME_COLUMN = 190  # step names, right-aligned before the bars
LABEL_ROOM = 110  # after the last bar: its duration label
ROW = 22
AXIS_ROOM = 40

# The history chart.
WIDTH, HEIGHT = 720, 300
LEFT, RIGHT, TOP, BOTTOM = 58, 12, 16, 46
FLOOR_SECONDS = 1.0  # the scale's bottom; a faster restore sits on it


def duration(seconds: float) -> str:
    """Seconds as a person reads them: 4.2 s, 152 s, 14 min 05 s, 15 min."""
    if seconds < 99.95:
        return f"{seconds:.1f} s"
    if seconds < 599.5:
        return f"{seconds:.0f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest:02d} s" if rest else f"{minutes} min"


def rto_bar(rto: float, target: float) -> str:
    """One drill's RTO as a bar on a track whose target mark is 100%: green when the RTO
    is within the target, red when over; past one and a half targets the bar is cut off
    with an arrow."""
    track = BAR_WIDTH - 10  # room for the arrow of a cut-off bar
    target_x = track / BAR_SCALE
    share = rto / target if target > 0 else BAR_SCALE
    width = min(share, BAR_SCALE) * target_x
    colour = GREEN if share <= 1 else RED
    label = html.escape(f"RTO {duration(rto)} against a target of {duration(target)}")
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{BAR_WIDTH}" height="{BAR_HEIGHT}" '
        f'role="img" aria-label="{label}" class="rto-bar">',
        f"<title>{label}</title>",
        f'<rect x="0" y="5" width="{track}" height="16" fill="#eee"/>',
        f'<rect x="0" y="5" width="{width:.1f}" height="16" fill="{colour}"/>',
    ]
    if share > BAR_SCALE:
        parts.append(f'<path d="M{track} 3 L{BAR_WIDTH} 13 L{track} 23 Z" fill="{colour}"/>')
    parts.append(
        f'<line x1="{target_x:.1f}" y1="1" x2="{target_x:.1f}" y2="{BAR_HEIGHT - 1}" '
        'stroke="#222" stroke-width="2"/>'
    )
    parts.append("</svg>")
    return "".join(parts)


def _tick_step(span: float) -> float:
    """A round step (1, 2 or 5 times a power of ten) that cuts ``span`` in 4 to 10."""
    power = 10.0 ** math.floor(math.log10(max(span, 1e-9) / 4))
    for factor in (1, 2, 5, 10):
        if span / (factor * power) <= 10:
            return factor * power
    return 10 * power


def step_timeline(result: DrillResult) -> str:
    """The drill's steps as a Gantt chart: a row per step from its start to its end (steps
    run one after another), the disaster step in orange, and under them the RTO: from the
    disaster's start for ``rto_seconds``, with the target marked."""
    if not result.steps:
        return "<p>No step was timed.</p>"
    starts = [sum(s.seconds for s in result.steps[:i]) for i in range(len(result.steps))]
    total = starts[-1] + result.steps[-1].seconds
    disaster = next((i for i, s in enumerate(result.steps) if s.disaster), None)
    rto_start = starts[disaster] if disaster is not None else None
    rto = result.rto_seconds if rto_start is not None else None
    target = result.rto_target_seconds
    end = total
    if rto_start is not None and rto is not None:
        end = max(end, rto_start + rto)
        if rto_start + target <= 2 * end:  # a far-off target would squash every bar
            end = max(end, rto_start + target)
    end = max(end, 1e-3)
    plot = TIMELINE_WIDTH - NAME_COLUMN - LABEL_ROOM

    def x_at(seconds: float) -> float:
        return NAME_COLUMN + plot * seconds / end

    rows = len(result.steps) + (1 if rto is not None else 0)
    height = 8 + ROW * rows + AXIS_ROOM
    bottom = 8 + ROW * rows
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{TIMELINE_WIDTH}" height="{height}" '
        f'role="img" aria-label="{html.escape(result.scenario)}: steps over time" '
        'font-family="sans-serif" font-size="12" class="timeline">'
    ]
    if rto_start is not None and rto is not None:
        # The RTO window shaded behind the steps it covers.
        shade = GREEN if rto <= target else RED
        parts.append(
            f'<rect x="{x_at(rto_start):.1f}" y="4" '
            f'width="{x_at(rto_start + rto) - x_at(rto_start):.1f}" '
            f'height="{bottom - 4}" fill="{shade}" fill-opacity="0.10"/>'
        )
    step = _tick_step(end)
    tick = 0.0
    while tick <= end * 1.0001:
        parts.append(
            f'<line x1="{x_at(tick):.1f}" y1="4" x2="{x_at(tick):.1f}" y2="{bottom}" '
            'stroke="#e4e4e4"/>'
            f'<text x="{x_at(tick):.1f}" y="{bottom + 14}" text-anchor="middle" fill="{GREY}">'
            f"{tick:g}</text>"
        )
        tick += step
    parts.append(
        f'<text x="{NAME_COLUMN + plot / 2:.0f}" y="{bottom + 32}" text-anchor="middle" '
        f'fill="{GREY}">seconds since the drill began</text>'
    )
    for index, (timing, start) in enumerate(zip(result.steps, starts, strict=True)):
        y = 8 + ROW * index
        colour = ORANGE if timing.disaster else STEP_BLUE
        name = timing.name + (" (disaster)" if timing.disaster else "")
        if not timing.ok:
            colour, name = RED, f"{name} (failed)"
        weight = ' font-weight="bold"' if timing.disaster or not timing.ok else ""
        width = max(x_at(start + timing.seconds) - x_at(start), 1.5)  # an instant step stays seen
        parts.append(
            f'<text x="{NAME_COLUMN - 8}" y="{y + 15}" text-anchor="end"{weight}>'
            f"{html.escape(name)}</text>"
            f'<rect x="{x_at(start):.1f}" y="{y + 3}" width="{width:.1f}" height="16" '
            f'fill="{colour}"><title>{html.escape(timing.name)}: {duration(start)} to '
            f"{duration(start + timing.seconds)}</title></rect>"
            f'<text x="{x_at(start) + width + 4:.1f}" y="{y + 15}">'
            f"{duration(timing.seconds)}</text>"
        )
    if rto_start is not None and rto is not None:
        parts.append(
            _rto_row(
                x_at,
                start=rto_start,
                rto=rto,
                target=target,
                end=end,
                y=8 + ROW * len(result.steps),
            )
        )
    parts.append("</svg>")
    return "\n".join(parts)


def _rto_row(
    x_at: Callable[[float], float], *, start: float, rto: float, target: float, end: float, y: float
) -> str:
    """The timeline's last row: the RTO span from the disaster's start, and the target."""
    colour = GREEN if rto <= target else RED
    parts = [
        f'<text x="{NAME_COLUMN - 8}" y="{y + 15}" text-anchor="end" font-weight="bold" '
        f'fill="{colour}">RTO</text>',
        f'<line x1="{x_at(start):.1f}" y1="4" x2="{x_at(start):.1f}" y2="{y + ROW}" '
        f'stroke="{ORANGE}" stroke-width="2" stroke-dasharray="5 3"/>',
        f'<rect x="{x_at(start):.1f}" y="{y + 3}" width="{x_at(start + rto) - x_at(start):.1f}" '
        f'height="16" fill="{colour}"/>',
        f'<text x="{x_at(start + rto) + 4:.1f}" y="{y + 15}" font-weight="bold">'
        f"{duration(rto)}</text>",
    ]
    if start + target <= end:
        parts.append(
            f'<line x1="{x_at(start + target):.1f}" y1="{y}" x2="{x_at(start + target):.1f}" '
            f'y2="{y + ROW}" stroke="#222" stroke-width="2"/>'
            f'<text x="{x_at(start + target) + 4:.1f}" y="{y - 2}" fill="#222">target '
            f"{duration(target)}</text>"
        )
    return "".join(parts)


def _y(seconds: float, top_seconds: float) -> float:
    span = math.log10(top_seconds) - math.log10(FLOOR_SECONDS)
    share = (math.log10(max(seconds, FLOOR_SECONDS)) - math.log10(FLOOR_SECONDS)) / span
    return HEIGHT - BOTTOM - (HEIGHT - TOP - BOTTOM) * share


def rto_chart(history: list[dict[str, Any]]) -> str:
    """Inline SVG of every drill in ``history`` with an RTO: a dot (green PASS, red FAIL),
    and its scenario's target as a dashed line. One band per scenario, its runs oldest to
    newest left to right, on a log scale: RTOs go from seconds (a deleted PVC) to a quarter
    of an hour (a rebuilt cluster), and on a linear scale the short ones all sit on the
    axis."""
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
                f'y2="{ty:.1f}" stroke="{GREY}" stroke-dasharray="4 3"><title>target '
                f"{target:g} s</title></line>"
            )
        for number, run in enumerate(runs):
            x = left + band * (number + 1) / (len(runs) + 1)
            rto = float(run["rto_seconds"])
            colour = GREEN if run.get("passed") else RED
            label = html.escape(
                f"{scenario} {run.get('started_at')}: RTO {rto:.1f} s, target {target:g} s"
            )
            parts.append(
                f'<circle cx="{x:.1f}" cy="{_y(rto, top):.1f}" r="4" fill="{colour}">'
                f"<title>{label}</title></circle>"
            )
    parts.append(
        f'<text x="{(LEFT + WIDTH - RIGHT) / 2:.0f}" y="{HEIGHT - 8}" text-anchor="middle">'
        "scenario; its runs oldest to newest, left to right (dot: green PASS, red FAIL; "
        "dashed: target)</text>"
    )
    parts.append("</svg>")
    return "\n".join(parts)

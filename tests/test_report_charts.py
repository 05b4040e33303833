"""The report's SVG pictures: the RTO bar, the step time line, the history chart."""

from __future__ import annotations

from xml.etree import ElementTree

import pytest

from restore_drill import report_charts as charts
from restore_drill.report import DrillResult, StepTiming

SVG = "{http://www.w3.org/2000/svg}"


def drill(rto: float | None = 30.0, steps: list[StepTiming] | None = None) -> DrillResult:
    if steps is None:
        steps = [
            StepTiming("deploy_app", 10.0),
            StepTiming("backup", 20.0),
            StepTiming("delete_pvc", 5.0, disaster=True),
            StepTiming("wait_restored", 25.0),
            StepTiming("verify", 2.0),
        ]
    return DrillResult("pvc-delete", "kind", "r1", True, 120, rto_seconds=rto, steps=steps)


def rects(svg: str) -> list[dict[str, str]]:
    return [dict(r.attrib) for r in ElementTree.fromstring(svg).iter(f"{SVG}rect")]


@pytest.mark.parametrize(
    ("seconds", "words"),
    [(4.24, "4.2 s"), (99.9, "99.9 s"), (151.8, "152 s"), (845, "14 min 05 s"), (900, "15 min")],
)
def test_durations_read_as_a_person_says_them(seconds: float, words: str) -> None:
    assert charts.duration(seconds) == words


def test_the_rto_bar_is_green_within_the_target_and_red_over_it() -> None:
    target_x = (charts.BAR_WIDTH - 10) / charts.BAR_SCALE
    _, under = rects(charts.rto_bar(60, 120))
    assert float(under["width"]) == pytest.approx(target_x / 2), "half the target: half way"
    assert under["fill"] == charts.GREEN
    _, over = rects(charts.rto_bar(132, 120))
    assert float(over["width"]) == pytest.approx(target_x * 1.1) and over["fill"] == charts.RED
    mark = ElementTree.fromstring(charts.rto_bar(60, 120)).find(f"{SVG}line")
    assert mark is not None and float(mark.get("x1", "0")) == pytest.approx(target_x)


def test_an_rto_far_over_the_target_is_cut_off_with_an_arrow() -> None:
    svg = charts.rto_bar(1200, 120)
    _, bar = rects(svg)
    assert float(bar["width"]) == pytest.approx(charts.BAR_WIDTH - 10)
    assert "<path" in svg and "<path" not in charts.rto_bar(170, 120)


def test_steps_start_where_the_one_before_ended() -> None:
    svg = charts.step_timeline(drill())
    bars = [r for r in rects(svg) if r.get("height") == "16"]
    starts = [float(b["x"]) for b in bars[:5]]
    ends = [float(b["x"]) + float(b["width"]) for b in bars[:5]]
    assert starts[0] == charts.NAME_COLUMN
    for end, next_start in zip(ends, starts[1:], strict=False):
        assert next_start == pytest.approx(end, abs=0.15)
    assert [b["fill"] for b in bars[:5]] == [charts.STEP_BLUE] * 2 + [charts.ORANGE] + [
        charts.STEP_BLUE
    ] * 2
    for label in ("delete_pvc (disaster)", "10.0 s", "25.0 s", "seconds since the drill began"):
        assert f">{label}<" in svg, label


def test_the_rto_span_runs_from_the_disaster_start_for_the_rto() -> None:
    svg = charts.step_timeline(drill(rto=100.0))
    bars = [r for r in rects(svg) if r.get("height") == "16"]
    disaster, rto = bars[2], bars[-1]
    assert rto["x"] == disaster["x"], "the RTO starts with the disaster step"
    seconds = float(bars[1]["width"]) / 20.0  # backup took 20 s
    assert float(rto["width"]) == pytest.approx(100.0 * seconds, rel=0.01)
    assert rto["fill"] == charts.GREEN and ">RTO<" in svg and ">target 120 s<" in svg
    # A target far beyond the drill's end would squash every bar: it is left off.
    assert ">target 120 s<" not in charts.step_timeline(drill(rto=20.0))
    late = [r for r in rects(charts.step_timeline(drill(rto=140.0))) if r.get("height") == "16"]
    assert late[-1]["fill"] == charts.RED


def test_a_timeline_without_an_rto_or_a_disaster_has_no_rto_row() -> None:
    svg = charts.step_timeline(drill(rto=None))
    assert ">RTO<" not in svg
    plain = drill()
    plain.steps = [StepTiming(s.name, s.seconds) for s in plain.steps]  # an older result.json
    assert ">RTO<" not in charts.step_timeline(plain)
    assert "No step was timed" in charts.step_timeline(drill(steps=[]))


def test_a_failed_step_is_red_and_says_so() -> None:
    broken = drill(rto=None)
    broken.steps[-1] = StepTiming("verify", 2.0, ok=False)
    svg = charts.step_timeline(broken)
    assert ">verify (failed)<" in svg
    assert [r for r in rects(svg) if r.get("height") == "16"][-1]["fill"] == charts.RED

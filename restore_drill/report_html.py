"""report.html: one page a person reads in seconds, whole in itself (inline CSS and SVG,
no script, nothing fetched), so it opens the same from a CI artifact as from disk.

Top to bottom: how many drills passed; per drill its RTO against the target, RPO and
verdict; per drill its steps over time, what verify found, the failure and the notes;
RTO against target across runs (the pictures are report_charts').
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

from restore_drill.report_charts import duration, rto_bar, rto_chart, step_timeline

if TYPE_CHECKING:
    from restore_drill.report import DrillResult

STYLE = """
body{font-family:sans-serif;max-width:1060px;margin:16px auto;padding:0 16px;color:#222}
h1{margin:0 0 4px}h2{margin:28px 0 8px;border-bottom:2px solid #ddd}
h3{margin:22px 0 6px}.meta{color:#666;font-size:90%}
.banner{padding:10px 14px;font-size:130%;font-weight:bold;color:#fff;margin:10px 0}
.banner.pass{background:#2a7}.banner.fail{background:#c33}
table{border-collapse:collapse;width:100%}.nowrap{white-space:nowrap}
td,th{padding:4px 10px;border-bottom:1px solid #ddd;
text-align:left;vertical-align:middle}th{background:#f4f4f4}
.verdict{display:inline-block;padding:2px 10px;color:#fff;font-weight:bold;border-radius:3px}
.verdict.PASS{background:#2a7}.verdict.FAIL{background:#c33}
.bar{display:flex;align-items:center;gap:10px;white-space:nowrap}
.over{color:#c33;font-weight:bold}.under{color:#2a7}
.outcome-only{display:inline-block;padding:3px 8px;background:#f0f0f0;border-left:4px solid #888}
pre{white-space:pre-wrap;background:#fdf0f0;border-left:4px solid #c33;padding:6px 10px}
pre.declared{background:#f0f0f0;border-left-color:#888}
ul{margin:4px 0}.verify li{margin:2px 0}
"""

TIMELINE_KEY = (
    "Each bar is a step, from its start to its end. Orange: the disaster. Shaded and on the "
    "RTO row: the RTO, from the disaster's start until the restored PVC is Bound and the app "
    "pod Ready (green within the target, red over it); black mark: the target."
)


def html_report(
    results: list[DrillResult], history: list[dict[str, Any]], *, title: str = "restore-drill"
) -> str:
    failed = sum(1 for r in results if not r.passed)
    if not results:
        banner = '<div class="banner fail">No drill ran</div>'
    elif failed:
        banner = f'<div class="banner fail">{failed} of {len(results)} drills FAILED</div>'
    else:
        banner = f'<div class="banner pass">All {len(results)} drills passed</div>'
    started = min((r.started_at for r in results), default="")
    backends = ", ".join(sorted({r.backend for r in results}))
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)} report</title><style>{STYLE}</style></head><body>"
        f"<h1>{html.escape(title)}</h1>"
        f'<div class="meta">run started {html.escape(started)} · backend '
        f"{html.escape(backends)}</div>{banner}"
        "<h2>RTO against target</h2>"
        f"{overview(results)}"
        f'<h2>Each drill, step by step</h2><p class="meta">{TIMELINE_KEY}</p>'
        + "".join(drill_section(r) for r in results)
        + "<h2>RTO against target, across runs</h2>"
        f"{rto_chart(history)}</body></html>\n"
    )


def overview(results: list[DrillResult]) -> str:
    """A row per drill: its RTO as a bar against the target (100% is the black mark), the
    RPO beside it, and the verdict. A drill with no RTO shows what it did instead."""
    from restore_drill.report import outcome_cell

    rows = []
    for r in results:
        if r.rto_seconds is not None:
            over = r.rto_seconds > r.rto_target_seconds
            words = f"{duration(r.rto_seconds)} of {duration(r.rto_target_seconds)} target"
            rto = (
                f'<div class="bar">{rto_bar(r.rto_seconds, r.rto_target_seconds)}'
                f'<span class="{"over" if over else "under"}">{words}'
                f"{' (OVER)' if over else ''}</span></div>"
            )
        else:
            rto = (
                '<span class="outcome-only">no RTO: '
                f"{html.escape(r.outcome_observed or 'no restore was measured')}</span>"
            )
        rpo = "-" if r.rpo_seconds is None else duration(r.rpo_seconds)
        rows.append(
            f'<tr><td class="nowrap"><a href="#{html.escape(anchor(r))}">'
            f"<b>{html.escape(r.scenario)}</b></a>"
            f'<div class="meta">{html.escape(r.backend)} · {html.escape(r.dataset or "-")}'
            f'</div></td><td>{rto}</td><td class="nowrap">{rpo}</td>'
            f"<td>{html.escape(outcome_cell(r))}</td>"
            f'<td><span class="verdict {r.verdict}">{r.verdict}</span></td></tr>'
        )
    head = "".join(
        f"<th>{h}</th>"
        for h in ("scenario", "RTO against target (black mark)", "RPO", "outcome", "verdict")
    )
    return f"<table><tr>{head}</tr>{''.join(rows)}</table>"


def anchor(r: DrillResult) -> str:
    return f"{r.scenario}-{r.run_id}"


def drill_section(r: DrillResult) -> str:
    """One drill: its steps over time, what verify found, its failure and its notes."""
    parts = [
        f'<h3 id="{html.escape(anchor(r))}">{html.escape(r.scenario)} '
        f'<span class="verdict {r.verdict}">{r.verdict}</span></h3>',
        f'<div class="meta">run {html.escape(r.run_id)} · {html.escape(r.backend)} · data '
        f"{html.escape(r.dataset or '-')} · started {html.escape(r.started_at)}</div>",
    ]
    if r.interrupted:
        parts.append(f"<pre>stopped by a signal in step {html.escape(r.interrupted)}</pre>")
    if r.failure:
        parts.append(f"<pre>{html.escape(f'{r.failure_type}: {r.failure}')}</pre>")
    if r.observed_failure:
        declared = f"failed loudly, as declared ({r.outcome_expected}): {r.observed_failure}"
        parts.append(f'<pre class="declared">{html.escape(declared)}</pre>')
    parts.append(step_timeline(r))
    parts.append(app_rtos(r))
    lines = verify_lines(r.verify)
    took = f" (took {duration(r.verify_seconds)})" if r.verify_seconds is not None else ""
    parts.append(f"<p><b>What verify found{took}</b></p>")
    parts.append('<ul class="verify">' + "".join(f"<li>{line}</li>" for line in lines) + "</ul>")
    if r.notes:
        parts.append("<p><b>Notes</b></p>")
        parts.append("<ul>" + "".join(f"<li>{html.escape(n)}</li>" for n in r.notes) + "</ul>")
    return "".join(parts)


def app_rtos(r: DrillResult) -> str:
    """A many-app drill's RTO per app, fastest first (the drill's RTO is the last one)."""
    apps = r.rto_cluster.get("apps") or {}
    if not apps:
        return ""
    ordered = sorted(apps.items(), key=lambda item: float(item[1]))
    listed = ", ".join(f"{html.escape(name)} {duration(float(s))}" for name, s in ordered)
    return f"<p><b>RTO per app</b> ({len(apps)} apps, fastest first): {listed}</p>"


def size(count: int) -> str:
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if count >= scale:
            return f"{count / scale:.1f} {unit}"
    return f"{count} bytes"


def verify_lines(verify: dict[str, Any]) -> list[str]:
    """DrillResult.verify in plain words, HTML-escaped: per PVC how much was checked against
    which dataset, what differed, and which backup came back."""
    e = html.escape
    pvcs = verify.get("pvcs") or {}
    if not pvcs:
        return ["The data was not verified: the drill stopped before verify."]
    dataset = str(verify.get("dataset") or "")
    lines = []
    for key, found in sorted(pvcs.items()):
        checked = f"{found.get('entries', '?')} entries"
        if found.get("bytes") is not None:  # results written before bytes were counted lack it
            checked += f", {size(int(found['bytes']))}"
        counts = found.get("counts") or {}
        if found.get("ok"):
            verdict = '<span class="under">identical</span>'
        else:
            verdict = (
                f'<span class="over">DIFFERENT: {counts.get("missing", 0)} missing, '
                f"{counts.get('extra', 0)} extra, {counts.get('changed', 0)} changed</span>"
            )
        line = f"<b>{e(key)}</b>: {checked} checked against the “{e(dataset)}” dataset: {verdict}"
        differences = [f"missing {p}" for p in found.get("missing") or []]
        differences += [f"extra {p}" for p in found.get("extra") or []]
        differences += [f"changed {c['path']} ({c['field']})" for c in found.get("changed") or []]
        if differences:
            line += f" (first: {e('; '.join(differences[:5]))})"
        if found.get("marker_present"):
            line += "; the marker written after the backup is there: the data is too new"
        line += f". {came_back(found, dataset)}"
        ignored = found.get("not_compared") or {}
        if ignored:
            line += " Not compared: " + e(", ".join(f"{k} ({v})" for k, v in ignored.items()))
        lines.append(line)
    return lines


def came_back(found: dict[str, Any], dataset: str) -> str:
    """Which backup the restore brought back, with its snapshots where known."""
    e = html.escape
    back = found.get("came_back")
    if back == dataset:
        words = f"The backup of “{e(dataset)}” came back"
    elif back:
        words = (
            f'<span class="over">The “{e(str(back))}” backup came back, not “{e(dataset)}”</span>'
        )
    else:
        words = "No dataset written in the drill matches it exactly"
    backed_up = found.get("snapshot_backed_up") or {}
    evidence = []
    if backed_up.get("id"):
        evidence.append(f"backed up as restic snapshot {e(str(backed_up['id'])[:8])}")
    if found.get("snapshot_restored"):
        evidence.append(f"restored snapshot {e(str(found['snapshot_restored'])[:8])}")
    if found.get("populated_from"):
        evidence.append(f"through VolumeSnapshot {e(str(found['populated_from']))}")
    return words + (f" ({', '.join(evidence)})." if evidence else ".")

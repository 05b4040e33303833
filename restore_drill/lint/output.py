"""Findings as a table grouped by app, as JSON, or as SARIF 2.1.0 for code-scanning UIs."""

from __future__ import annotations

import json
from collections.abc import Sequence

from restore_drill import __version__
from restore_drill.lint.catalog import RULES
from restore_drill.lint.findings import SEVERITIES, Finding

_ORDER = {severity: index for index, severity in enumerate(SEVERITIES)}
_SARIF_LEVEL = {"error": "error", "warning": "warning", "info": "note"}


def sort_findings(findings: Sequence[Finding]) -> list[Finding]:
    return sorted(
        findings,
        key=lambda f: (f.app or "~", _ORDER.get(f.severity, 9), f.rule, f.file, f.object_ref),
    )


def counts(findings: Sequence[Finding]) -> dict[str, int]:
    return {severity: sum(f.severity == severity for f in findings) for severity in SEVERITIES}


def as_text(findings: Sequence[Finding], notes: Sequence[str] = ()) -> str:
    lines: list[str] = []
    current: str | None = None
    for item in sort_findings(findings):
        app = item.app or "(input)"
        if app != current:
            current = app
            lines.append(f"{app}")
        lines.append(f"  {item.severity:<7} {item.rule}  {item.message}")
        lines.append(f"  {'':<7} {'':<5}  fix: {item.hint}")
    total = counts(findings)
    lines.extend(notes)
    lines.append(f"{total['error']} error(s), {total['warning']} warning(s), {total['info']} info")
    return "\n".join(lines) + "\n"


def as_json(findings: Sequence[Finding], notes: Sequence[str] = ()) -> str:
    document = {
        "tool": "restore-drill lint",
        "version": __version__,
        "summary": counts(findings),
        "notes": list(notes),
        "findings": [f.to_dict() for f in sort_findings(findings)],
    }
    return json.dumps(document, indent=2) + "\n"


def as_sarif(findings: Sequence[Finding], notes: Sequence[str] = ()) -> str:
    used = sorted({f.rule for f in findings})
    rules = [
        {
            "id": rule_id,
            "name": RULES[rule_id].title,
            "shortDescription": {"text": RULES[rule_id].title},
            "help": {"text": RULES[rule_id].hint},
            "defaultConfiguration": {"level": _SARIF_LEVEL[RULES[rule_id].severity]},
        }
        for rule_id in used
    ]
    results = []
    for item in sort_findings(findings):
        result: dict[str, object] = {
            "ruleId": item.rule,
            "ruleIndex": used.index(item.rule),
            "level": _SARIF_LEVEL[item.severity],
            "message": {"text": f"{item.message}. Fix: {item.hint}"},
        }
        if item.file:
            region = {"startLine": item.line} if item.line else {}
            location: dict[str, object] = {
                "artifactLocation": {"uri": item.file, "uriBaseId": "SRCROOT"}
            }
            if region:
                location["region"] = region
            result["locations"] = [{"physicalLocation": location}]
        results.append(result)
    document = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {"name": "restore-drill-lint", "version": __version__, "rules": rules}
                },
                "results": results,
                "invocations": [
                    {
                        "executionSuccessful": True,
                        "toolExecutionNotifications": [{"message": {"text": n}} for n in notes],
                    }
                ],
            }
        ],
    }
    return json.dumps(document, indent=2) + "\n"


FORMATTERS = {"text": as_text, "json": as_json, "sarif": as_sarif}

"""Label and field selectors, parsed as the API server parses them."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from restore_drill.clusters.sim.api.status import ApiError

Obj = dict[str, Any]
Matcher = Callable[[Obj], bool]

# Fields the real server indexes per kind (beyond metadata.name / metadata.namespace).
FIELDS: dict[str, tuple[str, ...]] = {
    "Pod": (
        "status.phase",
        "spec.nodeName",
        "spec.restartPolicy",
        "spec.schedulerName",
        "spec.serviceAccountName",
        "status.podIP",
        "status.nominatedNodeName",
    ),
    "Event": (
        "involvedObject.kind",
        "involvedObject.namespace",
        "involvedObject.name",
        "involvedObject.uid",
        "involvedObject.apiVersion",
        "involvedObject.resourceVersion",
        "involvedObject.fieldPath",
        "reason",
        "reportingComponent",
        "source",
        "type",
    ),
    "Secret": ("type",),
    "Namespace": ("status.phase",),
    "PersistentVolumeClaim": (),
    "Job": ("status.successful",),
}

_SET = re.compile(r"^\s*([^\s!=]+)\s+(in|notin)\s+\((.*)\)\s*$")


def _split(text: str) -> list[str]:
    """Split on commas that are not inside parentheses."""
    parts, depth, current = [], 0, ""
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    if current.strip():
        parts.append(current)
    return [p.strip() for p in parts if p.strip()]


LabelTest = Callable[[dict[str, str]], bool]


def _in(key: str, values: set[str], *, negate: bool) -> LabelTest:
    return lambda labels: (labels.get(key) in values) != negate


def _equals(key: str, value: str, *, negate: bool) -> LabelTest:
    return lambda labels: (labels.get(key) == value) != negate


def _exists(key: str, *, negate: bool) -> LabelTest:
    return lambda labels: (key in labels) != negate


def label_matcher(selector: str | None) -> Matcher:
    if not selector:
        return lambda obj: True
    tests: list[LabelTest] = []
    for term in _split(selector):
        if found := _SET.match(term):
            key, op, values = (
                found.group(1),
                found.group(2),
                {v.strip() for v in found.group(3).split(",") if v.strip()},
            )
            tests.append(_in(key, values, negate=op == "notin"))
        elif "!=" in term:
            key, value = (s.strip() for s in term.split("!=", 1))
            tests.append(_equals(key, value, negate=True))
        elif "=" in term:
            key, value = (s.strip() for s in term.replace("==", "=").split("=", 1))
            tests.append(_equals(key, value, negate=False))
        elif term.startswith("!"):
            tests.append(_exists(term[1:].strip(), negate=True))
        elif re.fullmatch(r"[A-Za-z0-9._/-]+", term):
            tests.append(_exists(term, negate=False))
        else:
            raise ApiError(400, f"unable to parse requirement: {term!r}")

    def matches(obj: Obj) -> bool:
        labels = (obj.get("metadata") or {}).get("labels") or {}
        return all(test(labels) for test in tests)

    return matches


def field_value(obj: Obj, path: str) -> str:
    value: Any = obj
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    if path == "source" and isinstance(value, dict):
        value = value.get("component")
    return "" if value is None else str(value)


def field_matcher(selector: str | None, kind: str) -> Matcher:
    if not selector:
        return lambda obj: True
    allowed = {"metadata.name", "metadata.namespace", *FIELDS.get(kind, ())}
    tests: list[tuple[str, str, bool]] = []
    for term in _split(selector):
        negate = "!=" in term
        key, _, value = term.replace("!=", "=").replace("==", "=").partition("=")
        key = key.strip()
        if key not in allowed:
            raise ApiError(400, f"field label not supported: {key}")
        tests.append((key, value.strip(), negate))

    def matches(obj: Obj) -> bool:
        return all((field_value(obj, key) == value) != negate for key, value, negate in tests)

    return matches

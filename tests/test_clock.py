"""The RTO read twice: the drill fails unless both readings exist, are positive and agree."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from restore_drill import steps
from restore_drill.dryrun import Plan, RecordingKube
from restore_drill.errors import MeasurementError
from restore_drill.runner import judge
from restore_drill.scenario import find_scenario
from restore_drill.steps import actions, clock
from tests.drill_stubs import stub_drill
from tests.test_steps import drill

T0 = datetime(2026, 12, 2, 12, 0, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return datetime.fromtimestamp(T0.timestamp() + seconds, UTC)


def stamped(**meta: Any) -> dict[str, Any]:
    return {"metadata": meta}


def test_a_deletion_is_stamped_by_its_deletion_timestamp() -> None:
    answer = stamped(deletionTimestamp="2026-12-02T12:00:05Z", managedFields=[])
    assert clock.written_at(answer) == at(5)


def test_a_patch_is_stamped_by_its_newest_managed_fields_entry() -> None:
    fields = [{"time": "2026-12-02T11:00:00Z"}, {"time": "2026-12-02T12:00:07Z"}, {}]
    assert clock.written_at(stamped(managedFields=fields)) == at(7)
    assert clock.written_at({"kind": "Status"}) is None


def test_restore_end_is_read_from_the_pv_and_the_pods_ready_condition() -> None:
    pv = {"status": {"phase": "Bound", "lastPhaseTransitionTime": "2026-12-02T12:00:30Z"}}
    pod = {
        "status": {
            "conditions": [
                {"type": "PodScheduled", "status": "True", "lastTransitionTime": "x"},
                {"type": "Ready", "status": "True", "lastTransitionTime": "2026-12-02T12:00:41Z"},
            ]
        }
    }
    assert clock.bound_at(pv) == at(30) and clock.ready_at(pod) == at(41)
    assert (
        clock.ready_at({"status": {"conditions": [{"type": "Ready", "status": "False"}]}}) is None
    )


def restored_drill(process: float, cluster: float, *, server_start: bool = True) -> Any:
    d = drill()
    d.disaster_started, d.pvc_bound, d.app_ready = 1000.0, 1000.0 + process - 5, 1000.0 + process
    d.disaster_wall = T0.timestamp()
    if server_start:
        d.stamp_disaster(stamped(deletionTimestamp="2026-12-02T12:00:00Z"))
    else:
        d.disaster_record_lost = True
    d.restored_server = at(cluster)
    return d


def test_readings_that_agree_pass_and_are_recorded() -> None:
    d = restored_drill(41.4, 41)
    judge(find_scenario("pvc-delete"), d)
    record = clock.clock_record(d)
    assert record["seconds"] == 41.0 and record["disaster_at"] == T0.isoformat()
    assert "API server" in record["start_from"]


def test_a_clock_started_late_disagrees_with_the_cluster() -> None:
    # The harness's clock started at the PVC's Bound: 0.5 s, while the cluster saw 40 s.
    with pytest.raises(MeasurementError, match=r"0.5s by this process but 40s by the cluster"):
        judge(find_scenario("pvc-delete"), restored_drill(0.5, 40))


def test_no_rto_and_a_zero_rto_fail() -> None:
    scenario = find_scenario("pvc-delete")
    with pytest.raises(MeasurementError, match="no RTO was measured"):
        judge(scenario, drill())
    with pytest.raises(MeasurementError, match="stopped before it started"):
        judge(scenario, restored_drill(0.0, 0, server_start=False))


def test_a_torn_down_cluster_starts_the_cluster_reading_from_this_machine() -> None:
    d = restored_drill(300.2, 300, server_start=False)
    judge(find_scenario("cluster-rebuild"), d)
    assert d.cluster_rto_seconds == 300.0
    assert "this machine" in clock.clock_record(d)["start_from"]


def test_a_disaster_the_server_did_not_stamp_fails_unless_the_cluster_is_gone() -> None:
    d = restored_drill(41.4, 41)
    d.disaster_server = None
    with pytest.raises(MeasurementError, match="recorded no time for the disaster"):
        judge(find_scenario("pvc-delete"), d)


def test_the_earliest_disaster_write_starts_the_cluster_reading() -> None:
    d = drill()
    for when in ("2026-12-02T12:00:03Z", "2026-12-02T12:00:01Z", None):
        d.stamp_disaster(stamped(deletionTimestamp=when) if when else {"kind": "Status"})
    assert d.disaster_server == at(1)


class StampingKube(RecordingKube):
    """Answers deletes as the API server does for a held object; patches with managed
    fields; every wait ends well."""

    def delete_answered(self, kind: Any, name: str, namespace: Any = None, **_: Any) -> Any:
        answer = super().delete_answered(kind, name, namespace)
        answer["metadata"]["deletionTimestamp"] = "2026-12-02T12:00:05Z"
        return answer

    def patch(self, kind: Any, name: str, patch: Any, namespace: Any = None, **_: Any) -> Any:
        answer = super().patch(kind, name, patch, namespace)
        answer["metadata"]["managedFields"] = [{"time": "2026-12-02T12:00:02Z"}]
        return answer


@pytest.mark.parametrize(
    ("step", "stamp"),
    [
        ("delete_pvc", at(5)),
        ("delete_app", at(5)),
        ("delete_namespace", at(5)),
        ("manual_restore_older", at(2)),  # the scale to 0 comes first
    ],
)
def test_disaster_steps_stamp_the_servers_time(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch, step: str, stamp: Any
) -> None:
    # The older snapshot's restore reads answers no stand-in has: not what is tested here.
    monkeypatch.setattr(actions, "restore_point", lambda drill: None)
    d = stub_drill(tmp_path, StampingKube(Plan(tmp_path)))
    d.created_namespaces = {a.namespace for a in d.apps}
    steps.STEPS[step].run(d)
    assert d.disaster_server == stamp and not d.disaster_record_lost

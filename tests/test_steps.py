"""Steps and faults: the registry scenario files rely on, and RTO/RPO arithmetic."""

from __future__ import annotations

from typing import Any

import pytest

from restore_drill import steps
from restore_drill.errors import RestoreTimeout
from restore_drill.report import StepTiming
from restore_drill.runner import judge, run_steps
from restore_drill.scenario import find_scenario
from restore_drill.steps.context import Drill


def drill(**kw: Any) -> Drill:
    base: dict[str, Any] = dict(
        scenario="s",
        run_id="r",
        cluster=None,
        object_store=None,
        bucket="b",
        apps=[],
        profile={},
        size="1MiB",
        seed=1,
        step_timeout=10,
        target_seconds=120,
    )
    return Drill(**{**base, **kw})


def test_steps_a_person_would_say() -> None:
    wanted = {
        "deploy_app",
        "write_dataset",
        "backup",
        "restore_point",
        "write_marker",
        "delete_pvc",
        "delete_app",
        "delete_namespace",
        "rebuild_cluster",
        "upgrade_volsync",
        "recreate_app",
        "wait_restored",
        "verify",
        "manual_restore_older",
        "keep_backups",
    }
    assert wanted <= set(steps.STEPS)
    disasters = {n for n, s in steps.STEPS.items() if s.disaster}
    assert disasters == {
        "delete_pvc",
        "delete_app",
        "delete_namespace",
        "rebuild_cluster",
        "manual_restore_older",
    }


def test_every_fault_strikes_after_a_real_step() -> None:
    assert {
        "corrupt-repository",
        "restore-previous-snapshot",
        "lose-file-before-backup",
    } <= set(steps.FAULTS)
    for spec in steps.FAULTS.values():
        assert spec.after in steps.STEPS


def test_rto_needs_both_bound_and_ready_and_takes_the_later() -> None:
    d = drill()
    d.disaster_started, d.pvc_bound = 100.0, 130.0
    assert d.rto_seconds is None
    d.app_ready = 140.0
    assert d.rto_seconds == 40.0


def test_rpo_is_the_age_of_the_newest_backup_before_the_disaster() -> None:
    d = drill(backup_times=[10.0, 50.0, 500.0])
    assert d.rpo_seconds is None
    d.disaster_wall = 80.0
    assert d.rpo_seconds == 30.0


def test_over_target_is_a_restore_timeout_naming_both() -> None:
    scenario = find_scenario("pvc-delete")
    d = drill(disaster_record_lost=True)
    d.disaster_started, d.pvc_bound, d.app_ready = 0.0, 100.0, 125.0
    with pytest.raises(RestoreTimeout, match=r"125.0s, target is 120s") as caught:
        judge(scenario, d)
    assert caught.value.measured_seconds == 125.0
    d.app_ready = 119.0
    judge(scenario, d)


def test_runner_times_steps_and_runs_faults_after_their_step(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[str] = []
    scenario = find_scenario("pvc-delete").with_faults("corrupt-repository")
    for name in [c.name for c in scenario.steps]:
        spec = steps.STEPS[name]
        monkeypatch.setitem(
            steps.STEPS,
            name,
            steps.StepSpec(
                name, lambda d, _n=name, **p: calls.append(_n), spec.disaster, spec.params
            ),
        )
    monkeypatch.setitem(
        steps.FAULTS,
        "corrupt-repository",
        steps.FaultSpec("corrupt-repository", "backup", lambda d: calls.append("FAULT")),
    )
    timings: list[StepTiming] = []
    d = drill()
    run_steps(scenario, d, timings)
    assert calls[calls.index("backup") + 1] == "FAULT"
    assert [t.name for t in timings] == [c.name for c in scenario.steps]
    assert [t.name for t in timings if t.disaster] == ["delete_pvc"], "the report marks it"
    assert "fault injected after backup: corrupt-repository" in d.notes


def test_a_failing_step_is_timed_and_stops_the_drill(monkeypatch: pytest.MonkeyPatch) -> None:
    scenario = find_scenario("pvc-delete")

    def boom(d: Drill) -> None:
        raise steps.verification.VerificationFailed("nope")

    for c in scenario.steps:
        spec = steps.STEPS[c.name]
        fn = boom if c.name == "backup" else (lambda d, **p: None)
        monkeypatch.setitem(
            steps.STEPS, c.name, steps.StepSpec(c.name, fn, spec.disaster, spec.params)
        )
    timings: list[StepTiming] = []
    with pytest.raises(steps.verification.VerificationFailed):
        run_steps(scenario, drill(), timings)
    assert timings[-1].name == "backup" and timings[-1].ok is False


def test_verify_refuses_a_dataset_smaller_than_the_profile_writes() -> None:
    from restore_drill.data import Manifest, load_profile
    from restore_drill.errors import MeasurementError
    from restore_drill.steps.verification import check_dataset_written

    d = drill(profile=load_profile("paperless"), size="256KiB")
    with pytest.raises(MeasurementError, match=r"app/data: .* 0 files, 0 bytes; .* 262143 bytes"):
        check_dataset_written(d, {"app/data": Manifest()})
    with pytest.raises(MeasurementError, match="no dataset was written before verify"):
        steps.STEPS["verify"].run(d)
    # The step itself holds the dataset to the floor before it compares anything.
    d.datasets, d.last_dataset = {"dataset": {"app/data": Manifest()}}, "dataset"
    with pytest.raises(MeasurementError, match="0 files, 0 bytes"):
        steps.STEPS["verify"].run(d)


def test_verify_names_the_backup_that_came_back(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from restore_drill import data
    from restore_drill.dryrun import Plan, RecordingKube
    from restore_drill.errors import VerificationFailed
    from restore_drill.steps import verification
    from tests.drill_stubs import stub_drill

    d = stub_drill(tmp_path, kube=RecordingKube(Plan(tmp_path)))
    d.profile, d.size = data.load_profile("paperless"), "4KiB"
    for name, seed in (("older", 1), ("newer", 2)):
        root = tmp_path / name
        data.write_dataset(d.profile, seed, data.parse_size(d.size), root)
        d.datasets[name] = {
            f"{a.name}/{p}": data.manifest_of(root) for a in d.apps for p in a.fixture.pvcs
        }
    d.last_dataset = "newer"
    restored = {"manifest": next(iter(d.datasets["older"].values()))}
    monkeypatch.setattr(
        verification,
        "list_all_data",
        lambda drill: {f"{a.name}/{p}": restored["manifest"] for a, p in drill.volumes()},
    )
    with pytest.raises(VerificationFailed, match="the 'older' dataset came back, not 'newer'"):
        steps.STEPS["verify"].run(d)
    restored["manifest"] = next(iter(d.datasets["newer"].values()))
    steps.STEPS["verify"].run(d)
    assert {v["came_back"] for v in d.verify["pvcs"].values()} == {"newer"}
    newer = next(iter(d.datasets["newer"].values()))
    assert {(v["entries"], v["bytes"]) for v in d.verify["pvcs"].values()} == {
        (len(newer.entries), newer.total_bytes)
    }, "the report says how much was checked"


def test_a_restore_the_gitops_resync_started_is_waited_for_and_noted(tmp_path: Any) -> None:
    from restore_drill.dryrun import Plan, RecordingKube
    from restore_drill.steps.actions import settle_destination
    from tests.drill_stubs import stub_drill

    class Destination(RecordingKube):
        last = "drill-r1-restore-1"

        def find(self, kind: Any, name: str, namespace: Any = None) -> Any:
            return {
                "metadata": {"name": name},
                "spec": {"trigger": {"manual": "restore-once"}},
                "status": {"lastManualSync": self.last, "latestImage": {"name": "snap-a"}},
            }

        def wait_for(self, kind: Any, name: str, namespace: Any, predicate: Any, **kw: Any) -> Any:
            super().wait_for(kind, name, namespace, predicate, **kw)
            done = {"status": {"lastManualSync": "restore-once", "latestImage": {"name": "snap-b"}}}
            assert predicate(done)
            return done

    plan = Plan(tmp_path)
    d = stub_drill(tmp_path, Destination(plan))
    app = d.apps[0]
    settle_destination(d, app, app.fixture.pvcs[0])
    assert any("finish manual sync 'restore-once'" in line for line in plan.lines)
    assert "populated from snap-a (now snap-b)" in d.notes[0]
    Destination.last = "restore-once"  # nothing started: nothing to wait for
    d.notes.clear()
    settle_destination(d, app, app.fixture.pvcs[0])
    assert not d.notes


def test_a_drill_refuses_a_namespace_it_did_not_create(tmp_path: Any) -> None:
    from restore_drill import k8s
    from restore_drill.dryrun import Plan, RecordingKube
    from restore_drill.errors import RefusedDestructiveAction
    from tests.drill_stubs import stub_drill

    class Taken(RecordingKube):
        def find(self, kind: Any, name: str, namespace: Any = None) -> Any:
            return {"metadata": {"name": name}} if kind == k8s.NAMESPACE else None

    d = stub_drill(tmp_path, Taken(Plan(tmp_path)))
    assert [a.namespace for a in d.apps] == ["rd-r1-home-assistant"]
    with pytest.raises(RefusedDestructiveAction, match="rd-r1-home-assistant exists"):
        steps.STEPS["deploy_app"].run(d)
    assert not d.created_namespaces


def test_a_fleet_drill_refuses_before_it_applies_anything(tmp_path: Any) -> None:
    from restore_drill import k8s
    from restore_drill.dryrun import Plan, RecordingKube
    from restore_drill.errors import RefusedDestructiveAction
    from tests.drill_stubs import stub_drill

    class LastTaken(RecordingKube):
        def find(self, kind: Any, name: str, namespace: Any = None) -> Any:
            taken = kind == k8s.NAMESPACE and name.endswith("-jellyfin-5")
            return {"metadata": {"name": name}} if taken else None

    kube = LastTaken(Plan(tmp_path))
    d = stub_drill(tmp_path, kube, "fleet-cluster-rebuild")
    with pytest.raises(RefusedDestructiveAction, match="jellyfin-5 exists"):
        steps.STEPS["deploy_app"].run(d)
    assert not d.created_namespaces
    assert not [line for line in kube.plan.lines if line.startswith("apply")]


def test_a_fleet_is_re_synced_all_at_once(tmp_path: Any) -> None:
    import threading

    from restore_drill.dryrun import Plan, RecordingKube
    from tests.drill_stubs import stub_drill

    apps = 18
    # Each app's namespace is applied only once every app has started: one after another,
    # the first would wait here until the barrier breaks.
    everyone = threading.Barrier(apps, timeout=20)

    class AllAtOnce(RecordingKube):
        def apply(self, manifest: Any, *, field_manager: str = "") -> Any:
            if manifest["kind"] == "Namespace":
                everyone.wait()
            return super().apply(manifest, field_manager=field_manager)

    d = stub_drill(tmp_path, AllAtOnce(Plan(tmp_path)), "fleet-cluster-rebuild")
    assert len(d.apps) == apps
    steps.STEPS["recreate_app"].run(d)
    assert d.created_namespaces == {a.namespace for a in d.apps}
    applied = [line for line in d.kube().plan.lines if line.startswith("apply")]
    for app in d.apps:
        assert any(f"PersistentVolumeClaim {app.namespace}/" in line for line in applied)


def test_a_fleet_drill_renders_each_app_on_its_tier_in_its_own_namespace(tmp_path: Any) -> None:
    from restore_drill import k8s
    from restore_drill.dryrun import Plan, RecordingKube
    from tests.drill_stubs import stub_drill

    d = stub_drill(tmp_path, RecordingKube(Plan(tmp_path)), "fleet-cluster-rebuild")
    assert len({a.namespace for a in d.apps}) == 18
    by_name = {a.name: a for a in d.apps}
    critical = by_name["paperless-ngx-1"].fixture.of_kind(k8s.REPLICATION_SOURCE)
    # home-assistant's fixture backs up hourly; its copies on the non-critical tier do not.
    daily = by_name["home-assistant-9"].fixture.of_kind(k8s.REPLICATION_SOURCE)
    assert {rs["spec"]["trigger"]["schedule"] for rs in critical} == {"0 * * * *"}
    assert {rs["spec"]["trigger"]["schedule"] for rs in daily} == {"0 2 * * *"}
    assert daily[0]["spec"]["restic"]["retain"] == {"daily": 14}
    assert daily[0]["metadata"]["labels"]["restore-drill/tier"] == "non-critical"
    assert d.profile_of(by_name["jellyfin-1"])["name"] == "media"
    assert d.profile_of(by_name["home-assistant-9"])["name"] == "smoke"
    assert by_name["home-assistant-1"].namespace == "rd-r1-home-assistant-1"


def test_agent_jobs_of_every_volume_start_before_the_first_is_waited_for(tmp_path: Any) -> None:
    from restore_drill.dryrun import Plan, RecordingKube
    from tests.drill_stubs import stub_drill

    class JobsSucceed(RecordingKube):
        def wait_for(self, kind: Any, name: str, namespace: Any, predicate: Any, **kw: Any) -> Any:
            super().wait_for(kind, name, namespace, predicate, **kw)
            return {"metadata": {"name": name}, "status": {"succeeded": 1}}

        def pod_logs(self, name: str, namespace: str, container: Any = None) -> str:
            return ""

    plan = Plan(tmp_path)
    d = stub_drill(tmp_path, JobsSucceed(plan), "fleet-cluster-rebuild")
    steps.STEPS["write_marker"].run(d)
    created = [
        i for i, line in enumerate(plan.lines) if line.startswith("apply (server-side): Job")
    ]
    waits = [i for i, line in enumerate(plan.lines) if line.startswith("wait ")]
    assert len(created) == len(list(d.volumes())) == 22
    assert max(created) < min(waits), "all volumes are marked at once"


def test_each_app_has_its_own_rto_on_the_clusters_clock(tmp_path: Any) -> None:
    from datetime import timedelta

    from restore_drill.dryrun import Plan, RecordingKube
    from restore_drill.steps import clock
    from tests.drill_stubs import stub_drill

    d = stub_drill(tmp_path, RecordingKube(Plan(tmp_path)), "fleet-cluster-rebuild")
    d.disaster_wall = 1_000_000.0
    start = clock.wall(d.disaster_wall)
    d.app_restored = {"a": start + timedelta(seconds=40), "b": start + timedelta(seconds=95)}
    d.restored_server = clock.latest(d.app_restored.values())
    assert d.app_rto_seconds == {"a": 40.0, "b": 95.0}
    assert clock.clock_record(d)["apps"] == {"a": 40.0, "b": 95.0}
    assert d.cluster_rto_seconds == 95.0, "the fleet's RTO is its slowest app's"


def test_two_apps_that_would_write_one_repository_are_refused() -> None:
    from restore_drill import fixtures
    from restore_drill.errors import ScenarioError
    from tests.test_volsync import VALUES

    one = fixtures.load_app("paperless-ngx", VALUES)
    other = fixtures.load_app("paperless-ngx", {**VALUES, "APP": "paperless-ngx-2"})
    fixtures.check_own_repositories([("paperless-ngx-1", one), ("paperless-ngx-2", other)])
    with pytest.raises(ScenarioError, match="paperless-ngx-2/paperless-ngx-data and "):
        fixtures.check_own_repositories([("paperless-ngx-1", one), ("paperless-ngx-2", one)])


def test_every_app_of_the_fleet_backs_up_into_its_own_repository(tmp_path: Any) -> None:
    from restore_drill.dryrun import Plan, RecordingKube
    from restore_drill.steps import snapshots
    from tests.drill_stubs import stub_drill

    d = stub_drill(tmp_path, RecordingKube(Plan(tmp_path)), "fleet-cluster-rebuild")
    prefixes = [snapshots.repository_prefix(app, pvc, d.bucket) for app, pvc in d.volumes()]
    assert len(set(prefixes)) == len(prefixes) == 22
    assert "paperless-ngx-2/paperless-ngx-data" in prefixes

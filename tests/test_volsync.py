"""App fixtures (valid for the real APIs, the user's pattern), rendering, triggers, GitOps."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from restore_drill import fixtures, gitops, k8s, volsync
from restore_drill.errors import ScenarioError, WaitTimeout
from restore_drill.lint import policy as lint_policy

FIELDS = yaml.safe_load(
    (Path(__file__).parent / "volsync_data" / "volsync_fields.yaml").read_text()
)
VALUES = {name: f"x-{name.lower().replace('_', '-')}" for name in fixtures.PLACEHOLDERS}
VALUES |= {"S3_ENDPOINT": "http://127.0.0.1:9000", "NAMESPACE": "rd-1-app"}
APPS = fixtures.available_apps()
# The lint policy's tiers (the user's design), as the fixtures label them.
TIERS = {
    tier.name: (tier.backup_schedule, tier.retain) for tier in lint_policy.default_policy().tiers
}


def test_at_least_one_app_per_tier_and_one_with_two_pvcs() -> None:
    rendered = [fixtures.load_app(app, VALUES) for app in APPS]
    tiers = {
        rs["metadata"]["labels"]["restore-drill/tier"]
        for f in rendered
        for rs in f.of_kind(k8s.REPLICATION_SOURCE)
    }
    assert tiers == set(TIERS)
    assert any(len(f.pvcs) >= 2 for f in rendered)


@pytest.mark.parametrize("app", APPS)
def test_core_kinds_are_valid_kubernetes(app: str) -> None:
    for manifest in fixtures.load_app(app, VALUES).manifests:
        if manifest["apiVersion"].startswith("volsync"):
            continue
        kubernetes_validate.validate(manifest, "1.33", strict=True)


def _check_fields(obj: dict[str, Any], allowed: list[str], where: str) -> None:
    unknown = sorted(set(obj) - set(allowed))
    assert not unknown, f"{where}: not a VolSync field: {unknown}"


@pytest.mark.parametrize("app", APPS)
def test_the_users_pattern_per_pvc(app: str) -> None:
    fixture = fixtures.load_app(app, VALUES)
    for pvc_name in fixture.pvcs:
        pvc = next(m for m in fixture.of_kind(k8s.PVC) if m["metadata"]["name"] == pvc_name)
        ref = pvc["spec"]["dataSourceRef"]
        assert ref == {
            "apiGroup": "volsync.backube",
            "kind": "ReplicationDestination",
            "name": f"{pvc_name}-restore",
        }
        rs, rd = fixture.source_for(pvc_name), fixture.destination_for(pvc_name)
        for obj, kind in ((rs, "ReplicationSource"), (rd, "ReplicationDestination")):
            _check_fields(obj["spec"], FIELDS[kind]["spec"], f"{kind} spec")
            _check_fields(obj["spec"]["restic"], FIELDS[kind]["restic"], f"{kind} restic")
            _check_fields(obj["spec"]["trigger"], FIELDS["trigger"], f"{kind} trigger")
            assert len(obj["spec"]["trigger"]) == 1, "one trigger kind at a time"
            assert obj["spec"]["restic"]["copyMethod"] == "Snapshot"
            assert obj["spec"]["restic"]["repository"] == f"{pvc_name}-restic"
        _check_fields(
            rs["spec"]["restic"]["retain"], FIELDS["ReplicationSource"]["retain"], "retain"
        )
        schedule, retain = TIERS[rs["metadata"]["labels"]["restore-drill/tier"]]
        assert rs["spec"]["trigger"] == {"schedule": schedule}
        assert rs["spec"]["restic"]["retain"] == retain
        assert rs["spec"]["sourcePVC"] == pvc_name
        assert "manual" in rd["spec"]["trigger"]
        assert rd["spec"]["restic"]["capacity"] == pvc["spec"]["resources"]["requests"]["storage"]
        assert rd["spec"]["restic"]["accessModes"] == pvc["spec"]["accessModes"]
        secret = next(
            m for m in fixture.of_kind(k8s.SECRET) if m["metadata"]["name"] == f"{pvc_name}-restic"
        )
        assert secret["stringData"]["RESTIC_REPOSITORY"] == (
            f"s3:http://127.0.0.1:9000/{VALUES['BUCKET']}/{VALUES['APP']}/{pvc_name}"
        )
    deployment = fixture.of_kind(k8s.DEPLOYMENT)[0]
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert "check" in " ".join(container["readinessProbe"]["exec"]["command"])
    claims = {
        v["persistentVolumeClaim"]["claimName"]
        for v in deployment["spec"]["template"]["spec"]["volumes"]
        if "persistentVolumeClaim" in v
    }
    assert claims == set(fixture.pvcs)


def test_unfilled_placeholder_and_unknown_app_are_errors() -> None:
    partial = {k: v for k, v in VALUES.items() if k != "RESTIC_PASSWORD"}
    with pytest.raises(ScenarioError, match="RESTIC_PASSWORD"):
        fixtures.load_app("home-assistant", partial)
    with pytest.raises(ScenarioError, match="unknown app 'nextcloud'"):
        fixtures.load_app("nextcloud", VALUES)


@pytest.mark.parametrize("value", ["60284605", "1e10", "true", "null", "0x1F", "- a: b"])
def test_placeholder_values_stay_strings_whatever_they_look_like(value: str) -> None:
    """A run id of digits or a password like 1e10 must not become a YAML number."""
    values = VALUES | {"RUN_ID": value, "RESTIC_PASSWORD": value}
    app = fixtures.load_app("home-assistant", values)
    namespace = app.of_kind(k8s.NAMESPACE)[0]
    assert namespace["metadata"]["labels"]["restore-drill/run-id"] == value
    secret = app.of_kind(k8s.SECRET)[0]
    assert secret["stringData"]["RESTIC_PASSWORD"] == value


class FakeKube:
    """Records writes; ``states`` feeds ``wait_for`` one object state at a time."""

    def __init__(self, existing: dict[str, dict[str, Any]] | None = None) -> None:
        self.existing = existing or {}
        self.applied: list[dict[str, Any]] = []
        self.patches: list[tuple[str, Any]] = []
        self.states: list[dict[str, Any] | None] = []
        self.objects: dict[str, list[dict[str, Any]]] = {}  # by kind, for list()
        self.logs: dict[str, str] = {}

    def list(self, kind: k8s.Kind, namespace: str | None = None, **selectors: Any) -> Any:
        return self.objects.get(kind.kind, [])

    def pod_logs(self, name: str, namespace: str) -> str:
        return self.logs[name]

    def find(self, kind: k8s.Kind, name: str, namespace: str | None = None) -> Any:
        return self.existing.get(name)

    def apply(self, manifest: dict[str, Any], *, field_manager: str = "") -> Any:
        self.applied.append(copy.deepcopy(manifest))
        return manifest

    def patch(self, kind: k8s.Kind, name: str, patch: Any, namespace: str | None = None) -> Any:
        self.patches.append((name, patch))
        return {}

    def wait_for(
        self,
        kind: k8s.Kind,
        name: str,
        namespace: Any,
        predicate: Any,
        *,
        timeout: float,
        what: str = "",
        on_event: Any = None,
    ) -> Any:
        for state in self.states:
            if predicate(state):
                return state
        raise WaitTimeout(what, timeout, k8s.describe(self.states[-1] if self.states else None))


def test_gitops_sync_leaves_immutable_fields_of_existing_pvcs_alone() -> None:
    fixture = fixtures.load_app("paperless-ngx", VALUES)
    kube = FakeKube({"paperless-ngx-data": {"metadata": {"name": "paperless-ngx-data"}}})
    applied = gitops.gitops_sync(kube, fixture.manifests)  # type: ignore[arg-type]
    assert applied[0] == "Namespace/rd-1-app" and applied[-1].startswith("Deployment/")
    pvcs = {m["metadata"]["name"]: m for m in kube.applied if m["kind"] == "PersistentVolumeClaim"}
    assert "dataSourceRef" not in pvcs["paperless-ngx-data"]["spec"]  # exists: ignored
    assert "volumeName" not in pvcs["paperless-ngx-data"]["spec"]
    assert (
        pvcs["paperless-ngx-media"]["spec"]["dataSourceRef"]["name"]
        == "paperless-ngx-media-restore"
    )
    assert "dataSourceRef" in fixture.of_kind(k8s.PVC)[0]["spec"], "the fixture is not modified"


def test_trigger_replaces_the_schedule_and_restore_puts_it_back() -> None:
    kube = FakeKube()
    volsync.trigger_manual_sync(kube, k8s.REPLICATION_SOURCE, "rs", "ns", "t1")  # type: ignore[arg-type]
    volsync.restore_schedule(kube, k8s.REPLICATION_SOURCE, "rs", "ns", "0 * * * *")  # type: ignore[arg-type]
    assert kube.patches == [
        ("rs", {"spec": {"trigger": {"manual": "t1", "schedule": None}}}),
        ("rs", {"spec": {"trigger": {"manual": None, "schedule": "0 * * * *"}}}),
    ]


def _rs(**status: Any) -> dict[str, Any]:
    return {"kind": "ReplicationSource", "metadata": {"name": "rs"}, "status": status}


def test_wait_manual_sync_ends_on_the_tag() -> None:
    kube = FakeKube()
    kube.states = [_rs(lastManualSync="old"), _rs(lastManualSync="t2")]
    got = volsync.wait_manual_sync(kube, k8s.REPLICATION_SOURCE, "rs", "ns", "t2", timeout=5)  # type: ignore[arg-type]
    assert got["status"]["lastManualSync"] == "t2"


def test_wait_manual_sync_fails_fast_with_the_mover_log_tail() -> None:
    kube = FakeKube()
    failed = {"result": "Failed", "logs": "restic: repository pack damaged\nexit 1"}
    kube.states = [
        _rs(
            lastManualSync="old", lastSyncStartTime="2026-01-01T00:00:05Z", latestMoverStatus=failed
        )
    ]
    with pytest.raises(volsync.MoverFailed, match="pack damaged"):
        volsync.wait_manual_sync(
            kube,
            k8s.REPLICATION_SOURCE,
            "rs",
            "ns",
            "t2",
            timeout=5,  # type: ignore[arg-type]
            started_after="2026-01-01T00:00:00Z",
        )


def mover_job(failed_pods: int) -> FakeKube:
    """An RS still waiting for its tag while its mover Job's pods fail."""
    kube = FakeKube({"rs": {"metadata": {"name": "rs", "namespace": "ns", "uid": "u1"}}})
    kube.states = [_rs(lastManualSync="old")]
    owned = {"ownerReferences": [{"kind": "ReplicationSource", "uid": "u1"}]}
    kube.objects = {
        "Job": [
            {"metadata": {"name": "other", "ownerReferences": [{"uid": "u2"}]}, "status": {}},
            {"metadata": {"name": "volsync-src-rs", **owned}, "status": {"failed": failed_pods}},
        ],
        "Pod": [{"metadata": {"name": "volsync-src-rs-x"}, "status": {"phase": "Failed"}}],
    }
    kube.logs = {"volsync-src-rs-x": "Fatal: unable to open config file\nexit 1"}
    return kube


def wait_for_tag(kube: FakeKube, timeout: float) -> None:
    volsync.wait_manual_sync(kube, k8s.REPLICATION_SOURCE, "rs", "ns", "t2", timeout=timeout)  # type: ignore[arg-type]


def test_a_mover_job_whose_pods_keep_failing_ends_the_wait() -> None:
    with pytest.raises(volsync.MoverFailed, match=r"2 mover pods failed(.|\n)*open config"):
        wait_for_tag(mover_job(2), timeout=5)


def test_a_failed_mover_names_its_cause_from_the_log() -> None:
    kube = mover_job(2)
    kube.logs = {"volsync-src-rs-x": "Fatal: wrong password or no key found\nERROR: failure"}
    with pytest.raises(volsync.MoverFailed, match=r"wrong-password: wrong restic password") as e:
        wait_for_tag(kube, timeout=5)
    assert e.value.cause == "wrong-password"


def test_one_failed_mover_pod_is_retried_until_the_deadline() -> None:
    with pytest.raises(WaitTimeout, match="manual sync 't2'"):
        wait_for_tag(mover_job(1), timeout=0.3)


def test_an_earlier_failure_is_not_this_attempts() -> None:
    old = {"result": "Failed", "logs": "old failure"}
    state = _rs(lastSyncStartTime="2025-12-31T00:00:00Z", latestMoverStatus=old)
    assert volsync.mover_failure(state, "2026-01-01T00:00:00Z") is None
    assert volsync.mover_failure(state, "") == "old failure"


def test_wait_latest_image_skips_the_previous_image() -> None:
    kube = FakeKube()
    image = lambda n: {"status": {"latestImage": {"kind": "VolumeSnapshot", "name": n}}}  # noqa: E731
    kube.states = [image("snap-1"), image("snap-2")]
    assert volsync.wait_latest_image(kube, "rd", "ns", timeout=5, not_named="snap-1") == "snap-2"  # type: ignore[arg-type]


def test_secrets_are_applied_as_the_api_server_stores_them() -> None:
    fixture = fixtures.load_app("home-assistant", VALUES)
    kube = FakeKube()
    gitops.gitops_sync(kube, fixture.manifests)  # type: ignore[arg-type]
    secret = next(m for m in kube.applied if m["kind"] == "Secret")
    assert "stringData" not in secret
    import base64

    assert base64.b64decode(secret["data"]["RESTIC_PASSWORD"]).decode() == VALUES["RESTIC_PASSWORD"]


def test_a_backup_waits_while_a_scheduled_sync_runs() -> None:
    def rs(status: str, reason: str) -> dict[str, object]:
        condition = {"type": "Synchronizing", "status": status, "reason": reason}
        return {"status": {"conditions": [{"type": "Other", "status": "True"}, condition]}}

    assert volsync.syncing(rs("True", "SyncInProgress"))
    assert volsync.syncing(rs("True", "CleaningUp"))
    assert not volsync.syncing(rs("False", "WaitingForSchedule"))
    assert not volsync.syncing({"status": {}}) and not volsync.syncing(None)

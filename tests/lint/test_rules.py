"""Each rule family on small repositories: the boundary cases and the cases that must stay quiet."""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from restore_drill.kinds import quantity_bytes
from restore_drill.lint import lint_repository

Repo = Callable[[dict[str, str]], Path]
NS = "n8n"  # an app of the critical tier in the default policy


def docs(*objects: dict[str, Any]) -> str:
    return yaml.safe_dump_all(objects, sort_keys=False)


def meta(name: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "namespace": NS, **extra}


def storage_class(name: str = "longhorn", driver: str = "driver.longhorn.io") -> dict[str, Any]:
    return {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": {
            "name": name,
            "annotations": {"storageclass.kubernetes.io/is-default-class": "true"},
        },
        "provisioner": driver,
    }


def snapshot_class(
    name: str = "snap", driver: str = "driver.longhorn.io", default: bool = True, **parameters: str
) -> dict[str, Any]:
    annotations = {"snapshot.storage.kubernetes.io/is-default-class": "true"} if default else {}
    return {
        "apiVersion": "snapshot.storage.k8s.io/v1",
        "kind": "VolumeSnapshotClass",
        "metadata": {"name": name, "annotations": annotations},
        "driver": driver,
        "deletionPolicy": "Delete",
        "parameters": parameters or {"type": "snap"},
    }


def pvc(
    name: str = "data", restore: str | None = "data-restore", size: str = "2Gi", **extra: Any
) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "accessModes": ["ReadWriteOnce"],
        "storageClassName": "longhorn",
        "resources": {"requests": {"storage": size}},
    }
    if restore:
        spec["dataSourceRef"] = {
            "apiGroup": "volsync.backube",
            "kind": "ReplicationDestination",
            "name": restore,
        }
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": meta(name, **extra),
        "spec": spec,
    }


def source(
    name: str = "data-backup",
    pvc_name: str = "data",
    schedule: str | None = "0 * * * *",
    repository: str = "data-restic",
    **restic: Any,
) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "sourcePVC": pvc_name,
        "restic": {
            "repository": repository,
            "copyMethod": "Snapshot",
            "retain": {"hourly": 24, "daily": 7},
            **restic,
        },
    }
    if schedule:
        spec["trigger"] = {"schedule": schedule}
    return {
        "apiVersion": "volsync.backube/v1alpha1",
        "kind": "ReplicationSource",
        "metadata": meta(name),
        "spec": spec,
    }


def destination(
    name: str = "data-restore", schedule: str | None = "30 * * * *", **restic: Any
) -> dict[str, Any]:
    settings = {
        "repository": "data-restic",
        "copyMethod": "Snapshot",
        "capacity": "2Gi",
        "storageClassName": "longhorn",
        "accessModes": ["ReadWriteOnce"],
        **restic,
    }
    spec: dict[str, Any] = {"restic": settings}
    if schedule:
        spec["trigger"] = {"schedule": schedule}
    else:  # the restore-once pattern
        spec["trigger"] = {"manual": "restore-once"}
        settings.setdefault("cleanupTempPVC", True)
    return {
        "apiVersion": "volsync.backube/v1alpha1",
        "kind": "ReplicationDestination",
        "metadata": meta(name),
        "spec": spec,
    }


def secret(name: str = "data-restic", **values: str) -> dict[str, Any]:
    values = values or {
        "RESTIC_REPOSITORY": f"s3:https://s3.nas.home.arpa/volsync/{NS}",
        "RESTIC_PASSWORD": "x",
        "AWS_ACCESS_KEY_ID": "a",
        "AWS_SECRET_ACCESS_KEY": "b",
    }
    return {"apiVersion": "v1", "kind": "Secret", "metadata": meta(name), "stringData": values}


def deployment(claim: str = "data", **security: Any) -> dict[str, Any]:
    volume = {"name": "d", "persistentVolumeClaim": {"claimName": claim}}
    pod: dict[str, Any] = {"containers": [{"name": "app", "image": "app"}], "volumes": [volume]}
    if security:
        pod["securityContext"] = security
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": meta("app"),
        "spec": {"template": {"spec": pod}},
    }


def app(*extra: dict[str, Any], manual: bool = True) -> list[dict[str, Any]]:
    """A correct app: storage, PVC restored by a manual RD, hourly RS, Secret, Deployment."""
    return [
        storage_class(),
        snapshot_class(),
        pvc(),
        source(),
        destination(schedule=None if manual else "30 * * * *"),
        secret(),
        deployment(),
        *extra,
    ]


def lint(repo: Repo, objects: list[dict[str, Any]], **files: str) -> set[tuple[str, str]]:
    path = repo({f"{NS}/all.yaml": docs(*objects), **files})
    return {(f.rule, f.object_ref) for f in lint_repository(path).findings}


def replace(objects: list[dict[str, Any]], kind: str, new: dict[str, Any]) -> list[dict[str, Any]]:
    return [new if o["kind"] == kind else o for o in objects]


def test_a_correct_app_has_no_finding(repo: Repo) -> None:
    assert lint(repo, app()) == set()


def test_data_source_instead_of_data_source_ref(repo: Repo) -> None:
    wrong = pvc(restore=None)
    wrong["spec"]["dataSource"] = {
        "kind": "ReplicationDestination",
        "name": "data-restore",
        "apiGroup": "volsync.backube",
    }
    assert ("RD002", f"PersistentVolumeClaim/{NS}/data") in lint(
        repo, replace(app(), "PersistentVolumeClaim", wrong)
    )


def test_data_source_ref_into_another_namespace(repo: Repo) -> None:
    moved = pvc()
    moved["spec"]["dataSourceRef"]["namespace"] = "elsewhere"
    assert lint(repo, replace(app(), "PersistentVolumeClaim", moved)) == {
        ("RD001", f"PersistentVolumeClaim/{NS}/data")
    }


def test_destination_larger_than_the_pvc_is_also_wrong(repo: Repo) -> None:
    # A snapshot bigger than the PVC's request cannot be restored into it.
    assert lint(
        repo, replace(app(), "ReplicationDestination", destination(schedule=None, capacity="4Gi"))
    ) == {("RD004", f"ReplicationDestination/{NS}/data-restore")}


def test_destination_into_an_existing_pvc_is_not_compared(repo: Repo) -> None:
    assert (
        lint(
            repo,
            replace(
                app(),
                "ReplicationDestination",
                destination(schedule=None, capacity="9Gi", destinationPVC="data"),
            ),
        )
        == set()
    )


def test_cache_by_label_is_info_and_other_pvcs_warn(repo: Repo) -> None:
    cache = pvc("thumbs", restore=None, labels={"app.kubernetes.io/component": "cache"})
    plain = pvc("uploads", restore=None)
    assert lint(repo, app(cache, plain)) == {
        ("RD011", f"PersistentVolumeClaim/{NS}/thumbs"),
        ("RD010", f"PersistentVolumeClaim/{NS}/uploads"),
    }


def test_pvcs_on_classes_nothing_backs_up_are_not_reported(repo: Repo) -> None:
    other = pvc("scratchpad", restore=None)
    other["spec"]["storageClassName"] = "local-path"
    assert lint(repo, app(other)) == set()


def test_snapshot_class_of_another_driver_does_not_count(repo: Repo) -> None:
    objects = replace(app(), "VolumeSnapshotClass", snapshot_class(driver="hostpath.csi.k8s.io"))
    assert lint(repo, objects) == {
        ("RD020", f"ReplicationSource/{NS}/data-backup"),
        ("RD020", f"ReplicationDestination/{NS}/data-restore"),
    }


def test_storage_class_outside_the_repository_is_not_judged(repo: Repo) -> None:
    objects = [o for o in app() if o["kind"] not in ("StorageClass", "VolumeSnapshotClass")]
    assert lint(repo, objects) == set()


def test_longhorn_snapshot_class_without_type_defaults_to_backups(repo: Repo) -> None:
    objects = replace(app(), "VolumeSnapshotClass", snapshot_class(dataLocality="best-effort"))
    assert lint(repo, objects) == {("RD021", "VolumeSnapshotClass/snap")}


@pytest.mark.parametrize(
    ("restore", "expected"),
    [("15 * * * *", set()), ("14 * * * *", {"RD030"}), ("0 * * * *", {"RD030"})],
)
def test_restore_gap_boundary(repo: Repo, restore: str, expected: set[str]) -> None:
    objects = replace(app(), "ReplicationDestination", destination(schedule=restore))
    assert {rule for rule, _ in lint(repo, objects)} == expected | {"RD032"}


def test_daily_restore_after_hourly_backup_measures_from_the_latest_backup(repo: Repo) -> None:
    objects = replace(app(), "ReplicationDestination", destination(schedule="5 3 * * *"))
    assert {rule for rule, _ in lint(repo, objects)} == {"RD030", "RD032", "RD040"}


def test_manual_source_has_no_gap_to_check(repo: Repo) -> None:
    manual = source(schedule=None)
    manual["spec"]["trigger"] = {"manual": "first"}
    objects = replace(app(manual=False), "ReplicationSource", manual)
    assert {rule for rule, _ in lint(repo, objects)} == {"RD032"}


def test_source_without_retain_is_below_the_tier(repo: Repo) -> None:
    bare = source()
    del bare["spec"]["restic"]["retain"]
    assert lint(repo, replace(app(), "ReplicationSource", bare)) == {
        ("RD041", f"ReplicationSource/{NS}/data-backup")
    }


def test_apps_outside_every_tier_are_not_judged_on_schedule(repo: Repo) -> None:
    path = repo(
        {
            "unlisted-app/all.yaml": docs(
                *replace(app(), "ReplicationSource", source(schedule="0 0 1 * *"))
            )
        }
    )
    assert not [f for f in lint_repository(path).findings if f.rule in ("RD040", "RD041")]


def test_secret_values_in_data_are_decoded(repo: Repo) -> None:
    encoded = {
        k: base64.b64encode(v.encode()).decode()
        for k, v in {
            "RESTIC_REPOSITORY": "s3:https://s3.nas.home.arpa/v/n8n",
            "RESTIC_PASSWORD": "x",
        }.items()
    }
    data_secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": meta("data-restic"),
        "data": encoded,
    }
    assert {rule for rule, _ in lint(repo, replace(app(), "Secret", data_secret))} == {"RD052"}


def test_secrets_not_in_the_repository_are_not_reported(repo: Repo) -> None:
    assert lint(repo, [o for o in app() if o["kind"] != "Secret"]) == set()


def test_two_sources_sharing_one_secret_share_the_repository(repo: Repo) -> None:
    second = pvc("media", restore=None)
    objects = app(second, source("media-backup", "media"), deployment("media"))
    assert ("RD053", f"ReplicationSource/{NS}/media-backup") in lint(repo, objects)


def test_external_secret_with_data_from_is_trusted(repo: Repo) -> None:
    external = {
        "apiVersion": "external-secrets.io/v1",
        "kind": "ExternalSecret",
        "metadata": meta("whatever"),
        "spec": {"target": {"name": "data-restic"}, "dataFrom": [{"extract": {"key": "k"}}]},
    }
    assert lint(repo, replace(app(), "Secret", external)) == set()


def test_non_root_app_needs_mover_permissions(repo: Repo) -> None:
    objects = replace(app(), "Deployment", deployment(runAsUser=1000))
    assert lint(repo, objects) == {
        ("RD070", f"ReplicationSource/{NS}/data-backup"),
        ("RD070", f"ReplicationDestination/{NS}/data-restore"),
    }


def test_privileged_movers_namespace_annotation_is_enough(repo: Repo) -> None:
    namespace = {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": NS, "annotations": {"volsync.backube/privileged-movers": "true"}},
    }
    objects = replace(app(namespace), "Deployment", deployment(runAsNonRoot=True))
    assert lint(repo, objects) == set()


def test_root_app_needs_nothing(repo: Repo) -> None:
    assert lint(repo, replace(app(), "Deployment", deployment(runAsUser=0))) == set()


def _application(**spec: Any) -> str:
    body = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": NS, "namespace": "argocd"},
        "spec": {"source": {"path": NS}, "destination": {"namespace": NS}, **spec},
    }
    return docs(body)


IGNORE_ALL = [
    {
        "group": "",
        "kind": "PersistentVolumeClaim",
        "jsonPointers": ["/spec/dataSourceRef", "/spec/dataSource", "/spec/volumeName"],
    }
]


def test_argo_application_without_ignores(repo: Repo) -> None:
    assert lint(repo, app(), **{"argocd/app.yaml": _application()}) == {
        ("RD060", f"Application/argocd/{NS}")
    }


def test_argo_application_with_ignores_but_no_respect(repo: Repo) -> None:
    assert lint(repo, app(), **{"argocd/app.yaml": _application(ignoreDifferences=IGNORE_ALL)}) == {
        ("RD061", f"Application/argocd/{NS}")
    }


def test_argo_application_done_right(repo: Repo) -> None:
    assert (
        lint(
            repo,
            app(),
            **{
                "argocd/app.yaml": _application(
                    ignoreDifferences=IGNORE_ALL,
                    syncPolicy={"syncOptions": ["RespectIgnoreDifferences=true"]},
                )
            },
        )
        == set()
    )


def test_argo_application_with_only_some_ignores(repo: Repo) -> None:
    partial = [{"kind": "PersistentVolumeClaim", "jqPathExpressions": [".spec.dataSourceRef"]}]
    findings = lint_repository(
        repo(
            {
                f"{NS}/all.yaml": docs(*app()),
                "argocd/app.yaml": _application(ignoreDifferences=partial),
            }
        )
    ).findings
    assert [f.rule for f in findings] == ["RD060"]
    assert "/spec/dataSource, /spec/volumeName" in findings[0].message


def test_argo_application_without_restored_pvcs_is_quiet(repo: Repo) -> None:
    objects = [o for o in app() if o["kind"] != "PersistentVolumeClaim"] + [pvc(restore=None)]
    assert "RD060" not in {r for r, _ in lint(repo, objects, **{"argocd/app.yaml": _application()})}


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("1Gi", 2**30),
        ("500M", 500 * 10**6),
        ("7", 7),
        ("1.5Gi", 3 * 2**29),
        ("lots", None),
        ("100m", None),
        (None, None),
        (True, None),
    ],
)
def test_quantity_bytes(text: object, size: int | None) -> None:
    assert quantity_bytes(text) == size


def test_argocd_cm_ignores_count_for_every_application(repo: Repo) -> None:
    argocd_cm = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "argocd-cm", "namespace": "argocd"},
        "data": {
            "resource.customizations.ignoreDifferences.PersistentVolumeClaim": (
                "jqPathExpressions:\n"
                "- .spec.dataSourceRef\n- .spec.dataSource\n"
                "- .spec.volumeName\n"
            )
        },
    }
    assert lint(
        repo, app(), **{"argocd/app.yaml": _application(), "argocd/cm.yaml": docs(argocd_cm)}
    ) == {("RD061", f"Application/argocd/{NS}")}


def test_manual_restore_without_cleanup_still_keeps_its_pvc(repo: Repo) -> None:
    objects = replace(
        app(), "ReplicationDestination", destination(schedule=None, cleanupTempPVC=False)
    )
    path = repo({f"{NS}/all.yaml": docs(*objects)})
    findings = lint_repository(path).findings
    assert [(f.rule, f.object_ref) for f in findings] == [("RD032", "(repository)")]
    assert "1 ReplicationDestinations keep 2Gi" in findings[0].message


@pytest.mark.parametrize(
    ("api_version", "kind"),
    [
        ("volsync.backube/v1alpha1", "ReplicationDestinaton"),
        ("volsync.backube/v1", "ReplicationSource"),
        ("volsync.io/v1alpha1", "ReplicationSource"),
        ("snapshot.storage.k8s.io/v1beta1", "VolumeSnapshotClass"),
    ],
)
def test_unknown_kind_or_version_in_known_apis(repo: Repo, api_version: str, kind: str) -> None:
    typo = {"apiVersion": api_version, "kind": kind, "metadata": meta("typo"), "spec": {}}
    assert lint(repo, app(typo)) == {("RD908", f"{kind}/{NS}/typo")}


def test_unknown_kinds_of_other_apis_are_ignored(repo: Repo) -> None:
    other = {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "ServiceMonitor",
        "metadata": meta("m"),
    }
    assert lint(repo, app(other)) == set()


def test_each_schedule_is_expanded_once(monkeypatch: pytest.MonkeyPatch) -> None:
    from restore_drill.lint.rules import schedule

    expanded: list[str] = []

    class Counting(schedule.croniter):  # type: ignore[misc]
        def __init__(self, expression: str, *args: Any, **kwargs: Any) -> None:
            expanded.append(expression)
            super().__init__(expression, *args, **kwargs)

    monkeypatch.setattr(schedule, "croniter", Counting)
    schedule._runs_in_week.cache_clear()
    first = schedule.runs_in_week("0 */6 * * *")
    first.clear()  # a caller's list is its own
    assert len(schedule.runs_in_week("0 */6 * * *")) == 28
    schedule.runs_in_week("0 */6 * * *", lead=timedelta(days=1))
    assert expanded == ["0 */6 * * *", "0 */6 * * *"]
    schedule._runs_in_week.cache_clear()

"""The sim API server driven through restore_drill.k8s.Kube (the official DynamicClient)."""

from __future__ import annotations

import threading

import pytest

from restore_drill.errors import KubeError, NotFound, WaitTimeout
from restore_drill.k8s import (
    CONFIG_MAP,
    DEPLOYMENT,
    NAMESPACE,
    POD,
    PVC,
    REPLICATION_DESTINATION,
    REPLICATION_SOURCE,
    Kube,
)
from tests.sim.conftest import SimApi


def pvc(name: str, namespace: str = "default", **spec: object) -> dict[str, object]:
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": "1Gi"}},
            **spec,
        },
    }


@pytest.fixture
def kube(sim_api: SimApi) -> Kube:
    return sim_api.kube()


def test_default_namespaces_exist(kube: Kube) -> None:
    names = {n["metadata"]["name"] for n in kube.list(NAMESPACE)}
    assert {"default", "kube-system"} <= names


def test_apply_creates_then_merges(kube: Kube) -> None:
    created = kube.apply(pvc("data"))
    assert created["metadata"]["uid"]
    assert created["metadata"]["creationTimestamp"].endswith("Z")
    assert created["metadata"]["generation"] == 1
    updated = kube.apply(
        {
            **pvc("data"),
            "metadata": {"name": "data", "namespace": "default", "labels": {"app": "x"}},
        }
    )
    assert updated["metadata"]["labels"] == {"app": "x"}
    assert updated["metadata"]["uid"] == created["metadata"]["uid"]
    assert int(updated["metadata"]["resourceVersion"]) > int(created["metadata"]["resourceVersion"])


def test_get_find_list_and_not_found(kube: Kube) -> None:
    kube.create(pvc("a"))
    assert kube.get(PVC, "a", "default")["spec"]["volumeMode"] == "Filesystem"
    assert kube.find(PVC, "missing", "default") is None
    with pytest.raises(NotFound, match='persistentvolumeclaims "missing" not found'):
        kube.get(PVC, "missing", "default")
    assert [p["metadata"]["name"] for p in kube.list(PVC, "default")] == ["a"]
    assert kube.list(PVC, "kube-system") == []


def test_create_twice_is_already_exists(kube: Kube) -> None:
    kube.create(pvc("a"))
    with pytest.raises(KubeError) as caught:
        kube.create(pvc("a"))
    assert (caught.value.status, caught.value.reason) == (409, "AlreadyExists")


def test_pvc_and_pv_get_protection_finalizers(kube: Kube) -> None:
    claim = kube.create(pvc("a"))
    assert claim["metadata"]["finalizers"] == ["kubernetes.io/pvc-protection"]
    volume = kube.create(
        {
            "apiVersion": "v1",
            "kind": "PersistentVolume",
            "metadata": {"name": "pv-1"},
            "spec": {
                "capacity": {"storage": "1Gi"},
                "accessModes": ["ReadWriteOnce"],
                "hostPath": {"path": "/tmp/x"},
            },
        }
    )
    assert volume["metadata"]["finalizers"] == ["kubernetes.io/pv-protection"]


def test_status_only_through_the_status_subresource(kube: Kube) -> None:
    kube.create(pvc("a"))
    ignored = kube.patch(PVC, "a", {"status": {"phase": "Bound"}}, "default")
    assert ignored["status"]["phase"] == "Pending"
    written = kube.patch(PVC, "a", {"status": {"phase": "Bound"}}, "default", subresource="status")
    assert written["status"]["phase"] == "Bound"
    spec_ignored = kube.patch(
        PVC, "a", {"spec": {"volumeName": "pv-x"}}, "default", subresource="status"
    )
    assert "volumeName" not in spec_ignored["spec"]


def test_replace_status_with_stale_version_conflicts(kube: Kube) -> None:
    claim = kube.create(pvc("a"))
    claim["status"] = {"phase": "Bound"}
    kube.replace_status(claim)
    with pytest.raises(KubeError) as caught:
        kube.replace_status(claim)  # still carries the old resourceVersion
    assert (caught.value.status, caught.value.reason) == (409, "Conflict")


def test_generation_bumps_on_spec_change_only(kube: Kube) -> None:
    kube.apply(deployment("web", replicas=1))
    labelled = kube.patch(DEPLOYMENT, "web", {"metadata": {"labels": {"a": "b"}}}, "default")
    assert labelled["metadata"]["generation"] == 1
    status = kube.patch(
        DEPLOYMENT, "web", {"status": {"replicas": 1}}, "default", subresource="status"
    )
    assert status["metadata"]["generation"] == 1
    scaled = kube.patch(DEPLOYMENT, "web", {"spec": {"replicas": 0}}, "default")
    assert scaled["metadata"]["generation"] == 2


def test_strategic_merge_patch_merges_containers_by_name(kube: Kube) -> None:
    kube.apply(deployment("web", replicas=1))
    patched = kube.patch(
        DEPLOYMENT,
        "web",
        {
            "spec": {
                "replicas": 3,
                "template": {
                    "spec": {"containers": [{"name": "app", "env": [{"name": "A", "value": "1"}]}]}
                },
            }
        },
        "default",
        content_type="application/strategic-merge-patch+json",
    )
    assert patched["spec"]["replicas"] == 3
    (container,) = patched["spec"]["template"]["spec"]["containers"]
    assert container["image"] == "busybox"
    assert container["env"] == [{"name": "A", "value": "1"}]


def test_json_patch(kube: Kube) -> None:
    kube.create(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "c", "namespace": "default"},
            "data": {"a": "1"},
        }
    )
    patched = kube.patch(
        CONFIG_MAP,
        "c",
        [{"op": "add", "path": "/data/b", "value": "2"}, {"op": "remove", "path": "/data/a"}],
        "default",
        content_type="application/json-patch+json",
    )
    assert patched["data"] == {"b": "2"}


def test_unsupported_patch_type_is_415(kube: Kube) -> None:
    kube.create(
        {
            "apiVersion": "volsync.backube/v1alpha1",
            "kind": "ReplicationSource",
            "metadata": {"name": "rs", "namespace": "default"},
            "spec": {"sourcePVC": "data"},
        }
    )
    with pytest.raises(KubeError) as caught:
        kube.patch(
            REPLICATION_SOURCE,
            "rs",
            {"spec": {"paused": True}},
            "default",
            content_type="application/strategic-merge-patch+json",
        )
    assert caught.value.status == 415


def volsync(kind: str, spec: object) -> dict[str, object]:
    return {
        "apiVersion": "volsync.backube/v1alpha1",
        "kind": kind,
        "metadata": {"name": "x", "namespace": "default"},
        "spec": spec,
    }


@pytest.mark.parametrize(
    ("kind", "spec", "field"),
    [
        (
            "ReplicationSource",
            {"sourcePVC": "d", "trigger": {"schedule": "hourly"}},
            "spec.trigger.schedule",
        ),
        (
            "ReplicationSource",
            {"sourcePVC": "d", "restic": {"copyMethod": "Copy"}},
            "spec.restic.copyMethod",
        ),
        ("ReplicationDestination", {"restic": {"accessModes": []}}, "spec.restic.accessModes"),
        ("ReplicationDestination", {"restic": {"capacity": "lots"}}, "spec.restic.capacity"),
        ("ReplicationDestination", "not-an-object", "spec"),
    ],
)
def test_volsync_crd_schema_violations_are_422(
    kube: Kube, kind: str, spec: object, field: str
) -> None:
    with pytest.raises(KubeError) as caught:
        kube.create(volsync(kind, spec))
    assert (caught.value.status, caught.value.reason) == (422, "Invalid")
    assert f"{field}:" in str(caught.value)


def test_volsync_fields_the_crd_leaves_optional_are_accepted(kube: Kube) -> None:
    """VolSync's CRD requires no spec field: a missing sourcePVC or an RD without capacity
    is reported by VolSync's controller, not refused by the API."""
    kube.create(volsync("ReplicationSource", {"trigger": {"manual": "once"}}))
    kube.create(
        {
            **volsync("ReplicationDestination", {"restic": {"repository": "secret"}}),
            "metadata": {"name": "rd", "namespace": "default"},
        }
    )
    assert kube.find(REPLICATION_SOURCE, "x", "default") is not None
    assert kube.find(REPLICATION_DESTINATION, "rd", "default") is not None


def test_wait_for_sees_a_change_made_by_another_thread(kube: Kube, sim_api: SimApi) -> None:
    kube.create(pvc("a"))
    other = sim_api.kube()
    timer = threading.Timer(
        0.2,
        lambda: other.patch(
            PVC, "a", {"status": {"phase": "Bound"}}, "default", subresource="status"
        ),
    )
    timer.start()
    found = kube.wait_for(
        PVC, "a", "default", lambda o: bool(o and o["status"]["phase"] == "Bound"), timeout=10
    )
    timer.join()
    assert found is not None and found["status"]["phase"] == "Bound"


def test_wait_for_timeout_says_what_it_saw_last(kube: Kube) -> None:
    kube.create(pvc("a"))
    with pytest.raises(WaitTimeout) as caught:
        kube.wait_for(PVC, "a", "default", lambda o: False, timeout=1, what="pvc a bound")
    assert "pvc a bound" in str(caught.value)
    assert '"phase": "Pending"' in caught.value.last_seen


def test_delete_and_wait_gone(kube: Kube) -> None:
    kube.create(
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "default"}}
    )
    kube.delete_and_wait_gone(CONFIG_MAP, "c", "default", timeout=5)
    assert kube.find(CONFIG_MAP, "c", "default") is None
    assert kube.delete(CONFIG_MAP, "c", "default") is False


def test_delete_waits_for_finalizers(kube: Kube) -> None:
    kube.create(pvc("a"))
    assert kube.delete(PVC, "a", "default") is True
    held = kube.get(PVC, "a", "default")
    assert held["metadata"]["deletionTimestamp"]
    kube.patch(PVC, "a", {"metadata": {"finalizers": None}}, "default")
    assert kube.find(PVC, "a", "default") is None


def test_wait_for_survives_410_gone(kube: Kube, sim_api: SimApi) -> None:
    """The watch from a compacted resourceVersion answers 410; wait_for re-lists."""
    kube.create(pvc("a"))
    seen: list[object] = []

    def compact_then_bind(obj: object) -> None:
        seen.append(obj)
        if len(seen) == 1:  # after the first list, before the watch starts
            other = sim_api.kube()
            other.patch(PVC, "a", {"metadata": {"labels": {"x": "1"}}}, "default")
            sim_api.server.store.compact()
            other.patch(PVC, "a", {"status": {"phase": "Bound"}}, "default", subresource="status")

    found = kube.wait_for(
        PVC,
        "a",
        "default",
        lambda o: bool(o and o["status"]["phase"] == "Bound"),
        timeout=10,
        on_event=compact_then_bind,
    )
    assert found is not None
    assert len(seen) >= 2


def test_watch_from_compacted_version_raises_410(kube: Kube, sim_api: SimApi) -> None:
    listed = kube._list(POD, "default", None, None)
    version = listed["metadata"]["resourceVersion"]
    kube.create(
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "default"}}
    )
    sim_api.server.store.compact()
    with pytest.raises(KubeError) as caught:
        list(kube.watch(POD, "default", resource_version=version, timeout_seconds=1))
    assert caught.value.status == 410


def deployment(name: str, replicas: int) -> dict[str, object]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "app", "image": "busybox"}]},
            },
        },
    }

"""Deletion semantics: finalizers, ownerReference garbage collection, namespace termination."""

from __future__ import annotations

from typing import Any

import pytest

from restore_drill.errors import KubeError, NotFound
from restore_drill.k8s import CONFIG_MAP, DEPLOYMENT, NAMESPACE, POD, PVC, Kube
from tests.sim.conftest import SimApi


@pytest.fixture
def kube(sim_api: SimApi) -> Kube:
    return sim_api.kube()


def config_map(name: str, namespace: str = "default", **meta: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": namespace, **meta},
        "data": {"k": "v"},
    }


def owned_by(owner: dict[str, Any], name: str, namespace: str = "default") -> dict[str, Any]:
    ref = {
        "apiVersion": owner["apiVersion"],
        "kind": owner["kind"],
        "name": owner["metadata"]["name"],
        "uid": owner["metadata"]["uid"],
        "blockOwnerDeletion": True,
    }
    return config_map(name, namespace, ownerReferences=[ref])


def claim(name: str, namespace: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
    }


def test_custom_finalizer_holds_the_object(kube: Kube) -> None:
    kube.create(config_map("c", finalizers=["example.com/hold"]))
    kube.delete(CONFIG_MAP, "c", "default")
    held = kube.get(CONFIG_MAP, "c", "default")
    assert held["metadata"]["deletionTimestamp"]
    assert held["metadata"]["finalizers"] == ["example.com/hold"]


def test_no_new_finalizer_on_a_terminating_object(kube: Kube) -> None:
    kube.create(config_map("c", finalizers=["example.com/hold"]))
    kube.delete(CONFIG_MAP, "c", "default")
    with pytest.raises(KubeError) as caught:
        kube.patch(
            CONFIG_MAP, "c", {"metadata": {"finalizers": ["example.com/hold", "new"]}}, "default"
        )
    assert caught.value.status == 422
    kube.patch(CONFIG_MAP, "c", {"metadata": {"finalizers": []}}, "default")
    assert kube.find(CONFIG_MAP, "c", "default") is None


def test_background_deletion_collects_dependents(kube: Kube) -> None:
    owner = kube.create(config_map("owner"))
    kube.create(owned_by(owner, "child"))
    kube.create(config_map("stranger"))
    kube.delete(CONFIG_MAP, "owner", "default", propagation="Background")
    assert kube.find(CONFIG_MAP, "owner", "default") is None
    assert kube.find(CONFIG_MAP, "child", "default") is None
    assert kube.find(CONFIG_MAP, "stranger", "default") is not None


def test_dependent_with_another_living_owner_survives(kube: Kube) -> None:
    first, second = kube.create(config_map("first")), kube.create(config_map("second"))
    child = owned_by(first, "child")
    child["metadata"]["ownerReferences"] += owned_by(second, "x")["metadata"]["ownerReferences"]
    kube.create(child)
    kube.delete(CONFIG_MAP, "first", "default")
    survivor = kube.get(CONFIG_MAP, "child", "default")
    assert [r["name"] for r in survivor["metadata"]["ownerReferences"]] == ["second"]


def test_foreground_deletion_waits_for_dependents(kube: Kube) -> None:
    owner = kube.create(config_map("owner"))
    kube.create(
        {
            **owned_by(owner, "child"),
            "metadata": {
                **owned_by(owner, "child")["metadata"],
                "finalizers": ["example.com/hold"],
            },
        }
    )
    kube.delete(CONFIG_MAP, "owner", "default", propagation="Foreground")
    waiting = kube.get(CONFIG_MAP, "owner", "default")
    assert "foregroundDeletion" in waiting["metadata"]["finalizers"]
    assert kube.get(CONFIG_MAP, "child", "default")["metadata"]["deletionTimestamp"]
    kube.patch(CONFIG_MAP, "child", {"metadata": {"finalizers": None}}, "default")
    assert kube.find(CONFIG_MAP, "child", "default") is None
    assert kube.find(CONFIG_MAP, "owner", "default") is None


def test_foreground_without_dependents_deletes_at_once(kube: Kube) -> None:
    kube.create(config_map("alone"))
    kube.delete(CONFIG_MAP, "alone", "default", propagation="Foreground")
    assert kube.find(CONFIG_MAP, "alone", "default") is None


def test_orphan_deletion_keeps_dependents_without_the_reference(kube: Kube) -> None:
    owner = kube.create(config_map("owner"))
    kube.create(owned_by(owner, "child"))
    kube.delete(CONFIG_MAP, "owner", "default", propagation="Orphan")
    orphan = kube.get(CONFIG_MAP, "child", "default")
    assert "ownerReferences" not in orphan["metadata"]


def test_deployment_delete_collects_its_pods(kube: Kube) -> None:
    deployment = kube.create(
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {
                "selector": {"matchLabels": {"app": "web"}},
                "template": {
                    "metadata": {"labels": {"app": "web"}},
                    "spec": {"containers": [{"name": "c", "image": "x"}]},
                },
            },
        }
    )
    ref = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "web",
        "uid": deployment["metadata"]["uid"],
        "controller": True,
    }
    kube.create(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "web-1", "namespace": "default", "ownerReferences": [ref]},
            "spec": {"containers": [{"name": "c", "image": "x"}]},
        }
    )
    kube.delete_and_wait_gone(DEPLOYMENT, "web", "default", timeout=5)
    assert kube.find(POD, "web-1", "default") is None


def test_namespace_terminates_then_disappears(kube: Kube) -> None:
    kube.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "app"}})
    kube.create(config_map("c", "app"))
    kube.create(claim("data", "app"))  # held by kubernetes.io/pvc-protection
    kube.delete(NAMESPACE, "app")
    namespace = kube.get(NAMESPACE, "app")
    assert namespace["status"]["phase"] == "Terminating"
    assert namespace["spec"]["finalizers"] == ["kubernetes"]
    (condition,) = namespace["status"]["conditions"]
    assert "kubernetes.io/pvc-protection in 1 resource instances" in condition["message"]
    assert kube.find(CONFIG_MAP, "c", "app") is None
    assert kube.get(PVC, "data", "app")["metadata"]["deletionTimestamp"]
    kube.patch(PVC, "data", {"metadata": {"finalizers": None}}, "app")
    assert kube.find(NAMESPACE, "app") is None


def test_empty_namespace_goes_at_once(kube: Kube) -> None:
    kube.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "app"}})
    kube.delete_and_wait_gone(NAMESPACE, "app", timeout=5)
    assert kube.find(NAMESPACE, "app") is None


def test_new_namespace_gets_a_default_service_account(sim_api: SimApi, kube: Kube) -> None:
    kube.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "app"}})
    code, body = sim_api.request("GET", "/api/v1/namespaces/app/serviceaccounts/default")
    assert code == 200, body


def test_create_in_a_terminating_namespace_is_forbidden(kube: Kube) -> None:
    kube.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "app"}})
    kube.create(claim("data", "app"))
    kube.delete(NAMESPACE, "app")
    with pytest.raises(KubeError) as caught:
        kube.create(config_map("late", "app"))
    assert (caught.value.status, caught.value.reason) == (403, "Forbidden")
    assert "unable to create new content in namespace app because it is being terminated" in str(
        caught.value
    )


def test_create_in_a_missing_namespace_is_not_found(kube: Kube) -> None:
    with pytest.raises(NotFound, match='namespaces "nowhere" not found'):
        kube.create(config_map("c", "nowhere"))


def test_recreated_namespace_is_new(kube: Kube) -> None:
    first = kube.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "app"}})
    kube.delete_and_wait_gone(NAMESPACE, "app", timeout=5)
    second = kube.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "app"}})
    assert second["metadata"]["uid"] != first["metadata"]["uid"]
    assert second["status"]["phase"] == "Active"


@pytest.mark.parametrize("name", ["default", "kube-system", "kube-public"])
def test_system_namespaces_may_not_be_deleted(kube: Kube, name: str) -> None:
    with pytest.raises(KubeError) as caught:
        kube.delete(NAMESPACE, name)
    assert (caught.value.status, caught.value.reason) == (403, "Forbidden")
    assert kube.get(NAMESPACE, name)["status"]["phase"] == "Active"

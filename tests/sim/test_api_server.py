"""HTTP surface: discovery, watches, tables, pods/log, and the official typed client."""

from __future__ import annotations

import http.client
import json
import threading
from typing import Any
from urllib.parse import urlsplit

import pytest
from kubernetes import client as k8s_client
from kubernetes import config as k8s_config
from kubernetes import watch as k8s_watch
from kubernetes.client.rest import ApiException

from restore_drill.clusters.sim.api import SimApiServer
from tests.sim.conftest import SimApi

CMS = "/api/v1/namespaces/default/configmaps"


def stream(sim_api: SimApi, path: str, headers: dict[str, str] | None = None) -> list[Any]:
    """Read a watch to its end (the server closes it at timeoutSeconds)."""
    address = urlsplit(sim_api.url)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=10)
    connection.request("GET", path, headers=headers or {})
    answer = connection.getresponse()
    assert answer.status == 200, answer.read()
    assert answer.getheader("Transfer-Encoding") == "chunked"
    lines = answer.read().decode().splitlines()
    connection.close()
    return [json.loads(line) for line in lines if line]


def core_api(sim_api: SimApi) -> k8s_client.CoreV1Api:
    configuration = k8s_client.Configuration()
    k8s_config.load_kube_config(
        config_file=str(sim_api.kubeconfig),
        client_configuration=configuration,
        persist_config=False,
    )
    return k8s_client.CoreV1Api(k8s_client.ApiClient(configuration))


# --- discovery ---------------------------------------------------------------------------------


def test_version_and_core_discovery(sim_api: SimApi) -> None:
    assert sim_api.request("GET", "/version")[1]["major"] == "1"
    assert sim_api.request("GET", "/api")[1]["versions"] == ["v1"]
    _, core = sim_api.request("GET", "/api/v1")
    names = {r["name"] for r in core["resources"]}
    assert {
        "pods",
        "pods/log",
        "pods/status",
        "persistentvolumeclaims",
        "events",
        "persistentvolumeclaims/status",
        "namespaces",
        "secrets",
        "configmaps",
    } <= names
    assert "configmaps/status" not in names


def test_group_discovery(sim_api: SimApi) -> None:
    _, groups = sim_api.request("GET", "/apis")
    served = {g["name"] for g in groups["groups"]}
    assert {
        "apps",
        "batch",
        "storage.k8s.io",
        "snapshot.storage.k8s.io",
        "volsync.backube",
        "apiextensions.k8s.io",
    } <= served
    _, volsync = sim_api.request("GET", "/apis/volsync.backube/v1alpha1")
    by_name = {r["name"]: r for r in volsync["resources"]}
    assert by_name["replicationsources"]["namespaced"] is True
    assert "replicationdestinations/status" in by_name
    _, snapshot = sim_api.request("GET", "/apis/snapshot.storage.k8s.io/v1")
    kinds = {r["name"]: r["namespaced"] for r in snapshot["resources"] if "/" not in r["name"]}
    assert kinds == {
        "volumesnapshots": True,
        "volumesnapshotcontents": False,
        "volumesnapshotclasses": False,
    }
    assert sim_api.request("GET", "/apis/example.com/v1")[0] == 404


def test_openapi_v3_declares_server_side_field_validation(sim_api: SimApi) -> None:
    _, index = sim_api.request("GET", "/openapi/v3")
    url = index["paths"]["apis/volsync.backube/v1alpha1"]["serverRelativeURL"]
    _, document = sim_api.request("GET", url)
    path = "/apis/volsync.backube/v1alpha1/namespaces/{namespace}/replicationsources/{name}"
    patch = document["paths"][path]["patch"]
    assert patch["x-kubernetes-group-version-kind"]["kind"] == "ReplicationSource"
    assert {"name": "fieldValidation", "in": "query", "schema": {"type": "string"}} in patch[
        "parameters"
    ]
    assert sim_api.request("GET", "/openapi/v3/apis/example.com/v1")[0] == 404


def test_custom_resources_are_listed_as_crds(sim_api: SimApi) -> None:
    _, crds = sim_api.request("GET", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions")
    names = {c["metadata"]["name"] for c in crds["items"]}
    assert "replicationdestinations.volsync.backube" in names
    assert "volumesnapshots.snapshot.storage.k8s.io" in names


# --- watches ---------------------------------------------------------------------------------


def test_watch_from_a_version_sees_added_modified_deleted(sim_api: SimApi) -> None:
    _, listed = sim_api.request("GET", CMS)
    version = listed["metadata"]["resourceVersion"]
    sim_api.request("POST", CMS, {"metadata": {"name": "c"}, "data": {"a": "1"}})
    sim_api.request("PATCH", f"{CMS}/c", {"data": {"a": "2"}}, "application/merge-patch+json")
    sim_api.request("DELETE", f"{CMS}/c")
    events = stream(sim_api, f"{CMS}?watch=true&resourceVersion={version}&timeoutSeconds=1")
    assert [e["type"] for e in events] == ["ADDED", "MODIFIED", "DELETED"]
    versions = [int(e["object"]["metadata"]["resourceVersion"]) for e in events]
    assert versions == sorted(versions) and len(set(versions)) == 3


def test_watch_without_version_starts_with_synthetic_added(sim_api: SimApi) -> None:
    sim_api.request("POST", CMS, {"metadata": {"name": "a"}})
    events = stream(sim_api, f"{CMS}?watch=1&timeoutSeconds=1")
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] == [("ADDED", "a")]


def test_watch_filters_by_label_and_field(sim_api: SimApi) -> None:
    _, listed = sim_api.request("GET", CMS)
    version = listed["metadata"]["resourceVersion"]
    for name, app in (("a", "x"), ("b", "y"), ("c", "x")):
        sim_api.request("POST", CMS, {"metadata": {"name": name, "labels": {"app": app}}})
    events = stream(
        sim_api,
        f"{CMS}?watch=true&resourceVersion={version}&timeoutSeconds=1"
        "&labelSelector=app%3Dx&fieldSelector=metadata.name%21%3Da",
    )
    assert [e["object"]["metadata"]["name"] for e in events] == ["c"]


def test_watch_streams_live_events_and_ends_at_timeout(sim_api: SimApi) -> None:
    _, listed = sim_api.request("GET", CMS)
    version = listed["metadata"]["resourceVersion"]
    timer = threading.Timer(0.3, lambda: sim_api.request("POST", CMS, {"metadata": {"name": "x"}}))
    timer.start()
    events = stream(sim_api, f"{CMS}?watch=true&resourceVersion={version}&timeoutSeconds=2")
    timer.join()
    assert [e["object"]["metadata"]["name"] for e in events] == ["x"]


def test_watch_from_a_compacted_version_is_410(sim_api: SimApi) -> None:
    sim_api.request("POST", CMS, {"metadata": {"name": "a"}})
    sim_api.server.store.compact()
    code, body = sim_api.request("GET", f"{CMS}?watch=true&resourceVersion=2&timeoutSeconds=1")
    assert (code, body["reason"]) == (410, "Expired")
    assert "too old resource version" in body["message"]


def test_bounded_history_compacts_by_itself(tmp_path: Any) -> None:
    with SimApiServer(history_limit=10) as server:
        api = SimApi(server, server.write_kubeconfig(tmp_path / "kubeconfig"))
        for index in range(12):
            api.request("POST", CMS, {"metadata": {"name": f"c{index}"}})
        code, _ = api.request("GET", f"{CMS}?watch=true&resourceVersion=2&timeoutSeconds=1")
        assert code == 410


def test_stop_ends_open_watches(tmp_path: Any) -> None:
    server = SimApiServer().start()
    api = SimApi(server, server.write_kubeconfig(tmp_path / "kubeconfig"))
    result: list[Any] = []
    reader = threading.Thread(
        target=lambda: result.append(
            stream(api, f"{CMS}?watch=true&resourceVersion=1&timeoutSeconds=60")
        ),
        daemon=True,
    )
    reader.start()
    threading.Event().wait(0.3)
    server.stop()
    reader.join(timeout=10)
    assert not reader.is_alive()


# --- tables, logs, selectors -------------------------------------------------------------------


def test_table_answer_for_kubectl(sim_api: SimApi) -> None:
    sim_api.request(
        "POST",
        "/api/v1/namespaces/default/persistentvolumeclaims",
        {
            "metadata": {"name": "data"},
            "spec": {
                "accessModes": ["ReadWriteOnce"],
                "resources": {"requests": {"storage": "1Gi"}},
            },
        },
    )
    address = urlsplit(sim_api.url)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=10)
    connection.request(
        "GET",
        "/api/v1/persistentvolumeclaims",
        headers={"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io"},
    )
    table = json.loads(connection.getresponse().read())
    assert table["kind"] == "Table"
    columns = [c["name"] for c in table["columnDefinitions"]]
    assert columns[:3] == ["Name", "Status", "Volume"]
    (row,) = table["rows"]
    assert row["cells"][:2] == ["data", "Pending"]
    assert row["object"]["metadata"]["namespace"] == "default"


def pod(name: str, *containers: str, phase_label: str = "x") -> dict[str, Any]:
    return {
        "metadata": {"name": name, "labels": {"tier": phase_label}},
        "spec": {"containers": [{"name": c, "image": "busybox"} for c in containers]},
    }


def test_pod_logs_come_from_the_log_source(sim_api: SimApi) -> None:
    sim_api.server.set_log_source(lambda ns, pod, container: f"{ns}/{pod}/{container}\nend\n")
    pods = "/api/v1/namespaces/default/pods"
    sim_api.request("POST", pods, pod("one", "app"))
    sim_api.request("POST", pods, pod("two", "app", "sidecar"))
    assert sim_api.request("GET", f"{pods}/one/log") == (200, "default/one/app\nend\n")
    assert sim_api.request("GET", f"{pods}/one/log?tailLines=1") == (200, "end\n")
    assert sim_api.request("GET", f"{pods}/two/log?container=sidecar")[1].startswith(
        "default/two/sidecar"
    )
    code, body = sim_api.request("GET", f"{pods}/two/log")
    assert code == 400 and "a container name must be specified" in body["message"]
    assert sim_api.request("GET", f"{pods}/missing/log")[0] == 404


def test_core_v1_api_drives_the_server(sim_api: SimApi) -> None:
    core = core_api(sim_api)
    core.create_namespaced_config_map("default", {"metadata": {"name": "c"}, "data": {"a": "1"}})
    assert core.read_namespaced_config_map("c", "default").data == {"a": "1"}
    core.patch_namespaced_config_map("c", "default", {"data": {"a": "2"}})
    assert [c.metadata.name for c in core.list_namespaced_config_map("default").items] == ["c"]
    core.delete_namespaced_config_map("c", "default")
    with pytest.raises(ApiException) as caught:
        core.read_namespaced_config_map("c", "default")
    assert caught.value.status == 404


def test_core_v1_api_field_selector_on_pod_phase(sim_api: SimApi) -> None:
    core = core_api(sim_api)
    core.create_namespaced_pod("default", pod("a", "app"))
    core.create_namespaced_pod("default", pod("b", "app"))
    core.patch_namespaced_pod_status("b", "default", {"status": {"phase": "Running"}})
    running = core.list_namespaced_pod("default", field_selector="status.phase=Running")
    assert [p.metadata.name for p in running.items] == ["b"]
    with pytest.raises(ApiException) as caught:
        core.list_namespaced_pod("default", field_selector="spec.unknown=1")
    assert caught.value.status == 400


def test_official_watch_stream(sim_api: SimApi) -> None:
    core = core_api(sim_api)
    version = core.list_namespaced_config_map("default").metadata.resource_version
    core.create_namespaced_config_map("default", {"metadata": {"name": "c"}})
    core.delete_namespaced_config_map("c", "default")
    seen = [
        (e["type"], e["object"].metadata.name)
        for e in k8s_watch.Watch().stream(
            core.list_namespaced_config_map, "default", resource_version=version, timeout_seconds=1
        )
    ]
    assert seen == [("ADDED", "c"), ("DELETED", "c")]


def test_events_field_selector_on_involved_object(sim_api: SimApi) -> None:
    events = "/api/v1/namespaces/default/events"
    for name in ("a", "b"):
        sim_api.request(
            "POST",
            events,
            {
                "metadata": {"name": f"ev-{name}"},
                "reason": "Test",
                "message": "m",
                "type": "Normal",
                "involvedObject": {
                    "kind": "PersistentVolumeClaim",
                    "name": name,
                    "namespace": "default",
                },
            },
        )
    _, found = sim_api.request(
        "GET",
        f"{events}?fieldSelector=involvedObject.name%3Db,"
        "involvedObject.kind%3DPersistentVolumeClaim",
    )
    assert [e["metadata"]["name"] for e in found["items"]] == ["ev-b"]


def test_stopped_server_drops_its_keep_alive_connections(tmp_path: Any) -> None:
    server = SimApiServer().start()
    address = urlsplit(server.url)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=5)
    connection.request("GET", "/api/v1/namespaces")
    assert connection.getresponse().read()
    server.stop()
    with pytest.raises((ConnectionError, http.client.HTTPException, OSError)):
        connection.request("GET", "/api/v1/namespaces")
        connection.getresponse()
    connection.close()


def test_filtered_watch_sees_objects_enter_and_leave_its_filter(sim_api: SimApi) -> None:
    pods = "/api/v1/namespaces/default/pods"
    _, listed = sim_api.request("GET", pods)
    version = listed["metadata"]["resourceVersion"]
    sim_api.request("POST", pods, pod("p", "app"))
    for phase in ("Running", "Running", "Succeeded"):
        sim_api.request(
            "PATCH",
            f"{pods}/p/status",
            {"status": {"phase": phase, "message": "x" if phase else ""}},
            "application/merge-patch+json",
        )
    sim_api.request(
        "PATCH",
        f"{pods}/p/status",
        {"status": {"message": "later"}},
        "application/merge-patch+json",
    )
    events = stream(
        sim_api,
        f"{pods}?watch=true&resourceVersion={version}&timeoutSeconds=1"
        "&fieldSelector=status.phase%3DRunning",
    )
    assert [(e["type"], e["object"]["status"]["phase"]) for e in events] == [
        ("ADDED", "Running"),
        ("DELETED", "Running"),
    ]
    deleted = events[-1]["object"]["metadata"]["resourceVersion"]
    assert int(deleted) > int(events[0]["object"]["metadata"]["resourceVersion"])


def test_a_failing_log_source_answers_500_and_the_server_goes_on(sim_api: SimApi) -> None:
    def broken(namespace: str, pod_name: str, container: str) -> str:
        raise RuntimeError("runner lost")

    sim_api.server.set_log_source(broken)
    pods = "/api/v1/namespaces/default/pods"
    sim_api.request("POST", pods, pod("one", "app"))
    code, body = sim_api.request("GET", f"{pods}/one/log")
    assert (code, body["reason"]) == (500, "InternalError")
    assert "runner lost" in body["message"]
    assert sim_api.request("GET", f"{pods}/one")[0] == 200


def test_a_new_server_on_the_same_port_is_a_new_empty_cluster(tmp_path: Any) -> None:
    first = SimApiServer().start()
    api = SimApi(first, first.write_kubeconfig(tmp_path / "kubeconfig"))
    api.request("POST", CMS, {"metadata": {"name": "old"}})
    first.stop()
    second = SimApiServer(port=first.port).start()
    try:
        assert second.url == first.url
        rebuilt = SimApi(second, api.kubeconfig)
        assert rebuilt.request("GET", f"{CMS}/old")[0] == 404
    finally:
        second.stop()

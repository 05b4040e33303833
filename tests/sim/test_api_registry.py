"""API operations over raw HTTP: Status errors, defaulting, validation, versions."""

from __future__ import annotations

from typing import Any

from tests.sim.conftest import SimApi

PVCS = "/api/v1/namespaces/default/persistentvolumeclaims"
CMS = "/api/v1/namespaces/default/configmaps"


def claim(name: str = "data", **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": name},
        "spec": {
            "accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": "1Gi"}},
            **spec,
        },
    }


def test_not_found_is_a_status_object(sim_api: SimApi) -> None:
    code, body = sim_api.request("GET", f"{PVCS}/missing")
    assert code == 404
    assert body["kind"] == "Status"
    assert (body["status"], body["reason"], body["code"]) == ("Failure", "NotFound", 404)
    assert body["details"] == {"name": "missing", "group": "", "kind": "persistentvolumeclaims"}


def test_unknown_path_is_404(sim_api: SimApi) -> None:
    code, body = sim_api.request("GET", "/apis/example.com/v1/things")
    assert code == 404
    assert body["reason"] == "NotFound"


def test_already_exists(sim_api: SimApi) -> None:
    assert sim_api.request("POST", PVCS, claim())[0] == 201
    code, body = sim_api.request("POST", PVCS, claim())
    assert (code, body["reason"]) == (409, "AlreadyExists")
    assert body["message"] == 'persistentvolumeclaims "data" already exists'


def test_stale_update_conflicts(sim_api: SimApi) -> None:
    _, created = sim_api.request("POST", CMS, {"metadata": {"name": "c"}, "data": {"a": "1"}})
    first = {**created, "data": {"a": "2"}}
    assert sim_api.request("PUT", f"{CMS}/c", first)[0] == 200
    code, body = sim_api.request("PUT", f"{CMS}/c", {**created, "data": {"a": "3"}})
    assert (code, body["reason"]) == (409, "Conflict")
    assert "the object has been modified" in body["message"]


def test_update_without_version_is_unconditional(sim_api: SimApi) -> None:
    sim_api.request("POST", CMS, {"metadata": {"name": "c"}, "data": {"a": "1"}})
    code, body = sim_api.request("PUT", f"{CMS}/c", {"metadata": {"name": "c"}, "data": {"a": "9"}})
    assert (code, body["data"]) == (200, {"a": "9"})


def test_noop_update_keeps_the_resource_version(sim_api: SimApi) -> None:
    _, created = sim_api.request("POST", CMS, {"metadata": {"name": "c"}, "data": {"a": "1"}})
    _, same = sim_api.request("PUT", f"{CMS}/c", created)
    assert same["metadata"]["resourceVersion"] == created["metadata"]["resourceVersion"]


def test_resource_versions_are_global_and_increasing(sim_api: SimApi) -> None:
    _, first = sim_api.request("POST", CMS, {"metadata": {"name": "a"}})
    _, second = sim_api.request("POST", PVCS, claim())
    _, listed = sim_api.request("GET", CMS)
    assert int(second["metadata"]["resourceVersion"]) > int(first["metadata"]["resourceVersion"])
    assert int(listed["metadata"]["resourceVersion"]) >= int(second["metadata"]["resourceVersion"])


def test_schema_invalid_core_object_is_422_with_causes(sim_api: SimApi) -> None:
    code, body = sim_api.request("POST", PVCS, claim(accessModes="ReadWriteOnce"))
    assert (code, body["reason"]) == (422, "Invalid")
    assert body["message"].startswith('PersistentVolumeClaim "data" is invalid: spec.accessModes')
    assert body["details"]["causes"][0]["field"] == "spec.accessModes"


def test_invalid_name_is_422(sim_api: SimApi) -> None:
    code, body = sim_api.request("POST", CMS, {"metadata": {"name": "Bad_Name"}})
    assert (code, body["reason"]) == (422, "Invalid")
    assert "RFC 1123" in body["message"]


def test_generate_name(sim_api: SimApi) -> None:
    code, body = sim_api.request("POST", CMS, {"metadata": {"generateName": "job-"}})
    assert code == 201
    assert body["metadata"]["name"].startswith("job-")
    assert len(body["metadata"]["name"]) == len("job-") + 5


def test_pvc_spec_is_immutable(sim_api: SimApi) -> None:
    sim_api.request("POST", PVCS, claim(storageClassName="a"))
    for change in (
        {"storageClassName": "b"},
        {
            "dataSourceRef": {
                "apiGroup": "volsync.backube",
                "kind": "ReplicationDestination",
                "name": "x",
            }
        },
        {"accessModes": ["ReadWriteMany"]},
    ):
        code, body = sim_api.request(
            "PATCH", f"{PVCS}/data", {"spec": change}, "application/merge-patch+json"
        )
        assert (code, body["reason"]) == (422, "Invalid"), change
        assert "spec is immutable after creation" in body["message"]


def test_pvc_volume_name_set_once_and_storage_only_grows(sim_api: SimApi) -> None:
    sim_api.request("POST", PVCS, claim())
    merge = "application/merge-patch+json"
    code, _ = sim_api.request("PATCH", f"{PVCS}/data", {"spec": {"volumeName": "pv-1"}}, merge)
    assert code == 200
    code, _ = sim_api.request("PATCH", f"{PVCS}/data", {"spec": {"volumeName": "pv-2"}}, merge)
    assert code == 422
    grow = {"spec": {"resources": {"requests": {"storage": "2Gi"}}}}
    assert sim_api.request("PATCH", f"{PVCS}/data", grow, merge)[0] == 200
    shrink = {"spec": {"resources": {"requests": {"storage": "500Mi"}}}}
    code, body = sim_api.request("PATCH", f"{PVCS}/data", shrink, merge)
    assert code == 422
    assert "spec.resources.requests.storage" in body["message"]


def test_pvc_gets_the_default_storage_class(sim_api: SimApi) -> None:
    sim_api.request(
        "POST",
        "/apis/storage.k8s.io/v1/storageclasses",
        {
            "metadata": {
                "name": "csi-hostpath-sc",
                "annotations": {"storageclass.kubernetes.io/is-default-class": "true"},
            },
            "provisioner": "hostpath.csi.k8s.io",
        },
    )
    _, created = sim_api.request("POST", PVCS, claim())
    assert created["spec"]["storageClassName"] == "csi-hostpath-sc"
    _, explicit = sim_api.request("POST", PVCS, claim("other", storageClassName=""))
    assert explicit["spec"]["storageClassName"] == ""


def test_unsupported_patch_type_is_415(sim_api: SimApi) -> None:
    sim_api.request("POST", CMS, {"metadata": {"name": "c"}})
    code, body = sim_api.request("PATCH", f"{CMS}/c", {"data": {}}, "application/xml")
    assert (code, body["reason"]) == (415, "UnsupportedMediaType")


def test_protobuf_body_without_a_known_kind_is_415(sim_api: SimApi) -> None:
    code, _ = sim_api.request("POST", CMS, b"k8s\x00", "application/vnd.kubernetes.protobuf")
    assert code == 415


def test_method_not_allowed_is_405(sim_api: SimApi) -> None:
    code, body = sim_api.request("PUT", CMS, {"metadata": {"name": "c"}})
    assert (code, body["reason"]) == (405, "MethodNotAllowed")


def test_namespace_mismatch_is_400(sim_api: SimApi) -> None:
    code, _ = sim_api.request("POST", CMS, {"metadata": {"name": "c", "namespace": "other"}})
    assert code == 400


def test_kind_mismatch_is_400(sim_api: SimApi) -> None:
    code, _ = sim_api.request(
        "POST", CMS, {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "c"}}
    )
    assert code == 400


def test_status_on_create_is_dropped(sim_api: SimApi) -> None:
    _, created = sim_api.request("POST", PVCS, {**claim(), "status": {"phase": "Bound"}})
    assert created["status"] == {"phase": "Pending"}


def test_apply_patch_creates_and_updates(sim_api: SimApi) -> None:
    apply = "application/apply-patch+yaml"
    manifest = b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  a: '1'\n"
    code, created = sim_api.request("PATCH", f"{CMS}/c?fieldManager=test", manifest, apply)
    assert (code, created["data"]) == (200, {"a": "1"})
    more = b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  b: '2'\n"
    _, updated = sim_api.request("PATCH", f"{CMS}/c?fieldManager=test&force=true", more, apply)
    assert updated["data"] == {"a": "1", "b": "2"}  # simplified apply: merged, not pruned


def test_delete_precondition_mismatch_conflicts(sim_api: SimApi) -> None:
    sim_api.request("POST", CMS, {"metadata": {"name": "c"}})
    code, body = sim_api.request("DELETE", f"{CMS}/c", {"preconditions": {"uid": "nope"}})
    assert (code, body["reason"]) == (409, "Conflict")


def test_delete_collection_with_label_selector(sim_api: SimApi) -> None:
    sim_api.request("POST", CMS, {"metadata": {"name": "a", "labels": {"app": "x"}}})
    sim_api.request("POST", CMS, {"metadata": {"name": "b", "labels": {"app": "y"}}})
    assert sim_api.request("DELETE", f"{CMS}?labelSelector=app%3Dx")[0] == 200
    _, listed = sim_api.request("GET", CMS)
    assert [i["metadata"]["name"] for i in listed["items"]] == ["b"]


def test_scale_subresource_of_a_statefulset(sim_api: SimApi) -> None:
    sets = "/apis/apps/v1/namespaces/default/statefulsets"
    sim_api.request(
        "POST",
        sets,
        {
            "metadata": {"name": "db"},
            "spec": {
                "serviceName": "db",
                "selector": {"matchLabels": {"app": "db"}},
                "template": {
                    "metadata": {"labels": {"app": "db"}},
                    "spec": {"containers": [{"name": "c", "image": "x"}]},
                },
            },
        },
    )
    _, scale = sim_api.request("GET", f"{sets}/db/scale")
    assert (scale["kind"], scale["spec"]["replicas"]) == ("Scale", 1)
    assert scale["status"]["selector"] == "app=db"
    code, scaled = sim_api.request(
        "PATCH", f"{sets}/db/scale", {"spec": {"replicas": 0}}, "application/merge-patch+json"
    )
    assert (code, scaled["spec"]["replicas"]) == (200, 0)
    _, db = sim_api.request("GET", f"{sets}/db")
    assert (db["spec"]["replicas"], db["metadata"]["generation"]) == (0, 2)
    code, _ = sim_api.request("PUT", f"{sets}/db/scale", {"spec": {"replicas": -1}})
    assert code == 422
    assert sim_api.request("GET", "/api/v1/namespaces/default/configmaps/x/scale")[0] == 404


def test_strict_field_validation_refuses_unknown_fields(sim_api: SimApi) -> None:
    body = {"metadata": {"name": "c", "lables": {"a": "b"}}, "data": {}}
    code, answer = sim_api.request("POST", f"{CMS}?fieldValidation=Strict", body)
    assert (code, answer["reason"]) == (400, "BadRequest")
    assert 'strict decoding error: unknown field "metadata.lables"' in answer["message"]
    assert sim_api.request("POST", f"{CMS}?fieldValidation=Ignore", body)[0] == 201


def test_pvc_needs_access_modes_and_a_storage_request(sim_api: SimApi) -> None:
    code, body = sim_api.request("POST", PVCS, {"metadata": {"name": "bare"}, "spec": {}})
    assert (code, body["reason"]) == (422, "Invalid")
    fields = [cause["field"] for cause in body["details"]["causes"]]
    assert fields == ["spec.accessModes", "spec.resources[storage]"]


def test_secret_string_data_is_folded_into_data(sim_api):
    """The real API server stores stringData base64-encoded under data and never returns it."""
    import base64

    from restore_drill.k8s import SECRET

    kube = sim_api.kube()
    kube.create(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "repo", "namespace": "default"},
            "data": {"KEEP": base64.b64encode(b"kept").decode()},
            "stringData": {"RESTIC_PASSWORD": "pw"},
        }
    )
    stored = kube.get(SECRET, "repo", "default")
    assert "stringData" not in stored or not stored["stringData"]
    assert base64.b64decode(stored["data"]["RESTIC_PASSWORD"]) == b"pw"
    assert base64.b64decode(stored["data"]["KEEP"]) == b"kept"

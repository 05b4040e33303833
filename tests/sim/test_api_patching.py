"""Patch formats of the sim API server, as pure functions."""

from __future__ import annotations

import pytest

from restore_drill.clusters.sim.api.patching import (
    apply_config,
    json_patch,
    merge_patch,
    patch_document,
    strategic_merge,
)
from restore_drill.clusters.sim.api.status import ApiError


def test_merge_patch_merges_objects_replaces_lists_and_null_deletes() -> None:
    target = {"a": {"b": 1, "c": 2}, "l": [1, 2], "gone": True}
    assert merge_patch(target, {"a": {"b": 9}, "l": [3], "gone": None}) == {
        "a": {"b": 9, "c": 2},
        "l": [3],
    }
    assert target == {"a": {"b": 1, "c": 2}, "l": [1, 2], "gone": True}  # not mutated


def test_json_patch_operations() -> None:
    doc = {"a": [1, 2], "b": {"c": 1}}
    patched = json_patch(
        doc,
        [
            {"op": "add", "path": "/a/-", "value": 3},
            {"op": "replace", "path": "/b/c", "value": 2},
            {"op": "copy", "from": "/b/c", "path": "/d"},
            {"op": "move", "from": "/d", "path": "/e"},
            {"op": "test", "path": "/e", "value": 2},
            {"op": "add", "path": "/x~1y", "value": "slash"},
        ],
    )
    assert patched == {"a": [1, 2, 3], "b": {"c": 2}, "e": 2, "x/y": "slash"}
    assert doc == {"a": [1, 2], "b": {"c": 1}}


@pytest.mark.parametrize(
    "operations",
    [
        [{"op": "remove", "path": "/missing"}],
        [{"op": "test", "path": "/a", "value": 2}],
        [{"op": "replace", "path": "/nope/deeper", "value": 1}],
        [{"op": "frobnicate", "path": "/a"}],
    ],
)
def test_json_patch_failures_are_422(operations: list[dict[str, object]]) -> None:
    with pytest.raises(ApiError) as caught:
        json_patch({"a": 1}, operations)
    assert caught.value.code == 422


def test_strategic_merge_by_key_and_directives() -> None:
    target = {
        "spec": {
            "containers": [{"name": "a", "image": "x"}, {"name": "b", "image": "y"}],
            "volumes": [{"name": "data"}],
        },
        "metadata": {"finalizers": ["one"]},
    }
    patched = strategic_merge(
        target,
        {
            "$setElementOrder/containers": [{"name": "a"}, {"name": "b"}],
            "spec": {
                "containers": [
                    {"name": "a", "image": "z"},
                    {"name": "b", "$patch": "delete"},
                    {"name": "c", "image": "new"},
                ]
            },
            "metadata": {"finalizers": ["two", "one"]},
        },
    )
    assert patched["spec"]["containers"] == [
        {"name": "a", "image": "z"},
        {"name": "c", "image": "new"},
    ]
    assert patched["spec"]["volumes"] == [{"name": "data"}]
    assert patched["metadata"]["finalizers"] == ["one", "two"]
    removed = strategic_merge(
        patched, {"metadata": {"$deleteFromPrimitiveList/finalizers": ["one"]}}
    )
    assert removed["metadata"]["finalizers"] == ["two"]
    replaced = strategic_merge(target, {"spec": {"$patch": "replace", "replicas": 1}})
    assert replaced["spec"] == {"replicas": 1}


def test_strategic_merge_replaces_lists_without_a_merge_key() -> None:
    assert strategic_merge({"args": ["a", "b"]}, {"args": ["c"]}) == {"args": ["c"]}


def test_apply_config_merges_without_pruning() -> None:
    live = {"data": {"a": "1"}, "metadata": {"labels": {"x": "1"}}}
    assert apply_config(live, {"data": {"b": "2"}}) == {
        "data": {"a": "1", "b": "2"},
        "metadata": {"labels": {"x": "1"}},
    }


def test_patch_document_rejects_unknown_types_and_bad_json() -> None:
    assert patch_document({"a": 1}, "application/merge-patch+json", b'{"a": 2}') == {"a": 2}
    with pytest.raises(ApiError) as unknown:
        patch_document({}, "application/xml", b"{}")
    assert unknown.value.code == 415
    with pytest.raises(ApiError) as broken:
        patch_document({}, "application/merge-patch+json", b"{not json")
    assert broken.value.code == 400

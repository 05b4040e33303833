"""The store's resourceVersions and bounded history, and watches over it."""

from __future__ import annotations

import pytest

from restore_drill.clusters.sim.api.resources import BY_KIND
from restore_drill.clusters.sim.api.status import ApiError
from restore_drill.clusters.sim.api.store import Store
from restore_drill.clusters.sim.api.watch import Watch

CONFIG_MAPS = BY_KIND[("v1", "ConfigMap")]


def config_map(name: str) -> dict[str, object]:
    return {"metadata": {"name": name, "namespace": "default", "uid": name}}


def test_every_write_takes_the_next_version() -> None:
    store = Store()
    with store.lock:
        first = store.put("configmaps", config_map("a"), "ADDED")
        second = store.put("configmaps", config_map("b"), "ADDED")
        store.remove("configmaps", first)
        assert [e.rv for e in store.events_after(1)] == [2, 3, 4]
        assert second["metadata"]["resourceVersion"] == "3"
        assert store.events_after(1)[-1].obj["metadata"]["resourceVersion"] == "4"
        assert store.in_namespace["default"] == 1


def test_history_is_bounded_and_old_versions_are_gone() -> None:
    store = Store(history_limit=4)
    with store.lock:
        for index in range(6):
            store.put("configmaps", config_map(f"c{index}"), "ADDED")
        with pytest.raises(ApiError) as caught:
            store.events_after(1)
        assert caught.value.code == 410
        assert store.events_after(store.compacted) != []


def test_a_watch_overtaken_by_compaction_ends_with_an_error_event() -> None:
    store = Store(history_limit=4)
    watch = Watch(store, CONFIG_MAPS, "default", {"resourceVersion": "1", "timeoutSeconds": "5"})
    assert watch.start() == []
    with store.lock:
        for index in range(6):
            store.put("configmaps", config_map(f"c{index}"), "ADDED")
    ((kind, status),) = list(watch.follow())
    assert kind == "ERROR"
    assert (status["code"], status["reason"]) == (410, "Expired")


def test_a_watch_ends_when_the_store_closes() -> None:
    store = Store()
    watch = Watch(store, CONFIG_MAPS, None, {"timeoutSeconds": "60"})
    watch.start()
    store.close()
    assert list(watch.follow()) == []


def test_bad_resource_version_is_400() -> None:
    with pytest.raises(ApiError) as caught:
        Watch(Store(), CONFIG_MAPS, None, {"resourceVersion": "abc"})
    assert caught.value.code == 400

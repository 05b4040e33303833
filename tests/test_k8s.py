"""restore_drill.k8s over real HTTP, against a tiny stand-in API (tests/k8s_standin.py)
whose failures can be scripted; the drills exercise it against real kind clusters."""

from __future__ import annotations

import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from restore_drill import progress
from restore_drill.errors import (
    Conflict,
    Forbidden,
    Gone,
    Invalid,
    KubeError,
    NotFound,
    Unreachable,
    WaitTimeout,
)
from restore_drill.k8s import CONFIG_MAP, Kind, Kube, _error, describe, kind_of
from tests.k8s_standin import StandInApi


@pytest.fixture
def api() -> Iterator[StandInApi]:
    with StandInApi() as server:
        yield server


@pytest.fixture
def kube(api: StandInApi, tmp_path: Path) -> Iterator[Kube]:
    client = Kube(api.write_kubeconfig(tmp_path / "kubeconfig"))
    yield client
    client.close()


def config_map(name: str, **data: str) -> dict[str, object]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": "drill"},
        "data": data,
    }


def has(key: str):  # type: ignore[no-untyped-def]
    return lambda obj: obj is not None and key in (obj.get("data") or {})


def later(seconds: float, action) -> threading.Timer:  # type: ignore[no-untyped-def]
    timer = threading.Timer(seconds, action)
    timer.start()
    return timer


def test_missing_kubeconfig_is_a_kube_error(tmp_path: Path) -> None:
    with pytest.raises(KubeError, match="kubeconfig not found"):
        Kube(tmp_path / "nope")


def test_apply_is_server_side_with_the_field_manager(kube: Kube, api: StandInApi) -> None:
    applied = kube.apply(config_map("app", a="1"))
    assert applied["data"] == {"a": "1"}
    assert kube.get(CONFIG_MAP, "app", "drill")["data"] == {"a": "1"}
    kube.apply(config_map("app", a="2"))
    assert kube.get(CONFIG_MAP, "app", "drill")["data"] == {"a": "2"}


def test_get_missing_raises_not_found_and_find_returns_none(kube: Kube) -> None:
    with pytest.raises(NotFound) as caught:
        kube.get(CONFIG_MAP, "ghost", "drill")
    assert caught.value.status == 404
    assert kube.find(CONFIG_MAP, "ghost", "drill") is None


def test_create_twice_is_a_conflict(kube: Kube) -> None:
    kube.create(config_map("once"))
    with pytest.raises(KubeError) as caught:
        kube.create(config_map("once"))
    assert caught.value.status == 409
    assert isinstance(caught.value, Conflict)


def test_delete_reports_whether_something_was_deleted(kube: Kube) -> None:
    kube.apply(config_map("doomed"))
    assert kube.delete(CONFIG_MAP, "doomed", "drill") is True
    assert kube.delete(CONFIG_MAP, "doomed", "drill") is False


def test_delete_answered_carries_the_servers_deletion_time(kube: Kube, api: StandInApi) -> None:
    kube.apply(config_map("held"))
    api.store.hold("drill", "held", "example.com/hold")
    answer = kube.delete_answered(CONFIG_MAP, "held", "drill")
    assert answer is not None and answer["metadata"]["deletionTimestamp"] == "2026-01-01T00:00:00Z"
    kube.apply(config_map("free"))
    assert "deletionTimestamp" not in (kube.delete_answered(CONFIG_MAP, "free", "drill") or {})
    assert kube.delete_answered(CONFIG_MAP, "free", "drill") is None


def test_wait_for_returns_at_once_when_the_list_already_satisfies(kube: Kube) -> None:
    kube.apply(config_map("ready", done="yes"))
    found = kube.wait_for(CONFIG_MAP, "ready", "drill", has("done"), timeout=5)
    assert found is not None and found["data"]["done"] == "yes"


def test_wait_for_is_woken_by_a_watch_event(kube: Kube, api: StandInApi) -> None:
    kube.apply(config_map("slow"))
    seen: list[object] = []
    later(0.3, lambda: api.store.put("drill", "slow", {"done": "yes"}))
    found = kube.wait_for(
        CONFIG_MAP, "slow", "drill", has("done"), timeout=10, on_event=seen.append
    )
    assert found is not None and found["data"] == {"done": "yes"}
    assert seen[0] is not None and "done" not in seen[0]["data"]  # type: ignore[index]
    assert api.store.watch_requests >= 1


def test_wait_for_relists_after_410_gone(kube: Kube, api: StandInApi) -> None:
    kube.apply(config_map("expiring"))
    api.store.gone_watches = 1
    later(0.5, lambda: api.store.put("drill", "expiring", {"done": "yes"}))
    found = kube.wait_for(CONFIG_MAP, "expiring", "drill", has("done"), timeout=10)
    assert found is not None
    assert api.store.gone_watches == 0
    assert api.store.watch_requests >= 2  # the 410'd watch, then a fresh one after re-list


def test_wait_for_timeout_says_what_it_saw_last(kube: Kube, api: StandInApi) -> None:
    kube.apply(config_map("stuck", phase="Pending"))
    with pytest.raises(WaitTimeout) as caught:
        kube.wait_for(CONFIG_MAP, "stuck", "drill", has("done"), timeout=1.5, what="stuck done")
    assert caught.value.what == "stuck done"
    assert caught.value.waited_seconds >= 1.5
    assert "ConfigMap/stuck" in caught.value.last_seen
    assert "stuck done" in str(caught.value)


def test_delete_then_wait_gone(kube: Kube) -> None:
    kube.apply(config_map("bye"))
    kube.delete(CONFIG_MAP, "bye", "drill")
    kube.wait_gone(CONFIG_MAP, "bye", "drill", timeout=5)
    assert kube.find(CONFIG_MAP, "bye", "drill") is None


def test_wait_for_absent_object_sees_none(kube: Kube) -> None:
    assert kube.wait_for(CONFIG_MAP, "never", "drill", lambda o: o is None, timeout=5) is None


def test_server_version(kube: Kube) -> None:
    assert kube.server_version() == "v1.33.1-standin"


def test_unserved_kind_is_a_kube_error(kube: Kube) -> None:
    with pytest.raises(KubeError, match="does not serve"):
        kube.get(Kind("example.com/v1", "Widget"), "w", "drill")


def test_kind_of_reads_namespacedness_from_metadata() -> None:
    assert kind_of(config_map("x")).namespaced
    assert not kind_of(
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "n"}}
    ).namespaced


def test_describe_summarises_state() -> None:
    assert describe(None) == "absent"
    text = describe(
        {
            "kind": "PersistentVolumeClaim",
            "metadata": {"name": "data", "deletionTimestamp": "now", "finalizers": ["f"]},
            "status": {"phase": "Pending"},
        }
    )
    assert "PersistentVolumeClaim/data" in text and "terminating" in text and "Pending" in text
    assert (
        len(describe({"kind": "X", "metadata": {"name": "n"}, "status": {"s": "y" * 999}})) == 400
    )


def test_wait_gone_waits_for_the_finalizer(kube: Kube, api: StandInApi) -> None:
    kube.apply(config_map("held"))
    api.store.hold("drill", "held", "kubernetes.io/pvc-protection")
    kube.delete(CONFIG_MAP, "held", "drill")
    with pytest.raises(WaitTimeout) as caught:
        kube.wait_gone(CONFIG_MAP, "held", "drill", timeout=1)
    assert "terminating" in caught.value.last_seen and "pvc-protection" in caught.value.last_seen
    later(0.3, lambda: api.store.release("drill", "held"))
    kube.wait_for(CONFIG_MAP, "held", "drill", lambda o: o is None, timeout=10)
    assert kube.find(CONFIG_MAP, "held", "drill") is None


def test_an_unreachable_api_server_is_a_kube_error(tmp_path: Path) -> None:
    with StandInApi() as api:
        kubeconfig = api.write_kubeconfig(tmp_path / "kubeconfig")
    client = Kube(kubeconfig)  # the server is gone now: nothing listens on its port
    client.api_client.configuration.retries = 0
    with pytest.raises(KubeError, match="unreachable") as caught:
        client.server_version()
    assert caught.value.status is None and caught.value.reason == "Unreachable"
    assert isinstance(caught.value, Unreachable)
    client.close()


def test_discovery_leaves_no_cache_file_behind(
    api: StandInApi, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    temp = tmp_path / "temp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    client = Kube(api.write_kubeconfig(tmp_path / "kubeconfig"))
    client.apply(config_map("seen"))
    assert client.get(CONFIG_MAP, "seen", "drill")["metadata"]["name"] == "seen"
    client.close()
    assert list(temp.iterdir()) == []


def test_threads_sharing_a_client_look_kinds_up_one_at_a_time(
    api: StandInApi, tmp_path: Path
) -> None:
    import time

    client = Kube(api.write_kubeconfig(tmp_path / "kubeconfig"))
    inside: list[int] = []

    class Resources:
        """A lookup that fails when two threads are in it at once, as a half-filled
        discovery cache does."""

        def get(self, **_: Any) -> str:
            inside.append(1)
            try:
                if len(inside) > 1:
                    raise RuntimeError("two lookups at once")
                time.sleep(0.02)
                return "resource"
            finally:
                inside.pop()

    class Dynamic:
        resources = Resources()

    client._dynamic = Dynamic()  # type: ignore[assignment]
    failures: list[BaseException] = []

    def look_up() -> None:
        try:
            client.resource(CONFIG_MAP)
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=look_up) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    client.close()
    assert failures == []


class Answer(Exception):
    """What the client raises for an API answer: a status and a Status body."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status
        self.body = '{"kind": "Status", "reason": "Why", "message": "said the server"}'


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (401, Forbidden),
        (403, Forbidden),
        (404, NotFound),
        (409, Conflict),
        (410, Gone),
        (422, Invalid),
        (500, KubeError),
    ],
)
def test_each_http_status_has_its_exception(status: int, kind: type[KubeError]) -> None:
    error = _error(Answer(status), "apply ConfigMap drill/x")
    assert type(error) is kind and error.status == status
    assert str(error) == f"apply ConfigMap drill/x: {status} Why: said the server"


def test_dig_walks_any_depth_and_stops_at_a_missing_level() -> None:
    from restore_drill.kinds import dig

    obj = {"status": {"latestImage": {"name": "snap"}, "conditions": []}, "spec": None}
    assert dig(obj, "status", "latestImage", "name") == "snap"
    assert dig(obj, "spec", "trigger", "manual") is None
    assert dig(obj, "status", "conditions", "0") is None  # a list is not a mapping
    assert dig(None, "status") is None and dig(obj) is obj


def test_wait_for_reports_to_the_drills_progress_display(kube: Kube, api: StandInApi) -> None:
    kube.apply(config_map("shown"))
    events: list[progress.Event] = []
    later(0.3, lambda: api.store.put("drill", "shown", {"done": "yes"}))
    with progress.reporting(events.append):
        kube.wait_for(CONFIG_MAP, "shown", "drill", has("done"), timeout=10, what="shown done")
    waits = [event for event in events if isinstance(event, progress.Waiting)]
    assert waits and {(w.what, w.seen, w.timeout) for w in waits} == {
        ("shown done", "present, no status yet", 10)
    }
    assert events[-1] == progress.WaitEnded("shown done")

"""Steps run side by side (addons.together), and offline images loaded in the background
in the order the installs need them (clusters.kind_offline.ImageLoads, load_order)."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import pytest

from restore_drill.addons import load_addons, recording
from restore_drill.addons.together import Background, run_together
from restore_drill.clusters import kind_offline
from restore_drill.errors import CommandFailed, WaitTimeout


def test_steps_run_side_by_side() -> None:
    both = threading.Barrier(2, timeout=10)  # passes only when both steps run at once
    run_together({"a": both.wait, "b": both.wait})


def test_the_first_failure_is_raised_once_every_step_has_ended() -> None:
    ended: list[str] = []

    def fails() -> None:
        raise CommandFailed("a failed", program="a", exit_code=1)

    def slow() -> None:
        ended.append("b")

    with pytest.raises(CommandFailed, match="a failed"):
        run_together({"a": fails, "b": slow})
    assert ended == ["b"]


def test_a_dry_run_runs_the_steps_in_order_in_place() -> None:
    seen: list[str] = []
    with recording(lambda argv, env, cwd, stdin: ""):
        run_together({"a": lambda: seen.append("a"), "b": lambda: seen.append("b")})
        Background("c", lambda: seen.append(threading.current_thread().name)).result(0)
    assert seen == ["a", "b", threading.current_thread().name]


def test_background_result_has_a_deadline() -> None:
    release = threading.Event()
    background = Background("stuck", lambda: release.wait(10))
    with pytest.raises(WaitTimeout, match="stuck"):
        background.result(0.05)
    release.set()
    background.result(10)


def test_load_order_puts_the_snapshot_controller_first_and_the_rest_last() -> None:
    addons = load_addons()
    groups = kind_offline.load_order(addons, "0.16.0")
    assert groups[0] == ["registry.k8s.io/sig-storage/snapshot-controller:v8.4.0"]
    assert groups[1] == ["quay.io/backube/volsync:0.16.0"]
    assert "restore-drill/csi-hostpath:0.1.0" in groups[2]
    assert "quay.io/backube/volsync:0.11.0" in groups[-1]
    everything = [image for group in groups for image in group]
    assert sorted(everything) == sorted(kind_offline.Offline(addons).addon_images().values())


def loads(monkeypatch: pytest.MonkeyPatch, fail_at: str = "") -> tuple[Any, list[Sequence[str]]]:
    gates = {name: threading.Event() for name in ("a", "b", "c")}
    loaded: list[Sequence[str]] = []

    def run_command(argv: Sequence[str], **_: Any) -> None:
        image = argv[-1]
        gates[image].wait(10)
        if image == fail_at:
            raise CommandFailed(f"kind load {image}", program="kind", exit_code=1)
        loaded.append(argv[-1:])

    monkeypatch.setattr(kind_offline, "run_command", run_command)
    image_loads = kind_offline.ImageLoads("c1", [["a"], ["b"], ["c"]])
    image_loads.gates = gates  # type: ignore[attr-defined]
    return image_loads, loaded


def test_wait_for_returns_once_its_own_group_is_loaded(monkeypatch: pytest.MonkeyPatch) -> None:
    image_loads, loaded = loads(monkeypatch)
    image_loads.wait_for({"elsewhere"}, timeout=0)  # in no group: at once
    image_loads.gates["a"].set()
    image_loads.wait_for({"a"}, timeout=10)
    assert loaded == [["a"]]
    with pytest.raises(WaitTimeout, match="kind load b"):
        image_loads.wait_for({"b"}, timeout=0.05)
    image_loads.gates["b"].set()
    image_loads.gates["c"].set()
    image_loads.wait_all(10)
    assert loaded == [["a"], ["b"], ["c"]]


def test_a_failed_load_fails_whoever_waits_for_it(monkeypatch: pytest.MonkeyPatch) -> None:
    image_loads, _loaded = loads(monkeypatch, fail_at="b")
    for gate in image_loads.gates.values():
        gate.set()
    with pytest.raises(CommandFailed, match="kind load b"):
        image_loads.wait_for({"c"}, timeout=10)
    image_loads.wait_for({"a"}, timeout=10)  # loaded before the failure
    with pytest.raises(CommandFailed):
        image_loads.wait_all(10)

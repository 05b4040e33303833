"""The container launcher's pure parts and the runner's path-rewrite fallback."""

from __future__ import annotations

import threading
from pathlib import Path

from restore_drill.clusters.sim.controllers.pod_setup import expand
from restore_drill.clusters.sim.launch import rewrite
from restore_drill.clusters.sim.runner import ContainerSpec, Mount, PodRunner, read_log


def test_rewrite_replaces_mount_path_prefixes() -> None:
    mounts = {"/data": "/run/v1", "/data/cache": "/run/v2"}
    assert rewrite("/data/x", mounts) == "/run/v1/x"
    assert rewrite("/data/cache/y", mounts) == "/run/v2/y"  # the longest mountPath wins
    assert rewrite("/database", mounts) == "/database"  # a prefix of a name is not a path
    assert rewrite("cd /data/app && ls", mounts) == "cd /run/v1/app && ls"


def test_expand_follows_kubernetes_rules() -> None:
    env = {"A": "1"}
    assert expand("$(A)-$(B)-$$(A)", env) == "1-$(B)-$(A)"


def test_runner_without_namespaces_rewrites_paths(tmp_path: Path) -> None:
    volume = tmp_path / "volume"
    volume.mkdir()
    runner = PodRunner(tmp_path / "pods")
    runner.isolated = False
    done = threading.Event()
    spec = ContainerSpec(
        "c",
        ["sh", "-c", "echo hi > /data/out; cat /data/out; echo $WHERE"],
        {"WHERE": "/data/out"},
        "/data",
        [Mount(str(volume), "/data")],
    )
    runner.start("ns", "p", spec, "now", done.set)
    assert done.wait(10)
    assert (volume / "out").read_text() == "hi\n"
    state = runner.state("ns", "p", "c")
    assert state is not None and state.exit_code == 0
    assert read_log(tmp_path / "pods", "ns", "p", "c") == f"hi\n{volume}/out\n"


def test_a_missing_program_exits_127(tmp_path: Path) -> None:
    runner = PodRunner(tmp_path / "pods")
    done = threading.Event()
    runner.start("ns", "p", ContainerSpec("c", ["/no/such/program"], {}), "now", done.set)
    assert done.wait(10)
    state = runner.state("ns", "p", "c")
    assert state is not None and state.exit_code != 0

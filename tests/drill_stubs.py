"""A drill with real app fixtures on a stand-in cluster and store, for steps' unit tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from restore_drill.objectstore import S3Credentials
from restore_drill.runner import RunOptions, prepare_drill
from restore_drill.scenario import find_scenario
from restore_drill.steps import Drill


class StubCluster:
    backend = "kind"
    agent_image = "agent:test"
    storage_class = "sc"
    snapshot_class = "vsc"

    def __init__(self, kube: Any) -> None:
        self._kube = kube

    def kube(self) -> Any:
        return self._kube

    def assert_may_delete_namespace(self, namespace: str, created: set[str]) -> None:
        pass

    def versions(self) -> dict[str, str]:
        return {}


class StubStore:
    credentials = S3Credentials("key", "secret")
    cluster_endpoint = "http://store:9000"


def stub_drill(tmp_path: Path, kube: Any, scenario: str = "pvc-delete") -> Drill:
    return prepare_drill(
        find_scenario(scenario),
        StubCluster(kube),  # type: ignore[arg-type]
        StubStore(),  # type: ignore[arg-type]
        RunOptions(out_dir=tmp_path),
        run_id="r1",
    )

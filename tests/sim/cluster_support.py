"""Shared pieces of the sim storage/workload tests: a whole SimCluster per test (API server +
every controller) and small manifest builders. Import the fixture into a test module with
``from tests.sim.cluster_support import sim_cluster``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from restore_drill.clusters.sim.cluster import SimCluster
from restore_drill.k8s import Kind, Kube

Obj = dict[str, Any]
TIMEOUT = 20.0
NS = "drill"


@pytest.fixture
def sim_cluster(tmp_path: Path) -> Iterator[SimCluster]:
    cluster = SimCluster("test", tmp_path / "run")
    cluster.create()
    try:
        cluster.kube().create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
        yield cluster
    finally:
        cluster.delete()


def pvc(name: str, storage_class: str = "csi-hostpath-sc", size: str = "1Gi", **spec: Any) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": name, "namespace": NS},
        "spec": {
            "accessModes": ["ReadWriteOnce"],
            "storageClassName": storage_class,
            "resources": {"requests": {"storage": size}},
            **spec,
        },
    }


def pod_spec(command: list[str], claim: str | None = None, **extra: Any) -> Obj:
    spec: Obj = {
        "restartPolicy": "Never",
        "terminationGracePeriodSeconds": 1,
        "containers": [
            {
                "name": "main",
                "image": "busybox",
                "command": command,
                "volumeMounts": [{"name": "data", "mountPath": "/data"}] if claim else [],
            }
        ],
        **extra,
    }
    if claim:
        spec["volumes"] = [{"name": "data", "persistentVolumeClaim": {"claimName": claim}}]
    return spec


def pod(name: str, command: list[str], claim: str | None = None, **extra: Any) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": NS},
        "spec": pod_spec(command, claim, **extra),
    }


def job(name: str, command: list[str], claim: str | None = None, backoff: int = 0) -> Obj:
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name, "namespace": NS},
        "spec": {"backoffLimit": backoff, "template": {"spec": pod_spec(command, claim)}},
    }


def wait(
    kube: Kube,
    kind: Kind,
    name: str,
    test: Callable[[Obj], bool],
    what: str = "",
    namespace: str | None = NS,
) -> Obj:
    found = kube.wait_for(
        kind,
        name,
        namespace if kind.namespaced else None,
        lambda o: o is not None and test(o),
        timeout=TIMEOUT,
        what=what or f"{kind.kind} {name}",
    )
    assert found is not None
    return found


def gone(kube: Kube, kind: Kind, name: str, namespace: str | None = NS) -> None:
    kube.wait_for(
        kind,
        name,
        namespace if kind.namespaced else None,
        lambda o: o is None,
        timeout=TIMEOUT,
        what=f"{kind.kind} {name} gone",
    )


def phase(obj: Obj) -> str:
    return str((obj.get("status") or {}).get("phase"))


def condition(obj: Obj, kind: str) -> Obj:
    return next(
        (c for c in (obj.get("status") or {}).get("conditions") or [] if c.get("type") == kind), {}
    )


def reasons(kube: Kube, name: str) -> list[str]:
    return [str(e.get("reason")) for e in kube.events_for(NS, name)]

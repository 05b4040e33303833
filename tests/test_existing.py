"""restore_drill.clusters.existing: opt-in, run-id namespaces, refusal of anything else."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from restore_drill.clusters.base import _stamp
from restore_drill.clusters.existing import ExistingCluster
from restore_drill.errors import KubeError, RefusedDestructiveAction, UsageError
from restore_drill.k8s import Kind


class FakeKube:
    def __init__(
        self, namespaces: frozenset[str] = frozenset(), deployments: tuple[dict[str, Any], ...] = ()
    ) -> None:
        self.namespaces = set(namespaces)
        self.deployments = list(deployments)
        self.applied: list[dict[str, Any]] = []

    def find(self, kind: Kind, name: str, namespace: str | None = None) -> dict[str, Any] | None:
        return {"metadata": {"name": name}} if name in self.namespaces else None

    def apply(self, manifest: dict[str, Any]) -> dict[str, Any]:
        self.applied.append(manifest)
        self.namespaces.add(manifest["metadata"]["name"])
        return manifest

    def list(self, kind: Kind, namespace: str | None = None, **_: Any) -> list[dict[str, Any]]:
        if kind.kind == "Deployment":
            return self.deployments
        return []

    def server_version(self) -> str:
        raise KubeError("connection refused")


@pytest.fixture
def kubeconfig(tmp_path: Path) -> Path:
    path = tmp_path / "staging.kubeconfig"
    path.write_text("apiVersion: v1\nkind: Config\ncontexts: [{name: staging, context: {}}]\n")
    return path


def make(
    tmp_path: Path, config: Path, kube: FakeKube | None = None, **kwargs: Any
) -> ExistingCluster:
    options: dict[str, Any] = {
        "kubeconfig": config,
        "context": "staging",
        "allow_existing": True,
    }
    options.update(kwargs)
    cluster = ExistingCluster("staging", tmp_path / "run", object(), **options)  # type: ignore[arg-type]
    cluster._kube = kube or FakeKube()  # type: ignore[assignment]
    # Made from the kubeconfig as it is: the cluster keeps this client while it stays so.
    cluster._kube_made_from = _stamp(cluster.kubeconfig)
    return cluster


def test_needs_the_opt_in_flag(tmp_path: Path, kubeconfig: Path) -> None:
    with pytest.raises(UsageError, match="--allow-existing"):
        make(tmp_path, kubeconfig, allow_existing=False)


def test_needs_explicit_kubeconfig_and_context(tmp_path: Path, kubeconfig: Path) -> None:
    with pytest.raises(UsageError, match="--context"):
        make(tmp_path, kubeconfig, context=None)
    with pytest.raises(UsageError, match="--kubeconfig"):
        make(tmp_path, kubeconfig, kubeconfig=None)
    with pytest.raises(UsageError, match="not found"):
        make(tmp_path, kubeconfig, kubeconfig=tmp_path / "absent")
    with pytest.raises(UsageError, match=r"context 'prod' is not in .* \(it has: staging\)"):
        make(tmp_path, kubeconfig, context="prod")


def test_uses_the_users_kubeconfig_and_context_without_copying(
    tmp_path: Path, kubeconfig: Path
) -> None:
    cluster = make(tmp_path, kubeconfig)
    assert cluster.kubeconfig == kubeconfig and cluster.context == "staging"
    assert not (tmp_path / "run" / "kubeconfig").exists()


def test_never_deletes_rebuilds_or_upgrades_the_cluster(tmp_path: Path, kubeconfig: Path) -> None:
    cluster = make(tmp_path, kubeconfig)
    cluster.create()
    assert not cluster.created_by_this_run
    with pytest.raises(RefusedDestructiveAction):
        cluster.delete()
    with pytest.raises(RefusedDestructiveAction, match="rebuild"):
        cluster.rebuild()
    with pytest.raises(RefusedDestructiveAction, match="VolSync"):
        cluster.install_volsync("0.16.0")
    cluster.created_by_this_run = True  # even if something flipped the flag
    with pytest.raises(RefusedDestructiveAction):
        cluster.delete()


def test_versions_read_volsync_from_the_server(tmp_path: Path, kubeconfig: Path) -> None:
    deployment = {
        "spec": {
            "template": {
                "spec": {
                    "containers": [
                        {"name": "kube-rbac-proxy", "image": "gcr.io/x/kube-rbac-proxy:v0.18"},
                        {"name": "manager", "image": "quay.io/backube/volsync:0.11.0"},
                    ]
                }
            }
        }
    }
    versions = make(tmp_path, kubeconfig, FakeKube(deployments=(deployment,))).versions()
    assert versions["volsync"] == "0.11.0"
    assert versions["kubernetes-server"].startswith("unknown")


def test_storage_class_can_be_the_clusters_own(tmp_path: Path, kubeconfig: Path) -> None:
    cluster = make(tmp_path, kubeconfig, storage_class="longhorn", snapshot_class="longhorn-snap")
    assert (cluster.storage_class, cluster.snapshot_class) == ("longhorn", "longhorn-snap")


def test_the_agent_image_can_come_from_a_mirror(tmp_path: Path, kubeconfig: Path) -> None:
    assert make(tmp_path, kubeconfig).agent_image.startswith("docker.io/library/python")
    mirrored = make(tmp_path, kubeconfig, agent_image="mirror.example/agent:1")
    assert mirrored.agent_image == "mirror.example/agent:1"

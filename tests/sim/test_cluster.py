"""SimCluster: addons on create, everything lost on rebuild, the object store left alone."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from restore_drill.clusters.sim.cluster import SimCluster
from restore_drill.errors import RefusedDestructiveAction
from restore_drill.k8s import NAMESPACE, PVC, STORAGE_CLASS, VOLUME_SNAPSHOT_CLASS
from tests.sim.cluster_support import NS, phase, pvc, wait


class StoreThatMustNotBeTouched:
    """Stands in for the caller's object store: any use of it fails the test."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the sim cluster used the object store ({name})")


def test_create_installs_the_addons(tmp_path: Path) -> None:
    cluster = SimCluster("t", tmp_path, StoreThatMustNotBeTouched())  # type: ignore[arg-type]
    cluster.create()
    try:
        kube = cluster.kube()
        sc = kube.get(STORAGE_CLASS, "csi-hostpath-sc")
        assert sc["provisioner"] == "hostpath.csi.k8s.io"
        assert sc["volumeBindingMode"] == "Immediate" and sc["allowVolumeExpansion"] is True
        snap_class = kube.get(VOLUME_SNAPSHOT_CLASS, "csi-hostpath-snapclass")
        assert snap_class["metadata"]["annotations"] == {
            "snapshot.storage.kubernetes.io/is-default-class": "true"
        }
        assert cluster.kubeconfig == tmp_path / "kubeconfig" and cluster.kubeconfig.is_file()
        out = subprocess.run(
            ["kubectl", "--kubeconfig", str(cluster.kubeconfig), "get", "crd"],
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        ).stdout
        assert "replicationdestinations.volsync.backube" in out
        assert "volumesnapshots.snapshot.storage.k8s.io" in out
        versions = cluster.versions()
        assert versions["backend"] == "sim" and versions["kubernetes"].startswith("sim-")
        cluster.install_volsync("0.15.0")
        assert cluster.versions()["volsync"] == "0.15.0"
    finally:
        cluster.delete()


def test_rebuild_loses_every_object_and_volume(tmp_path: Path) -> None:
    cluster = SimCluster("t", tmp_path, StoreThatMustNotBeTouched())  # type: ignore[arg-type]
    cluster.create()
    try:
        kube = cluster.kube()
        kube.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
        kube.create(pvc("data"))
        pv_name = wait(kube, PVC, "data", lambda p: phase(p) == "Bound")["spec"]["volumeName"]
        (tmp_path / "volumes" / pv_name / "file").write_text("lost")
        cluster.rebuild()
        kube = cluster.kube()
        assert kube.find(NAMESPACE, NS) is None
        assert kube.find(PVC, "data", NS) is None
        assert not (tmp_path / "volumes" / pv_name).exists()
        assert kube.get(STORAGE_CLASS, "csi-hostpath-sc")  # the addons are back
    finally:
        cluster.delete()


def test_a_cluster_this_run_did_not_create_is_not_deleted(tmp_path: Path) -> None:
    cluster = SimCluster("t", tmp_path)
    with pytest.raises(RefusedDestructiveAction):
        cluster.delete()

"""Provisioning on the sim: PVC -> PV backed by a directory, binding modes, reclaim, clones."""

from __future__ import annotations

import subprocess

from restore_drill.clusters.sim.cluster import SimCluster
from restore_drill.k8s import POD, PV, PVC, STORAGE_CLASS
from tests.sim.cluster_support import NS, gone, phase, pod, pvc, reasons, sim_cluster, wait
from tests.sim.volsync_support import wait_event

__all__ = ["sim_cluster"]


def test_immediate_pvc_is_bound_to_a_new_directory(sim_cluster: SimCluster) -> None:
    kube = sim_cluster.kube()
    created = kube.create(pvc("data", size="2Gi"))
    bound = wait(kube, PVC, "data", lambda p: phase(p) == "Bound")
    pv_name = bound["spec"]["volumeName"]
    assert pv_name == f"pvc-{created['metadata']['uid']}"
    assert bound["status"]["capacity"] == {"storage": "2Gi"}
    assert (sim_cluster.run_dir / "volumes" / pv_name).is_dir()
    pv = wait(kube, PV, pv_name, lambda v: phase(v) == "Bound")
    assert pv["spec"]["claimRef"]["uid"] == created["metadata"]["uid"]
    assert pv["spec"]["csi"]["driver"] == "hostpath.csi.k8s.io"
    assert pv["spec"]["persistentVolumeReclaimPolicy"] == "Delete"
    assert "ProvisioningSucceeded" in reasons(kube, "data")


def test_deleting_the_pvc_deletes_the_volume_and_its_directory(sim_cluster: SimCluster) -> None:
    kube = sim_cluster.kube()
    kube.create(pvc("data"))
    pv_name = wait(kube, PVC, "data", lambda p: phase(p) == "Bound")["spec"]["volumeName"]
    kube.delete(PVC, "data", NS)
    gone(kube, PVC, "data")
    gone(kube, PV, pv_name)
    assert not (sim_cluster.run_dir / "volumes" / pv_name).exists()


def test_wait_for_first_consumer_binds_only_once_a_pod_uses_it(sim_cluster: SimCluster) -> None:
    kube = sim_cluster.kube()
    kube.create(
        {
            "apiVersion": "storage.k8s.io/v1",
            "kind": "StorageClass",
            "metadata": {"name": "wffc"},
            "provisioner": "hostpath.csi.k8s.io",
            "reclaimPolicy": "Delete",
            "volumeBindingMode": "WaitForFirstConsumer",
        }
    )
    assert kube.get(STORAGE_CLASS, "wffc")["volumeBindingMode"] == "WaitForFirstConsumer"
    kube.create(pvc("late", storage_class="wffc"))
    # the claim waits: the provisioner says why and nothing is bound
    wait_event(kube, "late", "WaitForFirstConsumer", NS)
    waiting = kube.get(PVC, "late", NS)
    assert phase(waiting) == "Pending" and not waiting["spec"].get("volumeName")
    assert kube.list(PV) == []
    kube.create(pod("user", ["true"], claim="late"))
    bound = wait(kube, PVC, "late", lambda p: phase(p) == "Bound")
    annotations = bound["metadata"]["annotations"]
    assert annotations["volume.kubernetes.io/selected-node"] == "sim-node"
    wait(kube, POD, "user", lambda p: phase(p) == "Succeeded")


def test_clone_starts_with_a_copy_of_the_source(sim_cluster: SimCluster) -> None:
    kube = sim_cluster.kube()
    kube.create(pvc("origin"))
    origin = wait(kube, PVC, "origin", lambda p: phase(p) == "Bound")
    (sim_cluster.run_dir / "volumes" / origin["spec"]["volumeName"] / "file").write_text("x")
    source = {"kind": "PersistentVolumeClaim", "name": "origin"}
    kube.create(pvc("copy", dataSource=source, dataSourceRef=source))
    clone = wait(kube, PVC, "copy", lambda p: phase(p) == "Bound")
    assert (
        sim_cluster.run_dir / "volumes" / clone["spec"]["volumeName"] / "file"
    ).read_text() == "x"


def test_a_populator_claim_is_left_alone(sim_cluster: SimCluster) -> None:
    kube = sim_cluster.kube()
    ref = {"apiGroup": "example.com", "kind": "Widget", "name": "w"}
    kube.create(pvc("populated", dataSourceRef=ref))
    kube.create(pvc("plain"))
    wait(kube, PVC, "plain", lambda p: phase(p) == "Bound")  # the provisioner has run meanwhile
    left = kube.get(PVC, "populated", NS)
    assert phase(left) == "Pending" and not left["spec"].get("volumeName")


def test_missing_storage_class_is_reported(sim_cluster: SimCluster) -> None:
    kube = sim_cluster.kube()
    kube.create(pvc("orphan", storage_class="nope"))
    wait_event(kube, "orphan", "ProvisioningFailed", NS)
    assert phase(kube.get(PVC, "orphan", NS)) == "Pending"


def test_kubectl_describe_pvc_reads_like_a_real_cluster(sim_cluster: SimCluster) -> None:
    kube = sim_cluster.kube()
    kube.create(pvc("data"))
    wait(kube, PVC, "data", lambda p: phase(p) == "Bound")
    out = subprocess.run(
        [
            "kubectl",
            "--kubeconfig",
            str(sim_cluster.kubeconfig),
            "-n",
            NS,
            "describe",
            "pvc",
            "data",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout
    for expected in (
        "Status:",
        "Bound",
        "StorageClass:",
        "csi-hostpath-sc",
        "Capacity:",
        "1Gi",
        "kubernetes.io/pvc-protection",
        "ProvisioningSucceeded",
    ):
        assert expected in out, out

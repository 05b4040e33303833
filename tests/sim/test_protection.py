"""pvc-protection and pv-protection on the sim: a used PVC stays Terminating until unused."""

from __future__ import annotations

from restore_drill.clusters.sim.cluster import SimCluster
from restore_drill.k8s import POD, PV, PVC
from tests.sim.cluster_support import NS, condition, gone, phase, pod, pvc, sim_cluster, wait

__all__ = ["sim_cluster"]


def test_a_used_pvc_stays_terminating_until_its_pod_is_deleted(sim_cluster: SimCluster) -> None:
    kube = sim_cluster.kube()
    kube.create(pvc("data"))
    kube.create(pod("app", ["sleep", "300"], claim="data"))
    wait(kube, POD, "app", lambda p: condition(p, "Ready").get("status") == "True")
    pv_name = kube.get(PVC, "data", NS)["spec"]["volumeName"]
    kube.delete(PVC, "data", NS)
    # a later write about the pod proves the protection controller has seen the deletion
    kube.patch(POD, "app", {"metadata": {"labels": {"poke": "1"}}}, NS)
    kube.patch(POD, "app", {"metadata": {"labels": {"poke": "2"}}}, NS)
    terminating = kube.get(PVC, "data", NS)
    assert terminating["metadata"].get("deletionTimestamp")
    assert terminating["metadata"]["finalizers"] == ["kubernetes.io/pvc-protection"]
    assert phase(kube.get(PV, pv_name)) == "Bound"  # the PV stays while its claim does
    assert (sim_cluster.run_dir / "volumes" / pv_name).is_dir()
    kube.delete(POD, "app", NS)
    gone(kube, PVC, "data")
    gone(kube, PV, pv_name, None)
    assert not (sim_cluster.run_dir / "volumes" / pv_name).exists()


def test_a_pvc_used_only_by_a_finished_pod_goes_at_once(sim_cluster: SimCluster) -> None:
    kube = sim_cluster.kube()
    kube.create(pvc("data"))
    kube.create(pod("done", ["true"], claim="data"))
    wait(kube, POD, "done", lambda p: phase(p) == "Succeeded")
    kube.delete(PVC, "data", NS)
    gone(kube, PVC, "data")
    assert kube.get(POD, "done", NS)  # the finished pod is still there


def test_pv_protection_holds_a_bound_volume(sim_cluster: SimCluster) -> None:
    kube = sim_cluster.kube()
    kube.create(pvc("data"))
    pv_name = wait(kube, PVC, "data", lambda p: phase(p) == "Bound")["spec"]["volumeName"]
    kube.delete(PV, pv_name)
    kube.patch(PVC, "data", {"metadata": {"labels": {"poke": "1"}}}, NS)
    held = kube.get(PV, pv_name)
    assert held["metadata"].get("deletionTimestamp")
    assert "kubernetes.io/pv-protection" in held["metadata"]["finalizers"]
    kube.delete(PVC, "data", NS)
    gone(kube, PV, pv_name, None)

"""Deployments, Jobs and Pods on the sim: local processes with volumes at their mountPaths."""

from __future__ import annotations

import base64
import os
from pathlib import Path
from typing import Any

from restore_drill.clusters.sim.cluster import SimCluster
from restore_drill.k8s import DEPLOYMENT, JOB, POD, PVC, Kube
from tests.sim.cluster_support import (
    NS,
    condition,
    gone,
    job,
    phase,
    pvc,
    sim_cluster,
    wait,
)
from tests.sim.volsync_support import wait_event

__all__ = ["sim_cluster"]


def job_pod(kube: Kube, name: str) -> dict[str, Any]:
    pods = kube.list(POD, NS, label_selector=f"job-name={name}")
    assert pods, f"no pod for job {name}"
    return pods[-1]


def test_job_writes_into_the_pvc_and_its_logs_are_served(sim_cluster: SimCluster) -> None:
    kube = sim_cluster.kube()
    kube.create(pvc("data"))
    script = "echo hello > /data/greeting; ls /data; echo done >&2"
    kube.create(job("writer", ["sh", "-c", script], claim="data"))
    finished = wait(kube, JOB, "writer", lambda j: condition(j, "Complete").get("status") == "True")
    assert finished["status"]["succeeded"] == 1
    bound = kube.get(PVC, "data", NS)
    directory = sim_cluster.run_dir / "volumes" / bound["spec"]["volumeName"]
    assert (directory / "greeting").read_text() == "hello\n"
    pod = job_pod(kube, "writer")
    assert phase(pod) == "Succeeded"
    assert pod["metadata"]["labels"]["batch.kubernetes.io/job-name"] == "writer"
    assert pod["metadata"]["ownerReferences"][0]["kind"] == "Job"
    assert pod["status"]["containerStatuses"][0]["state"]["terminated"]["exitCode"] == 0
    logs = kube.pod_logs(pod["metadata"]["name"], NS)
    assert "greeting" in logs and "done" in logs
    assert not Path("/data/greeting").exists()  # the mount point lived in the pod's own root


def test_failing_job_is_retried_then_failed(sim_cluster: SimCluster) -> None:
    kube = sim_cluster.kube()
    kube.create(job("broken", ["sh", "-c", "echo boom; exit 3"], backoff=1))
    failed = wait(kube, JOB, "broken", lambda j: condition(j, "Failed").get("status") == "True")
    assert condition(failed, "Failed")["reason"] == "BackoffLimitExceeded"
    assert condition(failed, "Complete") == {}
    assert failed["status"]["failed"] == 2  # backoffLimit 1: the first try and one retry
    pods = kube.list(POD, NS, label_selector="job-name=broken")
    assert [phase(p) for p in pods] == ["Failed", "Failed"]
    code = pods[0]["status"]["containerStatuses"][0]["state"]["terminated"]["exitCode"]
    assert code == 3


def deployment(replicas: int) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "app", "namespace": NS},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "app"}},
            "template": {
                "metadata": {"labels": {"app": "app"}},
                "spec": {
                    "terminationGracePeriodSeconds": 1,
                    "containers": [
                        {
                            "name": "app",
                            "image": "app:1",
                            "command": ["sleep", "300"],
                            "readinessProbe": {"exec": {"command": ["true"]}},
                        }
                    ],
                },
            },
        },
    }


def test_deployment_scales_from_three_to_zero(sim_cluster: SimCluster) -> None:
    kube = sim_cluster.kube()
    kube.create(deployment(3))
    ready = wait(kube, DEPLOYMENT, "app", lambda d: d.get("status", {}).get("readyReplicas") == 3)
    assert condition(ready, "Available")["status"] == "True"
    assert ready["status"]["observedGeneration"] == ready["metadata"]["generation"]
    pods = kube.list(POD, NS, label_selector="app=app")
    assert len(pods) == 3 and all(phase(p) == "Running" for p in pods)
    assert all(p["metadata"]["name"].startswith("app-") for p in pods)
    assert all(p["metadata"]["ownerReferences"][0]["kind"] == "Deployment" for p in pods)
    kube.patch(DEPLOYMENT, "app", {"spec": {"replicas": 0}}, NS)
    for p in pods:
        gone(kube, POD, p["metadata"]["name"])
    scaled = wait(kube, DEPLOYMENT, "app", lambda d: not d.get("status", {}).get("replicas"))
    assert scaled["status"]["observedGeneration"] == scaled["metadata"]["generation"]


def test_pod_waits_for_its_pvc_and_secret(sim_cluster: SimCluster) -> None:
    kube = sim_cluster.kube()
    kube.create(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "p", "namespace": NS},
            "spec": {
                "restartPolicy": "Never",
                "containers": [
                    {
                        "name": "c",
                        "image": "x",
                        "command": ["sh", "-c", "cat /s/key; echo $V"],
                        "env": [
                            {
                                "name": "V",
                                "valueFrom": {"configMapKeyRef": {"name": "cm", "key": "v"}},
                            }
                        ],
                        "volumeMounts": [{"name": "s", "mountPath": "/s"}],
                    }
                ],
                "volumes": [{"name": "s", "secret": {"secretName": "creds"}}],
            },
        }
    )
    wait_event(kube, "p", "FailedMount", NS)  # the secret volume is missing
    pending = kube.get(POD, "p", NS)
    assert phase(pending) == "Pending"
    config = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm", "namespace": NS}}
    kube.create({**config, "data": {"v": "from-config"}})
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "creds", "namespace": NS}}
    kube.create({**secret, "data": {"key": base64.b64encode(b"from-secret").decode()}})
    done = wait(kube, POD, "p", lambda p: phase(p) in ("Succeeded", "Failed"))
    assert phase(done) == "Succeeded"
    assert kube.pod_logs("p", NS) == "from-secretfrom-config\n"


def test_deleting_a_running_pod_kills_its_process(sim_cluster: SimCluster) -> None:
    kube = sim_cluster.kube()
    kube.create(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "s", "namespace": NS},
            "spec": {
                "terminationGracePeriodSeconds": 1,
                "containers": [{"name": "c", "image": "x", "command": ["sleep", "300"]}],
            },
        }
    )
    running = wait(kube, POD, "s", lambda p: condition(p, "Ready").get("status") == "True")
    pid = int(running["status"]["containerStatuses"][0]["containerID"].removeprefix("sim://"))
    kube.delete(POD, "s", NS)
    gone(kube, POD, "s")
    try:
        os.kill(pid, 0)
        alive = True
    except ProcessLookupError:
        alive = False
    assert not alive

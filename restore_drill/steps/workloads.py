"""Data agent Jobs (write, manifest, mark) and the app's pods: what steps run in the cluster.

Data is written and hashed where it lives: a Job in the app's namespace mounts the PVC at
/data and the agent ConfigMap at /agent; only the manifest travels back, in the pod log.
The app's Deployment keeps running meanwhile (RWO on one node allows both), as a real
app would keep writing while backups run.
"""

from __future__ import annotations

import time
from typing import Any

from restore_drill import k8s
from restore_drill.data import Manifest, agent_files, read_manifest
from restore_drill.errors import AgentFailed, DiskFull
from restore_drill.k8s import Kube, Obj
from restore_drill.kinds import dig, job_ended
from restore_drill.steps.context import AppUnderTest, Drill

AGENT_CONFIG_MAP = "restore-drill-agent"
NO_SPACE = "No space left on device"  # strerror(ENOSPC), as the agent prints it
APP_LABEL = "app.kubernetes.io/name"


def ensure_agent_config_map(drill: Drill, app: AppUnderTest) -> None:
    """The harness's own ConfigMap (the agent's modules + profile); not one of the app's objects."""
    drill.kube().apply(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {
                "name": AGENT_CONFIG_MAP,
                "namespace": app.namespace,
                "labels": {"app.kubernetes.io/managed-by": "restore-drill"},
            },
            "data": agent_files(drill.profile),
        }
    )


def agent_job(name: str, namespace: str, pvc: str, script: str, image: str) -> Obj:
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {"app.kubernetes.io/managed-by": "restore-drill"},
        },
        "spec": {
            "backoffLimit": 0,
            "template": {
                "metadata": {"labels": {"restore-drill/job": name}},
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [
                        {
                            "name": "agent",
                            "image": image,
                            "command": ["sh", "-c", script],
                            "volumeMounts": [
                                {"name": "data", "mountPath": "/data"},
                                {"name": "agent", "mountPath": "/agent", "readOnly": True},
                            ],
                        }
                    ],
                    "volumes": [
                        {"name": "data", "persistentVolumeClaim": {"claimName": pvc}},
                        {"name": "agent", "configMap": {"name": AGENT_CONFIG_MAP}},
                    ],
                },
            },
        },
    }


def run_agent_job(drill: Drill, app: AppUnderTest, pvc: str, what: str, script: str) -> str:
    """Run ``script`` in a Job next to ``pvc``; its pod's log. The Job is removed after."""
    kube = drill.kube()
    name = f"rd-{what}-{drill.counter}-{pvc}"[:63].rstrip("-")
    drill.counter += 1
    kube.create(agent_job(name, app.namespace, pvc, script, drill.cluster.agent_image))
    job = kube.wait_for(
        k8s.JOB,
        name,
        app.namespace,
        job_ended,
        timeout=drill.step_timeout,
        what=f"agent job {app.namespace}/{name} ({what})",
    )
    pods = kube.list(k8s.POD, app.namespace, label_selector=f"restore-drill/job={name}")
    logs = kube.pod_logs(pods[0]["metadata"]["name"], app.namespace) if pods else ""
    remove_job(kube, name, app.namespace, pods)
    if not dig(job, "status", "succeeded"):
        tail = "\n".join(logs.strip().splitlines()[-10:])
        if NO_SPACE in logs:
            raise DiskFull(f"PVC {app.namespace}/{pvc} filled up during {what}: {NO_SPACE}")
        raise AgentFailed(f"agent job {name} ({what}) failed on PVC {pvc}:\n{tail}")
    return logs


def remove_job(kube: Kube, name: str, namespace: str, pods: list[Obj]) -> None:
    # The pods are removed too: a finished pod must not keep the PVC in use later.
    kube.delete(k8s.JOB, name, namespace)
    for pod in pods:
        kube.delete(k8s.POD, pod["metadata"]["name"], namespace)


CLEAR = "find /data -mindepth 1 -maxdepth 1 ! -name lost+found -exec rm -rf {} + && "
MANIFEST = "python3 /agent/agent.py manifest --root /data"


def write_and_list(drill: Drill, app: AppUnderTest, pvc: str, seed: int) -> Manifest:
    script = (
        CLEAR + "python3 /agent/agent.py write --profile-file /agent/profile.json "
        f"--seed {seed} --size {drill.size} --root /data >/dev/null && " + MANIFEST
    )
    logs = run_agent_job(drill, app, pvc, "write", script)
    source = f"{app.namespace}/{pvc} manifest"
    return read_manifest(logs.splitlines(), source, from_agent=True)


def list_data(drill: Drill, app: AppUnderTest, pvc: str) -> Manifest:
    logs = run_agent_job(drill, app, pvc, "manifest", MANIFEST)
    source = f"{app.namespace}/{pvc} manifest"
    return read_manifest(logs.splitlines(), source, from_agent=True)


def restored_volume(kube: Kube, app: AppUnderTest, pvc: str) -> Obj | None:
    """The PV bound to the app's PVC (None while it has none)."""
    claim = kube.find(k8s.PVC, pvc, app.namespace)
    volume = dig(claim, "spec", "volumeName")
    return kube.find(k8s.PV, str(volume)) if volume else None


def app_pods(kube: Kube, app: AppUnderTest) -> list[Obj]:
    selector = f"{APP_LABEL}={app.fixture.deployment}"
    return kube.list(k8s.POD, app.namespace, label_selector=selector)


def pod_ready(pod: Obj) -> bool:
    if pod["metadata"].get("deletionTimestamp"):
        return False
    conditions = dig(pod, "status", "conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def wait_app_ready(drill: Drill, app: AppUnderTest, *, timeout: float) -> tuple[float, Obj]:
    """Wait (list, then watch by label) until one app pod is Ready; the monotonic time it
    was seen, and the pod."""
    kube = drill.kube()
    selector = f"{APP_LABEL}={app.fixture.deployment}"
    deadline = time.monotonic() + timeout
    last: Any = "no pod"
    while time.monotonic() < deadline:
        listed = kube.list(k8s.POD, app.namespace, label_selector=selector)
        for ready in (p for p in listed if pod_ready(p)):
            return time.monotonic(), ready
        last = [k8s.describe(p, 200) for p in listed] or "no pod"
        remaining = max(1, int(deadline - time.monotonic()))
        for _type, pod in kube.watch(
            k8s.POD, app.namespace, label_selector=selector, timeout_seconds=min(remaining, 30)
        ):
            if pod and pod_ready(pod):
                return time.monotonic(), pod
            last = k8s.describe(pod, 200)
    from restore_drill.errors import WaitTimeout

    raise WaitTimeout(
        f"a Ready pod of {app.namespace}/{app.fixture.deployment}", timeout, str(last)
    )

"""Data agent Jobs (write, manifest, mark) and the app's pods: what steps run in the cluster.

Data is written and hashed where it lives: a Job in the app's namespace mounts the PVC at
/data and the agent ConfigMap at /agent; only the manifest travels back, in the pod log.
The app's Deployment keeps running meanwhile (RWO on one node allows both), as a real
app would keep writing while backups run.
"""

from __future__ import annotations

import shlex
import time
from dataclasses import dataclass
from typing import Any

from restore_drill import k8s
from restore_drill.data import Manifest, agent_command, agent_files, read_manifest
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
            "data": agent_files(drill.profile_of(app)),
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


@dataclass(frozen=True)
class AgentTask:
    """A script to run next to one PVC: ``what`` names it in Job names and errors."""

    app: AppUnderTest
    pvc: str
    what: str
    script: str


def run_agent_job(drill: Drill, app: AppUnderTest, pvc: str, what: str, script: str) -> str:
    """Run ``script`` in a Job next to ``pvc``; its pod's log. The Job is removed after."""
    return run_agent_jobs(drill, [AgentTask(app, pvc, what, script)])[0]


def run_agent_jobs(drill: Drill, tasks: list[AgentTask]) -> list[str]:
    """Start every task's Job, then wait for each in turn: the volumes of a many-app drill
    are written or listed at once, not one after another. Each pod's log, in order."""
    names = [_start_agent_job(drill, task) for task in tasks]
    return [_finish_agent_job(drill, task, name) for task, name in zip(tasks, names, strict=True)]


def _start_agent_job(drill: Drill, task: AgentTask) -> str:
    name = f"rd-{task.what}-{drill.counter}-{task.pvc}"[:63].rstrip("-")
    drill.counter += 1
    image = drill.cluster.agent_image
    drill.kube().create(agent_job(name, task.app.namespace, task.pvc, task.script, image))
    return name


def _finish_agent_job(drill: Drill, task: AgentTask, name: str) -> str:
    kube, app, pvc, what = drill.kube(), task.app, task.pvc, task.what
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
MANIFEST = shlex.join(agent_command("manifest"))
MARK = shlex.join(agent_command("mark"))


def write_and_list_all(drill: Drill, seeds: dict[str, int]) -> dict[str, Manifest]:
    """Write a fresh dataset into every PVC (``app/pvc`` -> seed), all at once; each
    one's manifest."""
    tasks = [
        AgentTask(app, pvc, "write", _write_script(drill, seeds[f"{app.name}/{pvc}"]))
        for app, pvc in drill.volumes()
    ]
    return _manifests(tasks, run_agent_jobs(drill, tasks))


def _write_script(drill: Drill, seed: int) -> str:
    write = shlex.join(agent_command("write", seed=seed, size=drill.size))
    return f"{CLEAR}{write} >/dev/null && {MANIFEST}"


def list_all_data(drill: Drill) -> dict[str, Manifest]:
    """Every PVC's manifest (``app/pvc`` -> manifest), listed at once."""
    tasks = [AgentTask(app, pvc, "manifest", MANIFEST) for app, pvc in drill.volumes()]
    return _manifests(tasks, run_agent_jobs(drill, tasks))


def _manifests(tasks: list[AgentTask], logs: list[str]) -> dict[str, Manifest]:
    return {
        f"{task.app.name}/{task.pvc}": read_manifest(
            log.splitlines(), f"{task.app.namespace}/{task.pvc} manifest", from_agent=True
        )
        for task, log in zip(tasks, logs, strict=True)
    }


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

"""Deployments and Jobs: what kube-controller-manager's deployment and job controllers do,
minus the ReplicaSet layer.

* Deployment -> ``spec.replicas`` Pods named ``<deployment>-<template hash>-<5 chars>``
  (labels of the template plus ``pod-template-hash``, ownerReference to the Deployment). A
  changed template replaces the old pods (no surge: like ``strategy: Recreate``). Scale to 0
  deletes the pods. Status: observedGeneration, replicas, updatedReplicas, readyReplicas,
  availableReplicas, unavailableReplicas; conditions Available and Progressing with the real
  reasons.
* Job -> one Pod at a time (``completions``/``parallelism`` 1) named ``<job>-<5 chars>`` with the
  labels ``job-name``, ``controller-uid``, ``batch.kubernetes.io/job-name`` and
  ``batch.kubernetes.io/controller-uid``. A failed pod is replaced until more than
  ``backoffLimit`` pods failed (retried at once: the real 10 s doubling back-off is left out so
  drills stay fast); then conditions FailureTarget + Failed (``BackoffLimitExceeded``). A
  succeeded pod gives SuccessCriteriaMet + Complete, ``succeeded: 1`` and ``completionTime``.
"""

from __future__ import annotations

import copy
import hashlib
import json
import secrets

from restore_drill.clusters.sim.controllers.base import Controller, Obj, now, set_condition
from restore_drill.k8s import DEPLOYMENT, JOB, POD, Kind

ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # the apimachinery rand alphabet (no vowels)


def suffix(length: int = 5) -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(length))


def template_hash(template: Obj) -> str:
    digest = hashlib.sha256(json.dumps(template, sort_keys=True).encode()).digest()
    return "".join(ALPHABET[b % len(ALPHABET)] for b in digest[:10])


def owned_by(pod: Obj, uid: str) -> bool:
    return any(r.get("uid") == uid for r in pod["metadata"].get("ownerReferences") or [])


def owner_reference(owner: Obj) -> Obj:
    meta = owner["metadata"]
    return {
        "apiVersion": owner["apiVersion"],
        "kind": owner["kind"],
        "name": meta["name"],
        "uid": meta["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


def pod_from(template: Obj, owner: Obj, name: str, labels: dict[str, str]) -> Obj:
    meta = copy.deepcopy(template.get("metadata") or {})
    meta.update(
        name=name,
        namespace=owner["metadata"]["namespace"],
        labels={**(meta.get("labels") or {}), **labels},
        ownerReferences=[owner_reference(owner)],
    )
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": meta,
        "spec": copy.deepcopy(template.get("spec") or {}),
    }


def phase(pod: Obj) -> str:
    return str((pod.get("status") or {}).get("phase") or "Pending")


def is_ready(pod: Obj) -> bool:
    return any(
        c.get("type") == "Ready" and c.get("status") == "True"
        for c in (pod.get("status") or {}).get("conditions") or []
    )


class OwnerController(Controller):
    """Shared: a pod event reconciles the pod's owner of ``owner_kind``."""

    owner_kind: Kind

    def reconcile(self, kind: Kind, namespace: str | None, name: str) -> float | None:
        if not namespace:
            return None
        if kind == POD:
            found = self.kube.find(POD, name, namespace)
            for ref in (found or {}).get("metadata", {}).get("ownerReferences") or []:
                if ref.get("kind") == self.owner_kind.kind:
                    self.enqueue(self.owner_kind, namespace, ref["name"])
            if found is None:  # gone: whoever owned it may need a new one
                for listed in self.kube.list(self.owner_kind, namespace):
                    self.enqueue(self.owner_kind, namespace, listed["metadata"]["name"])
            return None
        owner = self.kube.find(self.owner_kind, name, namespace)
        if owner is None or owner["metadata"].get("deletionTimestamp"):
            return None
        pods = [p for p in self.kube.list(POD, namespace) if owned_by(p, owner["metadata"]["uid"])]
        return self.sync(owner, pods)

    def sync(self, owner: Obj, pods: list[Obj]) -> float | None:
        raise NotImplementedError


class DeploymentController(OwnerController):
    watches = (DEPLOYMENT, POD)
    owner_kind = DEPLOYMENT

    def sync(self, owner: Obj, pods: list[Obj]) -> float | None:
        meta, spec = owner["metadata"], owner["spec"]
        wanted = int(spec.get("replicas", 1))
        hashed = template_hash(spec.get("template") or {})
        live = [p for p in pods if not p["metadata"].get("deletionTimestamp")]
        old = [
            p
            for p in live
            if (p["metadata"].get("labels") or {}).get("pod-template-hash") != hashed
        ]
        current = [p for p in live if p not in old]
        for pod in old:
            self.kube.delete(POD, pod["metadata"]["name"], meta["namespace"])
        for _ in range(wanted - len(current)):
            name = f"{meta['name']}-{hashed}-{suffix()}"
            self.kube.create(
                pod_from(spec.get("template") or {}, owner, name, {"pod-template-hash": hashed})
            )
            self.ctx.event(
                owner, "Normal", "SuccessfulCreate", f"Created pod: {name}", "replicaset-controller"
            )
        surplus = sorted(current, key=lambda p: p["metadata"].get("creationTimestamp", ""))
        for pod in reversed(surplus[wanted:] if len(current) > wanted else []):
            self.kube.delete(POD, pod["metadata"]["name"], meta["namespace"])
            self.ctx.event(
                owner,
                "Normal",
                "SuccessfulDelete",
                f"Deleted pod: {pod['metadata']['name']}",
                "replicaset-controller",
            )
        kept = surplus[:wanted]
        ready = sum(1 for p in kept if is_ready(p))
        self.write_status(owner, wanted, len(kept), ready, hashed)
        return None

    def write_status(self, owner: Obj, wanted: int, replicas: int, ready: int, hashed: str) -> None:
        status = copy.deepcopy(owner.get("status") or {})
        before = copy.deepcopy(status)
        status.update(
            observedGeneration=owner["metadata"].get("generation", 1),
            replicas=replicas,
            updatedReplicas=replicas,
            readyReplicas=ready,
            availableReplicas=ready,
            unavailableReplicas=max(0, wanted - ready),
        )
        for field in (
            "replicas",
            "updatedReplicas",
            "readyReplicas",
            "availableReplicas",
            "unavailableReplicas",
        ):
            if not status[field]:
                del status[field]  # the real controller omits zero counts
        holder = {"status": status}
        if ready >= wanted:
            set_condition(
                holder,
                "Available",
                "True",
                "MinimumReplicasAvailable",
                "Deployment has minimum availability.",
            )
        else:
            set_condition(
                holder,
                "Available",
                "False",
                "MinimumReplicasUnavailable",
                "Deployment does not have minimum availability.",
            )
        replica_set = f"{owner['metadata']['name']}-{hashed}"
        if ready >= wanted:
            set_condition(
                holder,
                "Progressing",
                "True",
                "NewReplicaSetAvailable",
                f'ReplicaSet "{replica_set}" has successfully progressed.',
            )
        else:
            set_condition(
                holder,
                "Progressing",
                "True",
                "ReplicaSetUpdated",
                f'ReplicaSet "{replica_set}" is progressing.',
            )
        if status != before:
            self.kube.replace_status({**owner, "status": status})


class JobController(OwnerController):
    watches = (JOB, POD)
    owner_kind = JOB

    def sync(self, owner: Obj, pods: list[Obj]) -> float | None:
        meta, spec = owner["metadata"], owner["spec"]
        status = copy.deepcopy(owner.get("status") or {})
        done = any(
            c.get("type") in ("Complete", "Failed") and c.get("status") == "True"
            for c in status.get("conditions") or []
        )
        succeeded = sum(1 for p in pods if phase(p) == "Succeeded")
        failed = sum(1 for p in pods if phase(p) == "Failed")
        active = [
            p
            for p in pods
            if phase(p) not in ("Succeeded", "Failed")
            and not p["metadata"].get("deletionTimestamp")
        ]
        holder = {"status": status}
        status.setdefault("startTime", now())
        if not done and succeeded >= int(spec.get("completions", 1)):
            set_condition(
                holder,
                "SuccessCriteriaMet",
                "True",
                "CompletionsReached",
                "Reached expected number of succeeded pods",
            )
            set_condition(
                holder,
                "Complete",
                "True",
                "CompletionsReached",
                "Reached expected number of succeeded pods",
            )
            status["completionTime"] = now()
            self.ctx.event(owner, "Normal", "Completed", "Job completed", "job-controller")
        elif not done and failed > int(spec.get("backoffLimit", 6)):
            for pod in active:
                self.kube.delete(POD, pod["metadata"]["name"], meta["namespace"])
            active = []
            set_condition(
                holder,
                "FailureTarget",
                "True",
                "BackoffLimitExceeded",
                "Job has reached the specified backoff limit",
            )
            set_condition(
                holder,
                "Failed",
                "True",
                "BackoffLimitExceeded",
                "Job has reached the specified backoff limit",
            )
            self.ctx.event(
                owner,
                "Warning",
                "BackoffLimitExceeded",
                "Job has reached the specified backoff limit",
                "job-controller",
            )
        elif not done and not active and not spec.get("suspend"):
            name = f"{meta['name']}-{suffix()}"
            labels = {
                "job-name": meta["name"],
                "controller-uid": meta["uid"],
                "batch.kubernetes.io/job-name": meta["name"],
                "batch.kubernetes.io/controller-uid": meta["uid"],
            }
            template = copy.deepcopy(spec.get("template") or {})
            self.kube.create(pod_from(template, owner, name, labels))
            self.ctx.event(
                owner, "Normal", "SuccessfulCreate", f"Created pod: {name}", "job-controller"
            )
            active = [{"status": {}}]
        status.update(
            active=len(active),
            succeeded=succeeded,
            failed=failed,
            ready=sum(1 for p in active if is_ready(p)),
            terminating=0,
        )
        for field in ("active", "succeeded", "failed"):
            if not status[field]:
                del status[field]
        if status != (owner.get("status") or {}):
            self.kube.replace_status({**owner, "status": status})
        return None


__all__ = ["DeploymentController", "JobController"]

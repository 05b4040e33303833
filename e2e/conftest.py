"""A bystander: a namespace of the user's on the drills' cluster, with a PVC and data the
harness did not make. Drills run through the existing backend beside it (signalled, killed,
several at once, failing) and it must come out byte for byte the same."""

from __future__ import annotations

import os
import secrets
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from restore_drill import k8s
from restore_drill.backend import Backend
from restore_drill.clusters.existing import kubeconfig_contexts
from restore_drill.kinds import dig

DATA = "/data/bystander.bin"
CLI = str(Path(sys.executable).parent / "restore-drill")
ExistingRun = Callable[[str, Path], tuple[list[str], dict[str, str]]]


class Bystander:
    """The user's namespace, PVC and file; ``assert_untouched`` compares them with their
    first reading."""

    def __init__(self, backend: Backend) -> None:
        self.cluster = backend.cluster
        self.namespace = f"bystander-{secrets.token_hex(3)}"
        self.checks = 0
        kube = self.cluster.kube()
        kube.create({"apiVersion": "v1", "kind": "Namespace", "metadata": self._meta()})
        kube.create(
            {
                "apiVersion": "v1",
                "kind": "PersistentVolumeClaim",
                "metadata": self._meta("data"),
                "spec": {
                    "accessModes": ["ReadWriteOnce"],
                    "storageClassName": self.cluster.storage_class,
                    "resources": {"requests": {"storage": "64Mi"}},
                },
            }
        )
        digest = self._run("write", f"head -c 4194304 /dev/urandom > {DATA} && sha256sum {DATA}")
        self.first = {"digest": digest, **self._objects()}

    def _meta(self, name: str | None = None) -> dict[str, Any]:
        # No label of the harness: nothing marks it as the drills' to touch.
        labels = {"owner": "someone-else"}
        if name is None:
            return {"name": self.namespace, "labels": labels}
        return {"name": name, "namespace": self.namespace, "labels": labels}

    def _objects(self) -> dict[str, Any]:
        kube = self.cluster.kube()
        namespace = kube.get(k8s.NAMESPACE, self.namespace)
        claim = kube.get(k8s.PVC, "data", self.namespace)
        return {
            "namespace": (dig(namespace, "metadata", "uid"), dig(namespace, "metadata", "labels")),
            "pvc": (dig(claim, "metadata", "uid"), claim["spec"], dig(claim, "status", "phase")),
            "terminating": dig(namespace, "metadata", "deletionTimestamp"),
        }

    def _run(self, what: str, script: str) -> str:
        """Run ``script`` in a pod that mounts the PVC; its log."""
        kube = self.cluster.kube()
        name = f"{what}-{self.checks}"
        self.checks += 1
        kube.create(
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": self._meta(name),
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [
                        {
                            "name": "c",
                            "image": self.cluster.agent_image,
                            "command": ["sh", "-c", script],
                            "volumeMounts": [{"name": "data", "mountPath": "/data"}],
                        }
                    ],
                    "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": "data"}}],
                },
            }
        )
        done = kube.wait_for(
            k8s.POD,
            name,
            self.namespace,
            lambda obj: dig(obj, "status", "phase") in ("Succeeded", "Failed"),
            timeout=300,
            what=f"bystander pod {name}",
        )
        log = kube.pod_logs(name, self.namespace)
        kube.delete(k8s.POD, name, self.namespace, grace_seconds=0)
        assert dig(done, "status", "phase") == "Succeeded", log
        return log.split()[0]

    def assert_untouched(self) -> None:
        now = {"digest": self._run("check", f"sha256sum {DATA}"), **self._objects()}
        assert now == self.first, f"the bystander namespace {self.namespace} changed"

    def remove(self) -> None:
        self.cluster.kube().delete(k8s.NAMESPACE, self.namespace)


@pytest.fixture(scope="session")
def bystander(drill_backend: Backend) -> Iterator[Bystander]:
    if drill_backend.cluster.backend != "kind":
        pytest.skip("the bystander lives on the session's kind cluster")
    made = Bystander(drill_backend)
    yield made
    made.remove()


@pytest.fixture
def existing_run(drill_backend: Backend) -> ExistingRun:
    """argv and env of `restore-drill run SCENARIO --out OUT` through the existing backend
    on the session's kind cluster, with the session's MinIO as the user's store."""
    if drill_backend.cluster.backend != "kind":
        pytest.skip("drills through the existing backend on the session's kind cluster")
    store, kubeconfig = drill_backend.object_store, drill_backend.cluster.kubeconfig

    def command(scenario: str, out: Path) -> tuple[list[str], dict[str, str]]:
        env = {
            **os.environ,
            "RESTORE_DRILL_S3_ENDPOINT": store.host_endpoint,
            "RESTORE_DRILL_S3_CLUSTER_ENDPOINT": store.cluster_endpoint,
            **store.credentials.env(),
        }
        argv = [CLI, "run", scenario, "--cluster", "existing", "--allow-existing"]
        argv += ["--kubeconfig", str(kubeconfig), "--context", kubeconfig_contexts(kubeconfig)[0]]
        argv += ["--out", str(out), "--size", "256KiB", "--keep", "never"]
        argv += ["--agent-image", drill_backend.cluster.agent_image]  # the images built here
        return argv, env

    return command

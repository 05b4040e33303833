"""Shared pieces of the VolSync controller tests: a sim API server with ONE controller
running, the test itself playing the other controllers (snapshot, Job, PV binding) by
writing their status, so each VolSync behaviour is checked in isolation and fast."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from restore_drill.clusters.sim.api import SimApiServer
from restore_drill.clusters.sim.controllers.base import Controller, SimContext
from restore_drill.errors import WaitTimeout
from restore_drill.k8s import EVENT, Kind, Kube

TIMEOUT = 15.0
Obj = dict[str, Any]


@contextmanager
def controller_on_sim(
    tmp_path: Path, factory: Callable[[SimContext], Controller]
) -> Iterator[Kube]:
    with SimApiServer() as api:
        kubeconfig = api.write_kubeconfig(tmp_path / "kubeconfig")
        context = SimContext(run_dir=tmp_path, kubeconfig=kubeconfig)
        controller = factory(context)
        controller.start()
        try:
            kube = Kube(kubeconfig)
            kube.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ns"}})
            yield kube
        finally:
            controller.stop()


def pvc(name: str, **spec: Any) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": name, "namespace": "ns"},
        "spec": {
            "accessModes": ["ReadWriteOnce"],
            "storageClassName": "csi-hostpath-sc",
            "resources": {"requests": {"storage": "1Gi"}},
            **spec,
        },
    }


def secret(name: str = "repo") -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": "ns"},
        "stringData": {"RESTIC_REPOSITORY": "s3:http://127.0.0.1:9/b/p", "RESTIC_PASSWORD": "pw"},
    }


def wait(kube: Kube, kind: Kind, name: str, test: Callable[[Obj], bool], what: str = "") -> Obj:
    found = kube.wait_for(
        kind,
        name,
        "ns",
        lambda o: o is not None and test(o),
        timeout=TIMEOUT,
        what=what or f"{kind.kind} {name}",
    )
    assert found is not None
    return found


def exists(kube: Kube, kind: Kind, name: str) -> Obj:
    return wait(kube, kind, name, lambda _o: True, f"{kind.kind} {name} exists")


def status(obj: Obj) -> Obj:
    return obj.get("status") or {}


def condition(obj: Obj) -> Obj:
    return next(
        (c for c in status(obj).get("conditions") or [] if c["type"] == "Synchronizing"), {}
    )


def set_status(kube: Kube, kind: Kind, name: str, value: Obj, namespace: str | None = "ns") -> None:
    kube.patch(kind, name, {"status": value}, namespace, subresource="status")


def event_reasons(kube: Kube, name: str, namespace: str = "ns") -> list[str]:
    return [str(e.get("reason")) for e in kube.events_for(namespace, name)]


def wait_event(
    kube: Kube, name: str, reason: str, namespace: str = "ns", timeout: float = TIMEOUT
) -> None:
    """Wait (by watching Events about ``name``) until one with ``reason`` exists."""
    deadline = time.monotonic() + timeout
    selector = f"involvedObject.name={name}"
    while time.monotonic() < deadline:
        listed = kube.list(EVENT, namespace, field_selector=selector)
        if reason in [str(e.get("reason")) for e in listed]:
            return
        remaining = max(1, int(deadline - time.monotonic()))
        for _type, event in kube.watch(
            EVENT, namespace, field_selector=selector, timeout_seconds=remaining
        ):
            if event.get("reason") == reason:
                return
    raise WaitTimeout(f"event {reason} about {name}", timeout, str(event_reasons(kube, name)))

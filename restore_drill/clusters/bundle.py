"""Failure bundles: what a person needs to see why a drill failed, with no secret in it.

Layout under ``dest``::

    objects/<namespace>/<Kind>.yaml   every object of the kinds drills touch
    cluster/<Kind>.yaml               PVs / VolumeSnapshotContents bound into those
                                      namespaces, StorageClasses, VolumeSnapshotClasses
    events/<namespace>.txt            events, oldest first
    logs/<namespace>/<pod>/<container>.log   every container, mover Jobs included
    volsync.yaml                      ReplicationSource/Destination statuses
    errors.txt                        whatever could not be collected (never raised)
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path
from typing import Any

import yaml

from restore_drill.errors import DrillError
from restore_drill.k8s import (
    CONFIG_MAP,
    DEPLOYMENT,
    JOB,
    POD,
    PV,
    PVC,
    REPLICATION_DESTINATION,
    REPLICATION_SOURCE,
    SECRET,
    SERVICE_ACCOUNT,
    STATEFUL_SET,
    STORAGE_CLASS,
    VOLUME_SNAPSHOT,
    VOLUME_SNAPSHOT_CLASS,
    VOLUME_SNAPSHOT_CONTENT,
    Kind,
    Kube,
    Obj,
)
from restore_drill.kinds import dig

REDACTED = "REDACTED"
NAMESPACED_KINDS = (
    PVC,
    POD,
    DEPLOYMENT,
    STATEFUL_SET,
    JOB,
    CONFIG_MAP,
    SECRET,
    SERVICE_ACCOUNT,
    VOLUME_SNAPSHOT,
    REPLICATION_SOURCE,
    REPLICATION_DESTINATION,
)
# Env variable names whose literal values must not leave the cluster.
_SECRET_NAME = re.compile(r"(KEY|SECRET|PASSWORD|TOKEN|CREDENTIAL)", re.IGNORECASE)
_LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


def store_secrets(object_store: object) -> list[str]:
    """The object store's keys, to scrub from bundles (absent credentials give nothing)."""
    credentials = getattr(object_store, "credentials", None)
    return [
        str(value)
        for value in (
            getattr(credentials, "access_key", ""),
            getattr(credentials, "secret_key", ""),
        )
        if value
    ]


def redact(obj: Obj) -> Obj:
    """A copy of ``obj`` safe to write down: Secret values, secret-looking env values and
    kubectl's last-applied annotation (a full copy of the object) are replaced."""
    clean = copy.deepcopy(obj)
    meta = clean.get("metadata") or {}
    meta.pop("managedFields", None)
    annotations = meta.get("annotations") or {}
    if _LAST_APPLIED in annotations:
        annotations[_LAST_APPLIED] = REDACTED
    if clean.get("kind") == "Secret":
        for field in ("data", "stringData"):
            if isinstance(clean.get(field), dict):
                clean[field] = dict.fromkeys(clean[field], REDACTED)
    for spec in _pod_specs(clean):
        for container in [*(spec.get("containers") or []), *(spec.get("initContainers") or [])]:
            for env in container.get("env") or []:
                if "value" in env and _SECRET_NAME.search(str(env.get("name", ""))):
                    env["value"] = REDACTED
    return clean


def _pod_specs(obj: Obj) -> list[dict[str, Any]]:
    kind = obj.get("kind")
    spec = obj.get("spec") or {}
    if kind == "Pod":
        return [spec]
    if kind in ("Deployment", "StatefulSet", "Job"):
        return [dig(spec, "template", "spec") or {}]
    return []


class _Writer:
    """Writes files under ``dest``; scrubs known secret values; records failures."""

    def __init__(self, dest: Path, secrets: Iterable[str]) -> None:
        self.dest = dest
        self.secrets = [s for s in secrets if s]
        self.errors: list[str] = []

    def scrub(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        return text

    def write(self, relative: str, text: str) -> None:
        path = self.dest / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.scrub(text), encoding="utf-8")

    def attempt(self, what: str, action: Callable[[], None]) -> None:
        try:
            action()
        except (DrillError, OSError, ValueError, KeyError, TypeError) as exc:
            self.errors.append(f"{what}: {type(exc).__name__}: {self.scrub(str(exc))}")


def _dump(objects: list[Obj]) -> str:
    return yaml.safe_dump_all(
        [redact(o) for o in objects], sort_keys=False, default_flow_style=False
    )


def write_bundle(
    kube: Kube, dest: Path, namespaces: list[str], *, secrets: Iterable[str] = ()
) -> Path:
    """Write the failure bundle for ``namespaces`` under ``dest``; never raises on a partial
    failure (each one is listed in ``errors.txt``). ``secrets`` are scrubbed from every file."""
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    out = _Writer(dest, secrets)
    wanted = set(namespaces)

    for namespace in namespaces:
        for kind in NAMESPACED_KINDS:
            out.attempt(
                f"list {kind} in {namespace}", partial(_write_kind, kube, out, kind, namespace)
            )
        out.attempt(f"events in {namespace}", partial(_write_events, kube, out, namespace))
        out.attempt(f"pod logs in {namespace}", partial(_write_logs, kube, out, namespace))
    out.attempt("volsync statuses", partial(_write_volsync, kube, out, namespaces))
    out.attempt("PersistentVolumes", partial(_write_cluster, kube, out, PV, wanted, _pv_namespace))
    out.attempt(
        "VolumeSnapshotContents",
        partial(_write_cluster, kube, out, VOLUME_SNAPSHOT_CONTENT, wanted, _content_namespace),
    )
    for kind in (STORAGE_CLASS, VOLUME_SNAPSHOT_CLASS):
        out.attempt(f"list {kind}", partial(_write_cluster, kube, out, kind, None, None))
    out.write("errors.txt", "".join(f"{line}\n" for line in out.errors))
    return dest


def _write_kind(kube: Kube, out: _Writer, kind: Kind, namespace: str) -> None:
    objects = kube.list(kind, namespace)
    if objects:
        out.write(f"objects/{namespace}/{kind.kind}.yaml", _dump(objects))


def _pv_namespace(pv: Obj) -> str | None:
    namespace = dig(pv, "spec", "claimRef", "namespace")
    return str(namespace) if namespace else None


def _content_namespace(content: Obj) -> str | None:
    namespace = dig(content, "spec", "volumeSnapshotRef", "namespace")
    return str(namespace) if namespace else None


def _write_cluster(
    kube: Kube,
    out: _Writer,
    kind: Kind,
    wanted: set[str] | None,
    namespace_of: Callable[[Obj], str | None] | None,
) -> None:
    objects = kube.list(kind)
    if wanted is not None and namespace_of is not None:
        objects = [o for o in objects if namespace_of(o) in wanted]
    if objects:
        out.write(f"cluster/{kind.kind}.yaml", _dump(objects))


def _write_events(kube: Kube, out: _Writer, namespace: str) -> None:
    lines = []
    for event in kube.events_for(namespace):
        involved = event.get("involvedObject") or {}
        when = event.get("lastTimestamp") or event.get("eventTime") or ""
        lines.append(
            f"{when} {event.get('type', '')} {involved.get('kind', '')}/"
            f"{involved.get('name', '')} {event.get('reason', '')}: {event.get('message', '')}\n"
        )
    if lines:
        out.write(f"events/{namespace}.txt", "".join(lines))


def _write_logs(kube: Kube, out: _Writer, namespace: str) -> None:
    for pod in kube.list(POD, namespace):
        name = pod["metadata"]["name"]
        spec = pod.get("spec") or {}
        containers = [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]
        for container in containers:
            cname = container["name"]
            out.attempt(
                f"logs of {namespace}/{name}/{cname}",
                partial(_write_log, kube, out, namespace, name, cname),
            )


def _write_log(kube: Kube, out: _Writer, namespace: str, pod: str, container: str) -> None:
    out.write(f"logs/{namespace}/{pod}/{container}.log", kube.pod_logs(pod, namespace, container))


def _write_volsync(kube: Kube, out: _Writer, namespaces: list[str]) -> None:
    statuses = []
    for namespace in namespaces:
        for kind in (REPLICATION_SOURCE, REPLICATION_DESTINATION):
            try:
                objects = kube.list(kind, namespace)
            except DrillError as exc:
                out.errors.append(f"list {kind} in {namespace}: {exc}")
                continue
            for obj in objects:
                meta = obj.get("metadata") or {}
                statuses.append(
                    {
                        "kind": obj.get("kind"),
                        "namespace": meta.get("namespace"),
                        "name": meta.get("name"),
                        "trigger": dig(obj, "spec", "trigger"),
                        "status": obj.get("status"),
                    }
                )
    out.write("volsync.yaml", yaml.safe_dump(statuses, sort_keys=False))

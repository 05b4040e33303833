"""VolSync, as the drills use it: the app fixtures, manual triggers, and GitOps re-sync.

An app is the directory ``fixtures/apps/<app>/`` of plain manifests with ``${...}``
placeholders. Rendering fills them; a placeholder left unfilled is an error, so a
half-rendered Secret never reaches a cluster. Rendered manifests hold secrets: they are
applied, never logged.
"""

from __future__ import annotations

import base64
import copy
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from string import Template
from typing import Any

import yaml

from restore_drill import k8s
from restore_drill.errors import KubeError, MoverFailed, ScenarioError, WaitTimeout
from restore_drill.k8s import Kube, Obj
from restore_drill.kinds import dig

FIXTURES_DIR = Path(__file__).resolve().parent.parent / "fixtures" / "apps"
PLACEHOLDERS = (
    "NAMESPACE",
    "BUCKET",
    "RUN_ID",
    "STORAGE_CLASS",
    "SNAPSHOT_CLASS",
    "S3_ENDPOINT",
    "RESTIC_PASSWORD",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_DEFAULT_REGION",
    "AGENT_IMAGE",
)
# Fields a GitOps tool must not touch on a PVC that exists: they are immutable, and the
# populator/binder has filled them in (ArgoCD's ignoreDifferences for the user's PVCs).
IGNORED_PVC_FIELDS = ("dataSourceRef", "dataSource", "volumeName")
GITOPS_FIELD_MANAGER = k8s.FIELD_MANAGER
_PLACEHOLDER_RE = re.compile(r"\$\{([A-Z_][A-Z0-9_]*)\}")
# VolSync reports a failed mover only when its Job reaches backoffLimit 8, some 20 minutes
# of back-off later; a mover whose pods failed twice is failing for a reason a retry will
# not fix, so the drill ends there. The Job is looked at between watch slices this long.
FAILED_MOVER_PODS = 2
MOVER_CHECK_SECONDS = 10.0


@dataclass
class AppFixture:
    """One app of the user's pattern, rendered: its manifests and what they name."""

    name: str
    manifests: list[Obj] = field(repr=False)

    def of_kind(self, kind: k8s.Kind) -> list[Obj]:
        return [
            m
            for m in self.manifests
            if m["kind"] == kind.kind and m["apiVersion"] == kind.api_version
        ]

    def names(self, kind: k8s.Kind) -> list[str]:
        return [str(m["metadata"]["name"]) for m in self.of_kind(kind)]

    @property
    def pvcs(self) -> list[str]:
        return self.names(k8s.PVC)

    @property
    def deployment(self) -> str:
        names = self.names(k8s.DEPLOYMENT)
        if len(names) != 1:
            raise ScenarioError(f"fixtures/apps/{self.name}: expected one Deployment, got {names}")
        return names[0]

    def source_for(self, pvc: str) -> Obj:
        """The ReplicationSource that backs ``pvc`` up."""
        for rs in self.of_kind(k8s.REPLICATION_SOURCE):
            if rs["spec"].get("sourcePVC") == pvc:
                return rs
        raise ScenarioError(f"fixtures/apps/{self.name}: no ReplicationSource for PVC {pvc}")

    def destination_for(self, pvc: str) -> Obj:
        """The ReplicationDestination the PVC's ``dataSourceRef`` names."""
        claim = next(m for m in self.of_kind(k8s.PVC) if m["metadata"]["name"] == pvc)
        ref = claim["spec"].get("dataSourceRef") or {}
        for rd in self.of_kind(k8s.REPLICATION_DESTINATION):
            if rd["metadata"]["name"] == ref.get("name"):
                return rd
        raise ScenarioError(
            f"fixtures/apps/{self.name}: PVC {pvc} dataSourceRef names no ReplicationDestination"
        )


def available_apps(fixtures_dir: Path = FIXTURES_DIR) -> list[str]:
    return sorted(p.name for p in fixtures_dir.iterdir() if p.is_dir())


def raw_manifests(app: str, fixtures_dir: Path = FIXTURES_DIR) -> list[tuple[Path, str]]:
    """The app's manifest files, unrendered: ``(path, text)`` in a stable order."""
    directory = fixtures_dir / app
    if not directory.is_dir():
        known = ", ".join(available_apps(fixtures_dir))
        raise ScenarioError(f"unknown app {app!r} (fixtures/apps has: {known})")
    return [(path, path.read_text()) for path in sorted(directory.glob("*.yaml"))]


def render_text(text: str, values: Mapping[str, str], where: str) -> list[Obj]:
    """Parse a manifest file, then fill placeholders inside its string values only.

    Filling after parsing keeps every value a string: a run id like ``60284605`` or a
    password like ``1e10`` would otherwise turn into a YAML number.
    """
    missing = sorted({m for m in _PLACEHOLDER_RE.findall(text) if m not in values})
    if missing:
        raise ScenarioError(f"{where}: placeholder(s) not filled: {', '.join(missing)}")
    return [_fill(doc, values) for doc in yaml.safe_load_all(text) if doc]


def _fill(node: Any, values: Mapping[str, str]) -> Any:
    if isinstance(node, str):
        return Template(node).substitute(values)
    if isinstance(node, dict):
        return {key: _fill(value, values) for key, value in node.items()}
    if isinstance(node, list):
        return [_fill(item, values) for item in node]
    return node


def load_app(app: str, values: Mapping[str, str], fixtures_dir: Path = FIXTURES_DIR) -> AppFixture:
    """Render every manifest of ``app`` with ``values`` (placeholder name -> text)."""
    manifests: list[Obj] = []
    for path, text in raw_manifests(app, fixtures_dir):
        manifests += render_text(text, values, f"fixtures/apps/{app}/{path.name}")
    return AppFixture(app, manifests)


# --- GitOps ------------------------------------------------------------------------------


def _order(manifest: Obj) -> int:
    # Namespace first, then what others refer to, the Deployment (the consumer) last.
    ranks = {"Namespace": 0, "Secret": 1, "ConfigMap": 1, "ReplicationDestination": 2}
    return ranks.get(manifest["kind"], 3 if manifest["kind"] != "Deployment" else 4)


def for_existing_pvc(manifest: Obj) -> Obj:
    """The manifest without the fields GitOps ignores on a PVC that already exists."""
    stripped = copy.deepcopy(manifest)
    for name in IGNORED_PVC_FIELDS:
        stripped.get("spec", {}).pop(name, None)
    return stripped


def secret_data(manifest: Obj) -> Obj:
    """A Secret with ``stringData`` folded into base64 ``data``, as the API server stores it
    (done here so that every backend's server, strict or not, ends with the same object)."""
    if manifest["kind"] != "Secret" or not manifest.get("stringData"):
        return manifest
    folded = copy.deepcopy(manifest)
    strings = folded.pop("stringData")
    data = dict(folded.get("data") or {})
    data.update({k: base64.b64encode(str(v).encode()).decode() for k, v in strings.items()})
    folded["data"] = data
    return folded


def gitops_sync(kube: Kube, manifests: list[Obj]) -> list[str]:
    """Apply ``manifests`` as ArgoCD's auto-sync would: server-side apply, one field manager.

    PVCs that exist keep their immutable, controller-filled fields (ignoreDifferences).
    Returns ``kind/name`` of each object applied, in order.
    """
    applied: list[str] = []
    for manifest in sorted(manifests, key=_order):
        body = secret_data(manifest)
        meta = manifest["metadata"]
        if manifest["kind"] == "PersistentVolumeClaim":
            existing = kube.find(k8s.PVC, meta["name"], meta.get("namespace"))
            if existing is not None and not existing["metadata"].get("deletionTimestamp"):
                body = for_existing_pvc(manifest)
        kube.apply(body, field_manager=GITOPS_FIELD_MANAGER)
        applied.append(f"{manifest['kind']}/{meta['name']}")
    return applied


# --- triggers ----------------------------------------------------------------------------


def trigger_manual_sync(kube: Kube, kind: k8s.Kind, name: str, namespace: str, tag: str) -> Obj:
    """Start a sync now: set ``spec.trigger.manual`` to ``tag`` (and drop any schedule,
    since VolSync runs one trigger kind at a time)."""
    patch = {"spec": {"trigger": {"manual": tag, "schedule": None}}}
    return kube.patch(kind, name, patch, namespace)


def restore_schedule(kube: Kube, kind: k8s.Kind, name: str, namespace: str, schedule: str) -> Obj:
    """Hand the object back to its schedule after a manual sync (as it is in git)."""
    patch = {"spec": {"trigger": {"manual": None, "schedule": schedule}}}
    return kube.patch(kind, name, patch, namespace)


def mover_failure(obj: Obj | None, started_after: str) -> str | None:
    """The mover's failure for this attempt, with its log tail, or None."""
    if obj is None:
        return None
    mover = (obj.get("status") or {}).get("latestMoverStatus") or {}
    if mover.get("result") != "Failed":
        return None
    # A failure from an earlier attempt (before our trigger) is not ours.
    last_start = str(dig(obj, "status", "lastSyncStartTime") or "")
    if started_after and last_start and last_start < started_after:
        return None
    tail = "\n".join(str(mover.get("logs") or "").strip().splitlines()[-8:])
    return tail or "(no mover log)"


def failed_mover_job(kube: Kube, owner: Obj) -> str | None:
    """The owner's mover Job once FAILED_MOVER_PODS of its pods failed: name and log tail."""
    meta = owner.get("metadata") or {}
    namespace = str(meta.get("namespace") or "")
    for job in kube.list(k8s.JOB, namespace):
        owners = dig(job, "metadata", "ownerReferences") or []
        if not any(ref.get("uid") == meta.get("uid") for ref in owners):
            continue
        failed = int(dig(job, "status", "failed") or 0)
        if failed < FAILED_MOVER_PODS:
            continue
        job_name = job["metadata"]["name"]
        pods = kube.list(k8s.POD, namespace, label_selector=f"job-name={job_name}")
        dead = [p for p in pods if dig(p, "status", "phase") == "Failed"]
        logs = ""
        if dead:
            try:
                logs = kube.pod_logs(dead[-1]["metadata"]["name"], namespace)
            except KubeError:
                pass
        tail = "\n".join(logs.strip().splitlines()[-8:]) or "(no mover log)"
        return f"Job {job_name}: {failed} mover pods failed; log tail:\n{tail}"
    return None


def wait_manual_sync(
    kube: Kube,
    kind: k8s.Kind,
    name: str,
    namespace: str,
    tag: str,
    *,
    timeout: float,
    started_after: str = "",
    on_event: Callable[[Obj | None], None] | None = None,
) -> Obj:
    """Wait (by watch) until ``status.lastManualSync == tag``; fail fast when the mover fails.

    VolSync recreates a failed mover Job and the tag never advances, so waiting for the tag
    alone would only end at the deadline; ``latestMoverStatus.result == Failed`` ends it, and
    so does a mover Job whose pods keep failing (checked between watch slices).
    """
    failure: list[str] = []

    def done(obj: Obj | None) -> bool:
        if obj is None:
            return False
        if dig(obj, "status", "lastManualSync") == tag:
            return True
        reason = mover_failure(obj, started_after)
        if reason is not None:
            failure.append(reason)
            return True
        return False

    what = (
        f"{kind.kind} {namespace}/{name} to finish manual sync {tag!r} (within {timeout:g}s,"
        f" its mover Job checked every {MOVER_CHECK_SECONDS:g}s)"
    )
    start = time.monotonic()
    deadline = start + timeout
    while True:
        try:
            obj = kube.wait_for(
                kind,
                name,
                namespace,
                done,
                timeout=max(0.1, min(MOVER_CHECK_SECONDS, deadline - time.monotonic())),
                what=what,
                on_event=on_event,
            )
            break
        except WaitTimeout as exc:
            if time.monotonic() >= deadline:
                raise WaitTimeout(what, time.monotonic() - start, exc.last_seen) from None
        current = kube.find(kind, name, namespace)
        job_failure = failed_mover_job(kube, current) if current else None
        if job_failure:
            raise MoverFailed(f"{kind.kind} {namespace}/{name}: mover failed; {job_failure}")
    if failure:
        raise MoverFailed(f"{kind.kind} {namespace}/{name}: mover failed; log tail:\n{failure[0]}")
    assert obj is not None
    return obj


def manual_sync(
    kube: Kube, kind: k8s.Kind, name: str, namespace: str, tag: str, *, timeout: float
) -> Obj:
    """Trigger and wait: one backup (RS) or one restore point (RD), done."""
    started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 1))
    trigger_manual_sync(kube, kind, name, namespace, tag)
    return wait_manual_sync(
        kube, kind, name, namespace, tag, timeout=timeout, started_after=started
    )


def latest_image(obj: Obj | None) -> str | None:
    image = ((obj or {}).get("status") or {}).get("latestImage") or {}
    return str(image["name"]) if image.get("name") else None


def wait_latest_image(
    kube: Kube, name: str, namespace: str, *, timeout: float, not_named: str | None = None
) -> str:
    """Wait until the RD has a ``latestImage`` (other than ``not_named``); its name."""
    obj = kube.wait_for(
        k8s.REPLICATION_DESTINATION,
        name,
        namespace,
        lambda o: latest_image(o) not in (None, not_named),
        timeout=timeout,
        what=f"ReplicationDestination {namespace}/{name} latestImage",
    )
    image = latest_image(obj)
    assert image is not None
    return image


def mover_logs(kube: Kube, kind: k8s.Kind, name: str, namespace: str) -> str:
    """``status.latestMoverStatus.logs`` of an RS/RD, or "" (for failure messages)."""
    try:
        obj = kube.find(kind, name, namespace)
    except KubeError:
        return ""
    return str(dig(obj, "status", "latestMoverStatus", "logs") or "")

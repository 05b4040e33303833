"""``run --cluster kind --dry-run``: what a kind run would do, in order, with nothing run.

The kind backend's own code runs against two stand-ins, so the listing cannot drift from
what a real run does: ``run_command`` hands each command to :class:`Plan` instead of
running it (``addons.commands.recording``), and the cluster's client is a
:class:`RecordingKube` that writes down each apply, patch, delete and wait. Values that
only a running cluster knows (the node's pod CIDR, MinIO's mapped port, the rendered
output of ``helm template``) print as ``<placeholders>``; keys and the restic password
are placeholders too, so the listing holds no secret.

A drill's steps read the cluster's answers (the data written, the snapshots taken), so
they are listed by what they do; the manifests they apply, and the commands of the steps
that rebuild the cluster or install VolSync, are recorded like the cluster's.
"""

from __future__ import annotations

import base64
import json
import shlex
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from restore_drill import k8s, steps
from restore_drill.addons import REPO_ROOT, recording
from restore_drill.clusters.kind import KindCluster
from restore_drill.objectstore import S3Credentials
from restore_drill.objectstore.minio import MinioContainer, pinned_image
from restore_drill.runner import RunOptions, prepare_drill
from restore_drill.scenario import Scenario

RUN_ID = "dryrun00"  # a real run puts 8 random hex digits here
CLUSTER_NAME = "restore-drill-kind-dryrun"  # a real run: restore-drill-kind-<6 hex digits>
MINIO_NAME = "restore-drill-minio-dryrun"
PLACEHOLDER_KEYS = S3Credentials("<s3-access-key>", "<s3-secret-key>")
PLACEHOLDER_PASSWORD = "<restic-password>"
# Steps that only apply, delete and wait, so a recording client plays them as they are;
# the others read back what the cluster or the bucket did (data written, snapshots taken).
RECORDED_STEPS = frozenset(
    {
        "deploy_app",
        "keep_backups",
        "delete_pvc",
        "delete_app",
        "delete_namespace",
        "rebuild_cluster",
        "install_volsync",
        "upgrade_volsync",
        "recreate_app",
        "wait_restored",
    }
)
LONG_VALUE_LINES = 12  # a ConfigMap value longer than this shows as its size


class Plan:
    """The listing: sections, commands (with the files they read) and API calls."""

    def __init__(self, scratch: Path) -> None:
        self.scratch = scratch
        self.lines: list[str] = []
        self.loaded: list[str] = []  # images `kind load` put on the node

    def show(self, text: str) -> str:
        """Paths a reader can place: the run directory, the repository, the home."""
        text = text.replace(str(self.scratch), "$RUN").replace(str(REPO_ROOT), "$REPO")
        return text.replace(str(Path.home()), "~")

    def line(self, text: str, indent: int = 0) -> None:
        for part in text.splitlines() or [""]:
            self.lines.append(" " * indent + self.show(part))

    def section(self, title: str) -> None:
        self.lines += ["", f"## {title}"]

    def command(
        self, argv: list[str], env: Mapping[str, str], cwd: Path | None, stdin: str | None
    ) -> str:
        """Write the command down; answer with what its caller reads from it."""
        self.line("$ " + shlex.join(argv))
        if env:
            self.line(f"env: {', '.join(sorted(env))} (set by the harness)", 2)
        if cwd is not None:
            self.line(f"in: {cwd}", 2)
        for arg in argv:
            path = Path(arg)
            if path.is_relative_to(self.scratch) and path.is_file() and path.stat().st_size:
                self.line(f"--- {arg} (written by the harness)", 2)
                self.line(path.read_text(encoding="utf-8").rstrip(), 4)
        if stdin is not None:
            self.line("stdin:" + ("" if stdin.strip() else " (the render above: not run here)"), 2)
            if stdin.strip():
                self.line(stdin.rstrip(), 4)
        return self._answer(argv)

    def _answer(self, argv: list[str]) -> str:
        if argv[:3] == ["kind", "load", "docker-image"]:
            self.loaded += argv[5:]
        if argv[0] == "kind" and "--kubeconfig" in argv:
            # kind writes the kubeconfig; later steps set its mode and read it.
            path = Path(argv[argv.index("--kubeconfig") + 1])
            path.parent.mkdir(parents=True, exist_ok=True)
            path.touch()
        if "ctr" in argv and "images" in argv:
            return "\n".join(self.loaded)  # what the node holds once the loads are done
        return ""


def _where(kind: k8s.Kind, name: str, namespace: str | None) -> str:
    return f"{kind.kind} {namespace + '/' if namespace else ''}{name}"


def _shown(manifest: Mapping[str, Any]) -> dict[str, Any]:
    """The manifest as applied; long ConfigMap values (scripts) as their size, a Secret's
    values decoded (in a dry run they are placeholders)."""
    shown: dict[str, Any] = json.loads(json.dumps(dict(manifest)))
    if shown.get("kind") == "Secret" and "data" in shown:
        decoded = {k: base64.b64decode(v).decode() for k, v in shown.pop("data").items()}
        shown["stringData"] = decoded
    if shown.get("kind") == "ConfigMap":
        for key, value in (shown.get("data") or {}).items():
            lines = str(value).count("\n") + 1
            if lines > LONG_VALUE_LINES:
                shown["data"][key] = f"<{lines} lines, not shown>"
    return shown


class RecordingKube(k8s.Kube):
    """A client that talks to nothing: it writes each call down and answers with a
    placeholder object, as if every wait ended well."""

    def __init__(self, plan: Plan) -> None:  # no kubeconfig is read, no client is made
        self.plan = plan

    def _placeholder(self, kind: k8s.Kind, name: str, namespace: str | None) -> k8s.Obj:
        # Every object is there, as after a good wait: only a run's own namespaces are new.
        meta = {"name": name, **({"namespace": namespace} if namespace else {})}
        spec = {"podCIDR": "<pod-cidr>"} if kind == k8s.NODE else {}
        ready = [{"type": "Ready", "status": "True"}] if kind == k8s.POD else []
        return {"metadata": meta, "spec": spec, "status": {"conditions": ready}}

    def apply(self, manifest: Mapping[str, Any], *, field_manager: str = "") -> k8s.Obj:
        meta = manifest["metadata"]
        where = _where(k8s.kind_of(manifest), meta["name"], meta.get("namespace"))
        self.plan.line(f"apply (server-side): {where}")
        self.plan.line(yaml.safe_dump(_shown(manifest), sort_keys=False).rstrip(), 4)
        return dict(manifest)

    def create(self, manifest: Mapping[str, Any]) -> k8s.Obj:
        return self.apply(manifest)

    def find(self, kind: k8s.Kind, name: str, namespace: str | None = None) -> k8s.Obj | None:
        self.plan.line(f"read: {_where(kind, name, namespace)}")
        return None if kind == k8s.NAMESPACE else self._placeholder(kind, name, namespace)

    def get(self, kind: k8s.Kind, name: str, namespace: str | None = None) -> k8s.Obj:
        return self.find(kind, name, namespace) or {}

    def list(
        self,
        kind: k8s.Kind,
        namespace: str | None = None,
        *,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> list[k8s.Obj]:
        selector = ",".join(s for s in (label_selector, field_selector) if s)
        where = f" in {namespace}" if namespace else ""
        self.plan.line(f"list: {kind.kind}{where} ({selector or 'all'})")
        return [self._placeholder(kind, "<listed>", namespace)]

    def patch(
        self,
        kind: k8s.Kind,
        name: str,
        patch: Any,
        namespace: str | None = None,
        *,
        content_type: str = "",
        subresource: str | None = None,
    ) -> k8s.Obj:
        self.plan.line(f"patch: {_where(kind, name, namespace)} {json.dumps(patch)}")
        return self._placeholder(kind, name, namespace)

    def delete_answered(
        self,
        kind: k8s.Kind,
        name: str,
        namespace: str | None = None,
        *,
        propagation: str = "Background",
        grace_seconds: int | None = None,
    ) -> k8s.Obj | None:
        grace = "" if grace_seconds is None else f" (grace {grace_seconds}s)"
        self.plan.line(f"delete: {_where(kind, name, namespace)}{grace}")
        return self._placeholder(kind, name, namespace)

    def wait_for(
        self,
        kind: k8s.Kind,
        name: str,
        namespace: str | None,
        predicate: k8s.Predicate,
        *,
        timeout: float,
        what: str = "",
        on_event: Any = None,
    ) -> k8s.Obj | None:
        self.plan.line(f"wait (watch, up to {timeout:g}s): {what or _where(kind, name, namespace)}")
        return self._placeholder(kind, name, namespace)

    def server_version(self) -> str:
        return "<server version>"

    def close(self) -> None:
        pass


class DryRunMinio(MinioContainer):
    """MinIO's container commands recorded; its port and readiness are placeholders."""

    def __init__(self, plan: Plan, image: str) -> None:
        super().__init__(name=MINIO_NAME, credentials=PLACEHOLDER_KEYS, image=image)
        self.plan = plan

    def _mapped_port(self) -> int:
        return 0

    def _wait_ready(self, timeout: float = 0) -> None:
        self.plan.line("wait: MinIO answers on 127.0.0.1:<mapped port>/minio/health/ready")

    @property
    def host_endpoint(self) -> str:
        return "http://127.0.0.1:<mapped port>"


class DryRunKind(KindCluster):
    """The kind backend, its client recorded; nothing is asked of Docker up front."""

    def __init__(self, plan: Plan, name: str, store: DryRunMinio, **options: Any) -> None:
        super().__init__(name, plan.scratch / "cluster", store, **options)
        self.plan = plan

    @staticmethod
    def ensure_available() -> None:
        pass

    def kube(self) -> k8s.Kube:
        return RecordingKube(self.plan)


def _drill(plan: Plan, scenario: Scenario, cluster: DryRunKind, store: DryRunMinio) -> None:
    options = RunOptions(out_dir=plan.scratch / "drills")
    drill = prepare_drill(
        scenario, cluster, store, options, run_id=RUN_ID, password=PLACEHOLDER_PASSWORD
    )
    plan.section(f"drill {scenario.name} (RTO target {scenario.target_seconds:g}s)")
    plan.line(f"bucket: create {drill.bucket} on {store.cluster_endpoint}")
    for call in scenario.steps:
        spec = steps.STEPS[call.name]
        params = f" {json.dumps(call.params)}" if call.params else ""
        plan.line(f"step {call.name}{params}: {spec.help}")
        if call.name in RECORDED_STEPS:
            spec.run(drill, **call.params)
        else:
            plan.line("(what it does next depends on what the cluster answers: not listed)", 2)
        for name in scenario.faults:
            fault = steps.FAULTS[name]
            if fault.after == call.name:
                plan.line(f"fault {name}: {fault.help}")
    plan.line(f"clean-up: delete namespaces {', '.join(a.namespace for a in drill.apps)}")
    plan.line(f"clean-up: delete bucket {drill.bucket}")


def dry_run(
    scenarios: Iterable[Scenario],
    *,
    images: str,
    volsync_version: str | None = None,
    keep: str = "on-failure",
) -> str:
    """The listing for ``scenarios`` on a new kind cluster (nothing is run or made)."""
    with tempfile.TemporaryDirectory(prefix="restore-drill-dry-run-") as tmp:
        plan = Plan(Path(tmp))
        plan.line("# restore-drill run --cluster kind --dry-run: what the run would do, in")
        plan.line("# order. Nothing was run; <placeholders> are known only at run time.")
        with recording(plan.command):
            store = DryRunMinio(plan, pinned_image(images))
            plan.section(f"object store: MinIO {store.settings.image}")
            store.start()
            cluster = DryRunKind(
                plan, CLUSTER_NAME, store, images=images, volsync_version=volsync_version
            )
            plan.section(f"cluster: kind {cluster.name} ({images} images)")
            cluster.create()
            for scenario in scenarios:
                _drill(plan, scenario, cluster, store)
            plan.section(f"end of run (--keep {keep})")
            if keep != "never":
                plan.line("kept when a drill failed" if keep == "on-failure" else "always kept")
                plan.line("(the cluster and MinIO; 'restore-drill clean' removes them)", 2)
            if keep != "always":
                cluster.delete()
                store.stop()
        return "\n".join(plan.lines) + "\n"

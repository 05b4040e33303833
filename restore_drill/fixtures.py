"""The app fixtures: ``fixtures/apps/<app>/``, plain manifests of the user's pattern with
``${...}`` placeholders. Rendering fills them; a placeholder left unfilled is an error, so
a half-rendered Secret never reaches a cluster. Rendered manifests hold secrets: they are
applied, never logged.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from string import Template
from typing import Any

import yaml

from restore_drill import k8s
from restore_drill.errors import ScenarioError
from restore_drill.k8s import Obj

FIXTURES_DIR = Path(__file__).resolve().parent.parent / "fixtures" / "apps"
PLACEHOLDERS = (
    "APP",
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
_PLACEHOLDER_RE = re.compile(r"\$\{([A-Z_][A-Z0-9_]*)\}")


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

    def secret(self, name: str) -> Obj:
        """The Secret named ``name`` (a repository Secret an RS or RD names)."""
        for secret in self.manifests:
            if secret["kind"] == "Secret" and secret["metadata"]["name"] == name:
                return secret
        raise ScenarioError(f"fixtures/apps/{self.name}: no Secret {name}")

    def repository_secret(self, pvc: str) -> Obj:
        """The repository Secret of the ReplicationSource that backs ``pvc`` up."""
        return self.secret(self.source_for(pvc)["spec"]["restic"]["repository"])

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


def placeholders(text: str) -> list[str]:
    """The placeholder names a manifest file uses (``${NAME}``)."""
    return sorted(set(_PLACEHOLDER_RE.findall(text)))


def render_text(text: str, values: Mapping[str, str], where: str) -> list[Obj]:
    """Parse a manifest file, then fill placeholders inside its string values only.

    Filling after parsing keeps every value a string: a run id like ``60284605`` or a
    password like ``1e10`` would otherwise turn into a YAML number.
    """
    missing = [name for name in placeholders(text) if name not in values]
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


def apply_tier(app: AppFixture, tier: str, schedule: str, retain: Mapping[str, int]) -> None:
    """Put every ReplicationSource of ``app`` on a backup tier, as the user's GitOps
    repository does per tier: its schedule, its retention and its tier label."""
    for manifest in app.manifests:
        if manifest["kind"] in ("ReplicationSource", "ReplicationDestination"):
            manifest["metadata"].setdefault("labels", {})["restore-drill/tier"] = tier
        if manifest["kind"] == "ReplicationSource":
            manifest["spec"].setdefault("trigger", {})["schedule"] = schedule
            manifest["spec"]["restic"]["retain"] = dict(retain)


def check_own_repositories(apps: list[tuple[str, AppFixture]]) -> None:
    """Two ReplicationSources that write one restic repository mix their snapshots (and
    the drill could not tell whose backup came back): refuse before anything is made.
    ``apps`` holds each app's own name and its rendered fixture."""
    writers: dict[str, str] = {}
    for name, app in apps:
        for source in app.of_kind(k8s.REPLICATION_SOURCE):
            secret = app.secret(source["spec"]["restic"]["repository"])
            url = str(secret.get("stringData", {}).get("RESTIC_REPOSITORY", "")).rstrip("/")
            writer = f"{name}/{source['metadata']['name']}"
            if url in writers:
                raise ScenarioError(
                    f"{writer} and {writers[url]} would back up into the same repository "
                    f"{url}: each app's RESTIC_REPOSITORY needs ${{APP}} (fixtures/apps/README.md)"
                )
            writers[url] = writer

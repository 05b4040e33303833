"""The example repositories report exactly their planted defects: no more, no fewer."""

from __future__ import annotations

from pathlib import Path

import pytest

from restore_drill.lint import LintResult, lint_repository
from restore_drill.lint.catalog import RULES

EXAMPLES = Path(__file__).resolve().parents[2] / "fixtures" / "gitops"


def refs(result: LintResult) -> set[tuple[str, str]]:
    return {(f.rule, f.object_ref) for f in result.findings}


HOMELAB = {
    ("RD001", "PersistentVolumeClaim/karakeep/karakeep"),
    ("RD002", "PersistentVolumeClaim/open-webui/open-webui"),
    ("RD003", "ReplicationSource/redis/redis-backup"),
    ("RD004", "ReplicationDestination/immich/immich-restore"),
    ("RD005", "ReplicationDestination/immich/immich-restore"),
    ("RD006", "ReplicationDestination/plex/plex-restore"),
    ("RD010", "PersistentVolumeClaim/homepage/homepage"),
    ("RD011", "PersistentVolumeClaim/jellyfin/jellyfin-cache"),
    ("RD012", "PersistentVolumeClaim/nginx/nginx"),
    ("RD013", "StatefulSet/redis/redis"),
    ("RD020", "ReplicationDestination/mqtt/mqtt-restore"),
    ("RD021", "VolumeSnapshotClass/longhorn-backup"),
    ("RD030", "ReplicationDestination/n8n/n8n-restore"),
    ("RD031", "ReplicationDestination/plex/plex-restore"),
    ("RD032", "(repository)"),
    ("RD040", "ReplicationSource/meilisearch/meilisearch-backup"),
    ("RD041", "ReplicationSource/n8n/n8n-backup"),
    ("RD050", "ReplicationDestination/khoj/khoj-restore"),
    ("RD050", "ReplicationSource/khoj/khoj-backup"),
    ("RD051", "ReplicationDestination/nginx/nginx-restore"),
    ("RD051", "ReplicationSource/nginx/nginx-backup"),
    ("RD052", "ReplicationDestination/container-registry/container-registry-restore"),
    ("RD052", "ReplicationSource/container-registry/container-registry-backup"),
    ("RD053", "ReplicationSource/mqtt/mqtt-backup"),
    ("RD060", "Application/argocd/plex"),
    ("RD061", "ApplicationSet/argocd/standard"),
    ("RD070", "ReplicationDestination/meilisearch/meilisearch-restore"),
    ("RD070", "ReplicationSource/meilisearch/meilisearch-backup"),
    ("RD900", "argocd/wip-searxng.yaml"),
    ("RD906", "apps/standard/fizzy/kustomization.yaml"),
    ("RD908", "ReplicationSource/homepage/homepage-backup"),
}

FLUX = {
    ("RD032", "(repository)"),
    ("RD062", "PersistentVolumeClaim/homepage/homepage"),
    ("RD907", "Kustomization/flux-system/searxng"),
}

CHARTS = {
    ("RD014", "PersistentVolumeClaim/mosquitto/mosquitto-data"),
    ("RD021", "VolumeSnapshotClass/longhorn-backup"),
    ("RD022", "VolumeSnapshotClass/longhorn-snapshot"),
    ("RD900", "apps/frigate/configmap.yaml"),
    ("RD906", "apps/frigate/kustomization.yaml"),
    ("RD906", "apps/zigbee2mqtt/kustomization.yaml"),
}

FLUX_HELM = {
    ("RD014", "PersistentVolumeClaim/zwave/zwave-data"),
    ("RD022", "VolumeSnapshotClass/longhorn-snapshot"),
}

# Apps written to be right: any finding naming them is a false positive.
CLEAN_APPS = {
    "homelab": {"home-assistant", "paperless-ngx"},
    "flux": {"n8n", "open-webui"},
    "charts": {"esphome", "esphome-backup", "home-assistant"},
    "flux-helm": {"vaultwarden"},
}


@pytest.fixture(scope="module")
def homelab() -> LintResult:
    return lint_repository(EXAMPLES / "homelab")


@pytest.fixture(scope="module")
def flux() -> LintResult:
    return lint_repository(EXAMPLES / "flux")


@pytest.fixture(scope="module")
def charts() -> LintResult:
    return lint_repository(EXAMPLES / "charts")


@pytest.fixture(scope="module")
def flux_helm() -> LintResult:
    return lint_repository(EXAMPLES / "flux-helm")


def test_homelab_reports_exactly_the_planted_defects(homelab: LintResult) -> None:
    assert refs(homelab) == HOMELAB


def test_flux_reports_exactly_the_planted_defects(flux: LintResult) -> None:
    assert refs(flux) == FLUX


def test_charts_reports_exactly_the_planted_defects(charts: LintResult) -> None:
    assert refs(charts) == CHARTS


def test_flux_helm_reports_exactly_the_planted_defects(flux_helm: LintResult) -> None:
    assert refs(flux_helm) == FLUX_HELM
    assert any("apps/zwave/config/settings.yaml" in note for note in flux_helm.notes)


def test_what_the_lint_cannot_see_is_not_a_warning(charts: LintResult) -> None:
    # Workloads from charts: a claim the values name is mounted; one they do not is "maybe".
    assert not [f for f in charts.findings if f.rule == "RD012"]
    assert {f.severity for f in charts.findings if f.rule == "RD014"} == {"info"}


def test_app_configs_are_skipped_and_counted_not_syntax_errors(charts: LintResult) -> None:
    assert not [f for f in charts.findings if "config/" in f.file]
    assert any(
        note.startswith("skipped 3 YAML file(s) that are not manifests")
        and "apps/home-assistant/config/configuration.yaml" in note
        for note in charts.notes
    )


@pytest.mark.parametrize("example", ["homelab", "flux", "charts", "flux-helm"])
def test_clean_apps_have_no_finding(
    example: str, homelab: LintResult, flux: LintResult, charts: LintResult, flux_helm: LintResult
) -> None:
    results = {"homelab": homelab, "flux": flux, "charts": charts, "flux-helm": flux_helm}
    result = results[example]
    named = {f.app for f in result.findings} | {f.namespace for f in result.findings}
    assert not named & CLEAN_APPS[example]


def test_every_rule_is_planted_somewhere_or_tested_as_hostile_input() -> None:
    hostile = {"RD901", "RD902", "RD903", "RD904", "RD905"}  # tests/lint/test_loader.py
    planted = {rule for rule, _ in HOMELAB | FLUX | CHARTS | FLUX_HELM}
    assert planted | hostile == set(RULES)


def test_commented_out_resource_is_not_deployed(homelab: LintResult) -> None:
    # apps/standard/jellyfin/pvc-transcode.yaml exists but kustomization.yaml comments it out.
    assert not [f for f in homelab.findings if f.name == "jellyfin-transcode"]


def test_findings_name_their_source_file(homelab: LintResult) -> None:
    by_ref = {f.object_ref: f for f in homelab.findings}
    assert by_ref["PersistentVolumeClaim/karakeep/karakeep"].file == (
        "apps/critical/karakeep/pvc.yaml"
    )
    assert by_ref["Application/argocd/plex"].file == "argocd/app-plex.yaml"
    assert all(f.message and f.hint for f in homelab.findings)


def test_flux_component_findings_are_substituted(flux: LintResult) -> None:
    assert all("${APP}" not in f.message for f in flux.findings)


def test_a_list_generator_names_the_app_and_an_unresolvable_one_is_said(
    charts: LintResult,
) -> None:
    from restore_drill.lint.render import render_repository

    rendered = render_repository(EXAMPLES / "charts")
    frigate = [o for o in rendered.objects if o.file.startswith("apps/frigate/")]
    assert frigate and {o.deployer.name for o in frigate if o.deployer} == {"apps"}
    assert {o.namespace for o in frigate} == {"frigate"}
    assert any("ApplicationSet edge: clusters" in note for note in charts.notes)

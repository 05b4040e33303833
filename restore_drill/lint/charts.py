"""Workloads the lint cannot see: Helm charts, inflated by a kustomization (``helmCharts``),
installed by an ArgoCD Application (``source.chart``) or by a Flux HelmRelease. Their
values often name the PVC the chart's workload mounts (``existingClaim``, ``claimName``):
a claim named there counts as mounted, and a PVC in a chart's namespace that the values
do not name is "maybe".
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import yaml

from restore_drill.kinds import dig
from restore_drill.lint.model import Deployed, mapping, sequence, text

if TYPE_CHECKING:
    from restore_drill.lint.kustomize import Kustomization
    from restore_drill.lint.loader import LoadResult

CLAIM_KEYS = ("existingClaim", "claimName")


@dataclass(frozen=True)
class ChartUse:
    """One chart deployed into ``namespace`` ("" when the lint cannot tell where)."""

    chart: str
    namespace: str
    claims: frozenset[str]
    file: str


def claims_in(values: Any) -> set[str]:
    """Every claim name the values give: ``persistence.*.existingClaim``,
    ``volumes[].persistentVolumeClaim.claimName`` and the like, at any depth."""
    found: set[str] = set()
    if isinstance(values, dict):
        for key, value in values.items():
            if key in CLAIM_KEYS and isinstance(value, str) and value:
                found.add(value)
            else:
                found |= claims_in(value)
    elif isinstance(values, list):
        for item in values:
            found |= claims_in(item)
    return found


def kustomize_charts(
    kustomizations: dict[str, Kustomization], loads: dict[str, LoadResult]
) -> list[ChartUse]:
    """Charts the repository's kustomizations inflate, with the claims their values name."""
    uses = []
    for directory, kustomization in sorted(kustomizations.items()):
        for chart in map(mapping, sequence(kustomization.body.get("helmCharts"))):
            values = claims_in(chart.get("valuesInline"))
            values_file = text(chart.get("valuesFile"))
            if values_file:
                path = posixpath.normpath(posixpath.join(directory, values_file))
                for doc in getattr(loads.get(path), "documents", []):
                    values |= claims_in(doc.body)
            namespace = text(chart.get("namespace")) or text(kustomization.body.get("namespace"))
            name = text(chart.get("name")) or text(chart.get("releaseName"))
            uses.append(ChartUse(name, namespace, frozenset(values), kustomization.file))
    return uses


def _helm_values(helm: dict[str, Any]) -> Any:
    values = helm.get("valuesObject")
    if isinstance(values, dict):
        return values
    try:
        return yaml.safe_load(text(helm.get("values"))) or {}
    except yaml.YAMLError:
        return {}


def application_charts(applications: Iterator[Deployed]) -> list[ChartUse]:
    """Charts ArgoCD Applications install from a Helm repository (``source.chart``)."""
    uses = []
    for app in applications:
        sources = [mapping(dig(app.body, "spec", "source"))]
        sources += [mapping(s) for s in sequence(dig(app.body, "spec", "sources"))]
        namespace = text(dig(app.body, "spec", "destination", "namespace"))
        for source in sources:
            if not text(source.get("chart")):
                continue
            claims = claims_in(_helm_values(mapping(source.get("helm"))))
            uses.append(ChartUse(text(source.get("chart")), namespace, frozenset(claims), app.file))
    return uses


def helm_release_charts(releases: Iterator[Deployed]) -> list[ChartUse]:
    """Charts Flux HelmReleases install (``spec.chart.spec.chart`` or ``spec.chartRef``),
    with the claims their ``spec.values`` name."""
    uses = []
    for release in releases:
        spec = mapping(release.body.get("spec"))
        chart = text(dig(spec, "chart", "spec", "chart")) or text(dig(spec, "chartRef", "name"))
        namespace = text(spec.get("targetNamespace")) or release.namespace
        claims = frozenset(claims_in(spec.get("values")))
        uses.append(ChartUse(chart or release.name, namespace, claims, release.file))
    return uses

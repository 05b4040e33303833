"""From a repository on disk to the objects it deploys, each tied to its file, app and deployer.

Kustomization roots are rendered by kustomize; YAML files outside any kustomization are
taken as they are. Flux Kustomizations re-render their ``spec.path`` with their
``postBuild.substitute`` variables; ArgoCD Applications and ApplicationSets (git directory
generators) claim the directories they deploy.
"""

from __future__ import annotations

import base64
import binascii
import posixpath
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from restore_drill.kinds import dig
from restore_drill.lint.argocd import deployer_of, deploying_app, unresolved_generators
from restore_drill.lint.batch import plan_batches
from restore_drill.lint.catalog import finding
from restore_drill.lint.charts import ChartUse, kustomize_charts
from restore_drill.lint.findings import Finding
from restore_drill.lint.kustomize import (
    Kustomization,
    find_kustomizations,
    find_roots,
    listed_files,
    render_roots,
)
from restore_drill.lint.loader import (
    KUSTOMIZATION_NAMES,
    Document,
    LoadResult,
    load_tree,
    parse_documents,
)
from restore_drill.lint.model import (
    CLUSTER_SCOPED,
    Deployed,
    Deployer,
    mapping,
    sequence,
    text,
)

_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?[=-]([^}]*))?\}")
_FLUX_GROUP = "kustomize.toolkit.fluxcd.io"


@dataclass
class Rendered:
    objects: list[Deployed] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    roots: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # YAML files that are not manifests
    charts: list[ChartUse] = field(default_factory=list)
    unresolved: list[str] = field(default_factory=list)  # ApplicationSet generators


def not_manifests(loads: dict[str, LoadResult], listed: set[str]) -> list[str]:
    """YAML files that are an application's own (its config, a chart's values): no
    kustomization reads them and nothing in them names an apiVersion and kind. They are
    skipped, parse errors and all; a file a kustomization lists is always judged."""
    return sorted(
        rel
        for rel, result in loads.items()
        if rel not in listed
        and posixpath.basename(rel) not in KUSTOMIZATION_NAMES
        and not result.has_objects
        and not result.manifest_like
        # refused for safety (binary, huge, a YAML bomb): said, never skipped
        and all(f.rule == "RD900" for f in result.findings)
    )


@dataclass
class _Unit:
    """A directory deployed as one unit: a kustomization root, or loose files in a directory."""

    directory: str
    documents: list[Document]
    text: str | None  # rendered text (substitution re-parses it)
    default_file: str


def render_repository(repo: Path) -> Rendered:
    loads, walk_findings = load_tree(repo)
    out = Rendered(findings=list(walk_findings))
    kustomizations = find_kustomizations(loads)
    roots = find_roots(kustomizations)
    reads = {root.directory: listed_files(root, kustomizations) for root in roots}
    out.skipped = not_manifests(loads, set().union(*reads.values()))
    loads = {rel: result for rel, result in loads.items() if rel not in out.skipped}
    for rel, result in loads.items():
        out.findings.extend(result.findings)
        if result.unknown_tags:
            tags = ", ".join(sorted(result.unknown_tags))
            out.findings.append(
                finding("RD900", f"{rel}: YAML tag(s) {tags}: not a Kubernetes manifest", file=rel)
            )
    unreadable = {f.file for f in out.findings}

    out.roots = [k.directory or "." for k in roots]
    origin = _origin_index(loads)
    units = _render_units(
        repo, roots, loads, unreadable=unreadable, origin=origin, findings=out.findings, reads=reads
    )
    units.extend(_loose_units(loads, kustomizations))

    every_doc = [doc for unit in units for doc in unit.documents]
    flux = [
        d
        for d in every_doc
        if text(d.body.get("apiVersion")).startswith(_FLUX_GROUP + "/")
        and d.body.get("kind") == "Kustomization"
    ]
    argo = [
        d
        for d in every_doc
        if text(d.body.get("apiVersion")).startswith("argoproj.io/")
        and d.body.get("kind") in ("Application", "ApplicationSet")
    ]
    config = _config_values(every_doc)
    out.unresolved = unresolved_generators(argo)

    for chart in kustomize_charts(kustomizations, loads):
        # A chart without a namespace of its own goes where its Application deploys.
        _, _, namespace = deploying_app(argo, posixpath.dirname(chart.file))
        out.charts.append(replace(chart, namespace=chart.namespace or namespace))
    by_directory = {unit.directory: unit for unit in units}
    claimed: set[str] = set()
    for doc in flux:
        path = posixpath.normpath(text(dig(doc.body, "spec", "path")).lstrip("/") or ".")
        unit = by_directory.get(path)
        if unit is None:
            continue
        claimed.add(path)
        deployer = deployer_of(doc, "FluxKustomization")
        variables = _flux_variables(doc.body, config)
        documents = _substitute(unit, variables, out.findings, deployer)
        target_ns = text(dig(doc.body, "spec", "targetNamespace"))
        _collect(
            out,
            documents,
            deployer.name,
            deployer,
            target_ns or deployer.namespace,
            force_namespace=bool(target_ns),
        )

    for unit in units:
        if unit.directory in claimed:
            continue
        argo_deployer, app, namespace = deploying_app(argo, unit.directory)
        _collect(out, unit.documents, app, argo_deployer, namespace, force_namespace=False)
    return out


def _render_units(
    repo: Path,
    roots: list[Kustomization],
    loads: dict[str, Any],
    *,
    unreadable: set[str],
    origin: dict[tuple[str, str], list[str]],
    findings: list[Finding],
    reads: dict[str, set[str]],
) -> list[_Unit]:
    to_render: list[str] = []
    fallback: dict[str, str] = {}
    for root in roots:
        inside = [f for f in unreadable if f in reads[root.directory]]
        reason = root.remote_reason() or (
            f"it contains unreadable files ({', '.join(sorted(inside)[:3])})" if inside else ""
        )
        if reason:
            fallback[root.directory] = reason
        else:
            to_render.append(root.directory)
    rendering = set(to_render)
    batches = plan_batches(str(repo), [r for r in roots if r.directory in rendering], loads, reads)
    outcomes = render_roots(str(repo), to_render, batches)
    units: list[_Unit] = []
    for root in roots:
        outcome = outcomes.get(root.directory)
        reason = fallback.get(root.directory) or (outcome.problem if outcome else "")
        if outcome is not None and outcome.text is not None:
            parsed = parse_documents(outcome.text, root.file)
            findings.extend(parsed.findings)
            for doc in parsed.documents:
                doc.file = _source_file(doc.body, root, origin)
            units.append(_Unit(root.directory or ".", parsed.documents, outcome.text, root.file))
            continue
        findings.append(
            finding(
                "RD906",
                f"{root.file}: not rendered because {reason}; its files were read as they are",
                file=root.file,
                app=posixpath.basename(root.directory) or ".",
            )
        )
        docs = [
            doc
            for rel, result in loads.items()
            if _under(rel, root.directory) and posixpath.basename(rel) not in KUSTOMIZATION_NAMES
            for doc in result.documents
        ]
        namespace = text(root.body.get("namespace"))
        if namespace:
            docs = [_with_namespace(d, namespace, force=True) for d in docs]
        units.append(_Unit(root.directory or ".", docs, None, root.file))
    return units


def _loose_units(loads: dict[str, Any], kustomizations: dict[str, Kustomization]) -> list[_Unit]:
    """YAML files with no kustomization above them, grouped by directory."""
    grouped: dict[str, list[Document]] = {}
    for rel, result in sorted(loads.items()):
        directory = posixpath.dirname(rel)
        if any(_under(rel, k) for k in kustomizations):
            continue
        grouped.setdefault(directory or ".", []).extend(result.documents)
    return [_Unit(d, docs, None, d) for d, docs in grouped.items()]


def _under(rel: str, directory: str) -> bool:
    return directory in ("", ".") or rel.startswith(directory.rstrip("/") + "/")


def _origin_index(loads: dict[str, Any]) -> dict[tuple[str, str], list[str]]:
    origin: dict[tuple[str, str], list[str]] = {}
    for rel, result in loads.items():
        for doc in result.documents:
            key = (text(doc.body.get("kind")), text(dig(doc.body, "metadata", "name")))
            origin.setdefault(key, []).append(rel)
    return origin


def _source_file(
    body: dict[str, Any], root: Kustomization, origin: dict[tuple[str, str], list[str]]
) -> str:
    """The file a rendered object most likely came from (the root's kustomization if unknown)."""
    candidates = origin.get((text(body.get("kind")), text(dig(body, "metadata", "name"))), [])
    inside = [c for c in candidates if _under(c, root.directory)]
    if inside:
        return inside[0]
    return candidates[0] if len(candidates) == 1 else root.file


def _config_values(documents: list[Document]) -> dict[tuple[str, str], dict[str, str]]:
    """ConfigMap and Secret (stringData) values, for Flux ``substituteFrom``."""
    values: dict[tuple[str, str], dict[str, str]] = {}
    for doc in documents:
        kind = text(doc.body.get("kind"))
        if kind in ("ConfigMap", "Secret"):
            data = {k: text(v) for k, v in mapping(doc.body.get("data")).items()}
            if kind == "Secret":
                data = {k: _decode(v) for k, v in data.items()}
            data.update({k: text(v) for k, v in mapping(doc.body.get("stringData")).items()})
            values[(kind, text(dig(doc.body, "metadata", "name")))] = data
    return values


def _decode(value: str) -> str:
    try:
        return base64.b64decode(value, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return ""


def _flux_variables(
    body: dict[str, Any],
    config: dict[tuple[str, str], dict[str, str]],
) -> dict[str, str]:
    post_build = mapping(dig(body, "spec", "postBuild"))
    variables: dict[str, str] = {}
    for ref in map(mapping, sequence(post_build.get("substituteFrom"))):
        variables.update(config.get((text(ref.get("kind")), text(ref.get("name"))), {}))
    variables.update({k: text(v) for k, v in mapping(post_build.get("substitute")).items()})
    return variables


def _substitute(
    unit: _Unit, variables: dict[str, str], findings: list[Finding], deployer: Deployer
) -> list[Document]:
    if unit.text is None:  # loose files or a fallback: substitute in the parsed values
        return unit.documents
    missing: set[str] = set()

    def replace(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if name in variables:
            return variables[name]
        if default is not None:
            return default
        missing.add(name)
        return match.group(0)

    parsed = parse_documents(_VARIABLE.sub(replace, unit.text), unit.default_file)
    findings.extend(parsed.findings)
    for name in sorted(missing):
        findings.append(
            finding(
                "RD907",
                f"{deployer.file}: Flux Kustomization {deployer.name} leaves ${{{name}}} "
                f"unset in {unit.directory}",
                file=deployer.file,
                kind="Kustomization",
                namespace=deployer.namespace,
                name=deployer.name,
                app=deployer.name,
            )
        )
    originals = {(text(d.body.get("kind")), i): d.file for i, d in enumerate(unit.documents)}
    for index, doc in enumerate(parsed.documents):
        doc.file = originals.get((text(doc.body.get("kind")), index), unit.default_file)
    return parsed.documents


def _collect(
    out: Rendered,
    documents: list[Document],
    app: str,
    deployer: Deployer | None,
    namespace: str,
    *,
    force_namespace: bool,
) -> None:
    for doc in _expand_lists(documents):
        if not doc.body.get("kind"):
            continue
        placed = _with_namespace(doc, namespace, force=force_namespace) if namespace else doc
        out.objects.append(Deployed(placed.body, placed.file, app, deployer))


def _expand_lists(documents: list[Document]) -> list[Document]:
    """``kind: List`` (as ``kubectl get -o yaml`` writes) holds its objects in ``items``."""
    expanded: list[Document] = []
    for doc in documents:
        items = doc.body.get("items")
        if text(doc.body.get("kind")).endswith("List") and isinstance(items, list):
            expanded.extend(Document(i, doc.file, doc.line) for i in items if isinstance(i, dict))
        else:
            expanded.append(doc)
    return expanded


def _with_namespace(doc: Document, namespace: str, *, force: bool) -> Document:
    if text(doc.body.get("kind")) in CLUSTER_SCOPED:
        return doc
    meta = mapping(doc.body.get("metadata"))
    if meta.get("namespace") and not force:
        return doc
    body = {**doc.body, "metadata": {**meta, "namespace": namespace}}
    return Document(body, doc.file, doc.line)

"""GitOps tools and the populator's immutable PVC fields (RD060-RD062)."""

from __future__ import annotations

from collections.abc import Iterator

import yaml

from restore_drill.kinds import dig
from restore_drill.lint.catalog import finding
from restore_drill.lint.findings import Finding
from restore_drill.lint.model import Deployed, Deployer, Model, mapping, sequence, text
from restore_drill.lint.policy import Policy

IMMUTABLE = ("/spec/dataSourceRef", "/spec/dataSource", "/spec/volumeName")
FLUX_SSA = "kustomize.toolkit.fluxcd.io/ssa"
# argocd-cm keys that ignore PVC fields for every Application of the instance.
_SYSTEM_KEYS = (
    "resource.customizations.ignoreDifferences.PersistentVolumeClaim",
    "resource.customizations.ignoreDifferences.all",
)


def populated_pvcs(model: Model) -> Iterator[Deployed]:
    for pvc in model.of_kind("PersistentVolumeClaim"):
        if text(dig(pvc.spec, "dataSourceRef", "kind")) == "ReplicationDestination":
            yield pvc


def check_gitops(model: Model, policy: Policy) -> Iterator[Finding]:
    argo: dict[Deployer, list[Deployed]] = {}
    for pvc in populated_pvcs(model):
        deployer = pvc.deployer
        if deployer is None:
            continue
        if deployer.kind == "FluxKustomization":
            if text(pvc.annotations.get(FLUX_SSA)) != "IfNotPresent":
                yield finding(
                    "RD062",
                    f"{pvc.file}: PVC {pvc.namespace}/{pvc.name} deployed by "
                    f"Flux Kustomization {deployer.name} lacks {FLUX_SSA}: IfNotPresent",
                    file=pvc.file,
                    **pvc.where(),
                )
        else:
            argo.setdefault(deployer, []).append(pvc)
    system = _system_ignores(model)
    for deployer, pvcs in argo.items():
        yield from _argo(deployer, pvcs, system)


def _system_ignores(model: Model) -> set[str]:
    """PVC paths ignored instance-wide in the argocd-cm ConfigMap, when the repository has it."""
    ignored: set[str] = set()
    config = next((c for c in model.of_kind("ConfigMap") if c.name == "argocd-cm"), None)
    if config is None:
        return ignored
    for key in _SYSTEM_KEYS:
        try:
            rule = yaml.safe_load(text(mapping(config.body.get("data")).get(key)) or "{}")
        except yaml.YAMLError:
            continue
        ignored |= _paths(mapping(rule))
    return ignored


def _paths(rule: dict[str, object]) -> set[str]:
    pointers = {text(p).rstrip("/") for p in sequence(rule.get("jsonPointers"))}
    return pointers | {_jq_to_pointer(text(p)) for p in sequence(rule.get("jqPathExpressions"))}


def _argo(deployer: Deployer, pvcs: list[Deployed], system: set[str]) -> Iterator[Finding]:
    spec = mapping(deployer.body.get("spec"))
    if deployer.kind == "ApplicationSet":
        spec = mapping(dig(spec, "template", "spec"))
    where = {
        "kind": deployer.kind,
        "namespace": deployer.namespace,
        "name": deployer.name,
        "app": pvcs[0].app if deployer.kind == "Application" else "(repository)",
    }
    names = sorted({f"{p.namespace}/{p.name}" for p in pvcs})
    more = f" and {len(names) - 3} more" if len(names) > 3 else ""
    label = (
        f"{deployer.file}: {deployer.kind} {deployer.name} deploys PVC {', '.join(names[:3])}{more}"
    )
    ignored = set(system)
    for rule in map(mapping, sequence(spec.get("ignoreDifferences"))):
        if text(rule.get("kind")) == "PersistentVolumeClaim" and not text(rule.get("group")):
            ignored |= _paths(rule)
    missing = [path for path in IMMUTABLE if path not in ignored]
    if missing:
        yield finding(
            "RD060",
            f"{label} but does not ignore {', '.join(missing)}",
            file=deployer.file,
            **where,
        )
    options = [text(o).replace(" ", "") for o in sequence(dig(spec, "syncPolicy", "syncOptions"))]
    if not missing and "RespectIgnoreDifferences=true" not in options:
        yield finding(
            "RD061", f"{label} without RespectIgnoreDifferences=true", file=deployer.file, **where
        )


def _jq_to_pointer(expression: str) -> str:
    """``.spec.dataSourceRef`` -> ``/spec/dataSourceRef`` (plain paths only)."""
    return "/" + "/".join(part for part in expression.strip().split(".") if part)

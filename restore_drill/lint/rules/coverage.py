"""What is backed up and what is mounted (RD010-RD013)."""

from __future__ import annotations

from collections.abc import Iterator

from restore_drill.kinds import dig
from restore_drill.lint.catalog import finding
from restore_drill.lint.charts import application_charts, helm_release_charts
from restore_drill.lint.findings import Finding
from restore_drill.lint.model import WORKLOAD_KINDS, Deployed, Model, mapping, sequence, text
from restore_drill.lint.policy import Policy
from restore_drill.lint.rules.common import backed_up_pvcs, claim_names


def backed_up_classes(model: Model, policy: Policy) -> set[str]:
    """Storage classes at least one backed-up PVC uses, plus those the policy names."""
    classes = set(policy.backed_up_storage_classes)
    for namespace, name in backed_up_pvcs(model):
        pvc = model.get("PersistentVolumeClaim", namespace, name)
        if pvc is not None and model.storage_class_of(pvc):
            classes.add(model.storage_class_of(pvc))
    return classes


def looks_like_cache(obj_name: str, labels: dict[str, object], policy: Policy) -> bool:
    lowered = obj_name.lower()
    if any(pattern in lowered for pattern in policy.cache_name_patterns):
        return True
    return any(text(value).lower() in policy.cache_label_values for value in labels.values())


def check_unprotected_pvcs(model: Model, policy: Policy) -> Iterator[Finding]:
    protected = backed_up_pvcs(model)
    classes = backed_up_classes(model, policy)
    for pvc in model.of_kind("PersistentVolumeClaim"):
        storage_class = model.storage_class_of(pvc)
        if (pvc.namespace, pvc.name) in protected or storage_class not in classes:
            continue
        label = f"{pvc.file}: PVC {pvc.namespace}/{pvc.name} on backed-up class {storage_class}"
        if looks_like_cache(pvc.name, pvc.labels, policy):
            yield finding(
                "RD011",
                f"{label} looks like a cache and has no ReplicationSource",
                file=pvc.file,
                **pvc.where(),
            )
        else:
            yield finding(
                "RD010", f"{label} has no ReplicationSource", file=pvc.file, **pvc.where()
            )


def check_mounts(model: Model, policy: Policy) -> Iterator[Finding]:
    mounted: set[tuple[str, str]] = set()
    workloads = list(model.of_kind(*WORKLOAD_KINDS))
    for workload in workloads:
        mounted.update((workload.namespace, claim) for claim in claim_names(workload))
    protected = backed_up_pvcs(model)
    charts = [
        *model.charts,
        *application_charts(model.of_kind("Application")),
        *helm_release_charts(model.of_kind("HelmRelease")),
    ]
    for (namespace, name), rs in sorted(protected.items()):
        pvc = model.get("PersistentVolumeClaim", namespace, name)
        if pvc is None or (namespace, name) in mounted:
            continue
        nearby = [c for c in charts if c.namespace in (namespace, "")]
        if any(name in c.claims for c in nearby):
            continue  # the chart's values name it: its workload mounts it
        if nearby:
            yield finding(
                "RD014",
                f"{pvc.file}: PVC {namespace}/{name} is backed up by {rs.name}; no workload "
                f"in the repository mounts it, but chart {nearby[0].chart} "
                f"({nearby[0].file}) may: its values do not name the claim",
                file=pvc.file,
                **pvc.where(),
            )
        else:
            yield finding(
                "RD012",
                f"{pvc.file}: PVC {namespace}/{name} is backed up by "
                f"{rs.name} but no workload mounts it",
                file=pvc.file,
                **pvc.where(),
            )
    classes = backed_up_classes(model, policy)
    for sts in model.of_kind("StatefulSet"):
        yield from _claim_templates(model, sts, classes, protected, policy)


def _claim_templates(
    model: Model,
    sts: Deployed,
    classes: set[str],
    protected: dict[tuple[str, str], Deployed],
    policy: Policy,
) -> Iterator[Finding]:
    replicas = sts.spec.get("replicas", 1)
    count = replicas if isinstance(replicas, int) and not isinstance(replicas, bool) else 1
    for template in map(mapping, sequence(sts.spec.get("volumeClaimTemplates"))):
        name = text(dig(template, "metadata", "name"))
        storage_class = text(dig(template, "spec", "storageClassName"))
        if not storage_class:
            storage_class = model.storage_class_of(Deployed({"spec": {}}, "", ""))
        claims = [f"{name}-{sts.name}-{i}" for i in range(max(count, 1))]
        missing = [c for c in claims if (sts.namespace, c) not in protected]
        if storage_class in classes and missing and not looks_like_cache(name, {}, policy):
            yield finding(
                "RD013",
                f"{sts.file}: StatefulSet {sts.namespace}/{sts.name} claim "
                f"template {name} on backed-up class {storage_class}: no "
                f"ReplicationSource for {', '.join(missing)}",
                file=sts.file,
                **sts.where(),
            )

"""Movers must be able to write files the app can read (RD070)."""

from __future__ import annotations

from collections.abc import Iterator

from restore_drill.lint.catalog import finding
from restore_drill.lint.findings import Finding
from restore_drill.lint.model import WORKLOAD_KINDS, Deployed, Model, mapping, sequence, text
from restore_drill.lint.policy import Policy
from restore_drill.lint.rules.common import claim_names, pod_spec, restic, restored_pvcs

PRIVILEGED_MOVERS = "volsync.backube/privileged-movers"


def runs_as_non_root(workload: Deployed) -> bool:
    spec = pod_spec(workload)
    contexts = [mapping(spec.get("securityContext"))] + [
        mapping(mapping(c).get("securityContext")) for c in sequence(spec.get("containers"))
    ]
    for context in contexts:
        user = context.get("runAsUser")
        if context.get("runAsNonRoot") is True or (isinstance(user, int) and user != 0):
            return True
    return False


def check_mover_permissions(model: Model, policy: Policy) -> Iterator[Finding]:
    non_root_claims: set[tuple[str, str]] = set()
    for workload in model.of_kind(*WORKLOAD_KINDS):
        if runs_as_non_root(workload):
            non_root_claims.update((workload.namespace, c) for c in claim_names(workload))
    for mover in [*model.volsync("ReplicationSource"), *model.volsync("ReplicationDestination")]:
        if mover.kind == "ReplicationSource":
            claims = [text(mover.spec.get("sourcePVC"))]
        else:
            claims = [p.name for p in restored_pvcs(model, mover)]
        if not any((mover.namespace, c) in non_root_claims for c in claims):
            continue
        if restic(mover).get("moverSecurityContext"):
            continue
        namespace = model.get("Namespace", "", mover.namespace)
        if namespace is not None and text(namespace.annotations.get(PRIVILEGED_MOVERS)) == "true":
            continue
        yield finding(
            "RD070",
            f"{mover.file}: {mover.kind} {mover.namespace}/{mover.name}: the "
            f"app runs as non-root; set moverSecurityContext or annotate namespace "
            f"{mover.namespace} {PRIVILEGED_MOVERS}",
            file=mover.file,
            **mover.where(),
        )

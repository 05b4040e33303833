"""Rule families; each check takes the model and the policy and yields findings."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from restore_drill.lint.findings import Finding
from restore_drill.lint.model import Model
from restore_drill.lint.policy import Policy
from restore_drill.lint.rules import (
    chain,
    coverage,
    gitops,
    kinds,
    permissions,
    repository,
    schedule,
    snapshots,
)

Check = Callable[[Model, Policy], Iterable[Finding]]

CHECKS: tuple[Check, ...] = (
    kinds.check_api_versions,
    chain.check_references,
    chain.check_destination_shape,
    coverage.check_unprotected_pvcs,
    coverage.check_mounts,
    snapshots.check_snapshot_classes,
    snapshots.check_default_class_annotations,
    schedule.check_triggers,
    schedule.check_tiers,
    repository.check_secrets,
    gitops.check_gitops,
    permissions.check_mover_permissions,
)


def run_checks(model: Model, policy: Policy) -> list[Finding]:
    findings: list[Finding] = []
    for check in CHECKS:
        findings.extend(check(model, policy))
    return findings

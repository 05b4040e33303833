"""``restore-drill lint``: audit a GitOps repository's backup and restore configuration.

``lint_repository(path, policy)`` renders the repository (kustomize, Flux substitution,
ArgoCD directories), indexes what it deploys and runs every rule family over it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from restore_drill.lint.findings import Finding
from restore_drill.lint.model import Model
from restore_drill.lint.policy import Policy, default_policy
from restore_drill.lint.render import render_repository
from restore_drill.lint.rules import run_checks

__all__ = ["LintResult", "lint_repository"]


@dataclass
class LintResult:
    findings: list[Finding]
    notes: list[str]

    @property
    def has_errors(self) -> bool:
        return any(f.severity == "error" for f in self.findings)


def lint_repository(path: Path, policy: Policy | None = None) -> LintResult:
    rendered = render_repository(path)
    model = Model(rendered.objects, rendered.charts)
    findings = [*rendered.findings, *run_checks(model, policy or default_policy())]
    notes = [
        f"rendered {len(rendered.roots)} kustomization root(s), {len(rendered.objects)} object(s)"
    ]
    if rendered.unresolved:
        notes.append(
            "not resolved (what they deploy is not judged): " + "; ".join(rendered.unresolved)
        )
    if rendered.skipped:
        shown = ", ".join(rendered.skipped[:5]) + (", ..." if len(rendered.skipped) > 5 else "")
        notes.append(
            f"skipped {len(rendered.skipped)} YAML file(s) that are not manifests (no apiVersion"
            f" and kind, and no kustomization reads them): {shown}"
        )
    return LintResult(findings, notes)

"""Rendering: what kustomize deploys, fallbacks that say so, Flux substitution, ArgoCD claims."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from restore_drill.lint import kustomize
from restore_drill.lint.render import render_repository

Repo = Callable[[dict[str, str]], Path]

CONFIG = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n  namespace: {ns}\n"


def placed(path: Path) -> set[tuple[str, str, str]]:
    return {(o.kind, o.namespace, o.name) for o in render_repository(path).objects}


def test_kustomize_namespace_override_and_unlisted_files(repo: Repo) -> None:
    path = repo(
        {
            "app/kustomization.yaml": "namespace: target\nresources:\n  - a.yaml\n# - b.yaml\n",
            "app/a.yaml": CONFIG.format(name="a", ns="source"),
            "app/b.yaml": CONFIG.format(name="b", ns="source"),
        }
    )
    assert placed(path) == {("ConfigMap", "target", "a")}


def test_included_directories_are_not_roots_and_components_never_are(repo: Repo) -> None:
    path = repo(
        {
            "top/kustomization.yaml": "resources: [../base]\ncomponents: [../extra]\n",
            "base/kustomization.yaml": "resources: [c.yaml]\n",
            "base/c.yaml": CONFIG.format(name="c", ns="x"),
            "extra/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1alpha1\n"
            "kind: Component\nresources: [d.yaml]\n",
            "extra/d.yaml": CONFIG.format(name="d", ns="x"),
        }
    )
    rendered = render_repository(path)
    assert rendered.roots == ["top"]
    assert {o.name for o in rendered.objects} == {"c", "d"}


def test_without_kustomize_files_are_read_and_the_output_says_so(
    repo: Repo, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(kustomize, "kustomize_command", lambda: None)
    path = repo(
        {
            "app/kustomization.yaml": "namespace: target\nresources: [a.yaml]\n",
            "app/a.yaml": CONFIG.format(name="a", ns="source"),
        }
    )
    rendered = render_repository(path)
    assert [(f.rule, f.file) for f in rendered.findings] == [("RD906", "app/kustomization.yaml")]
    assert "no kustomize" in rendered.findings[0].message
    assert {(o.namespace, o.name) for o in rendered.objects} == {("target", "a")}


def test_kustomize_errors_fall_back_with_its_message(repo: Repo) -> None:
    path = repo({"app/kustomization.yaml": "resources: [missing.yaml]\n"})
    findings = render_repository(path).findings
    assert [f.rule for f in findings] == ["RD906"]
    assert "missing.yaml" in findings[0].message


def test_remote_bases_are_not_fetched(repo: Repo, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_: object, **__: object) -> object:
        raise AssertionError("kustomize must not run for a remote base")

    monkeypatch.setattr(kustomize, "_kustomize", refuse)
    path = repo(
        {"app/kustomization.yaml": "resources: [https://github.com/example/repo//deploy?ref=v1]\n"}
    )
    findings = render_repository(path).findings
    assert [f.rule for f in findings] == ["RD906"]
    assert "remote base" in findings[0].message


FLUX_KS = """apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: {name}
  namespace: flux-system
spec:
  path: ./apps/common
  targetNamespace: {name}
  postBuild:
    substitute:
      APP: {name}
"""


def test_one_path_rendered_per_flux_kustomization_with_its_variables(repo: Repo) -> None:
    path = repo(
        {
            "clusters/home/ks.yaml": FLUX_KS.format(name="one")
            + "---\n"
            + FLUX_KS.format(name="two"),
            "apps/common/kustomization.yaml": "resources: [cm.yaml]\n",
            "apps/common/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n"
            "  name: ${APP}-cfg\n"
            "data:\n  size: ${SIZE:=1Gi}\n  other: ${UNSET}\n",
        }
    )
    rendered = render_repository(path)
    configs = {(o.namespace, o.name): o for o in rendered.objects if o.kind == "ConfigMap"}
    assert set(configs) == {("one", "one-cfg"), ("two", "two-cfg")}
    assert configs[("one", "one-cfg")].body["data"]["size"] == "1Gi"
    assert configs[("one", "one-cfg")].deployer is not None
    assert sorted((f.rule, f.name) for f in rendered.findings) == [
        ("RD907", "one"),
        ("RD907", "two"),
    ]


APPSET = """apiVersion: argoproj.io/v1alpha1
kind: ApplicationSet
metadata: {name: apps, namespace: argocd}
spec:
  generators:
    - git:
        directories:
          - path: apps/*
          - path: apps/skipped
            exclude: true
  template:
    spec:
      destination:
        namespace: '{{.path.basename}}'
"""


def test_application_set_directories_claim_their_apps(repo: Repo) -> None:
    path = repo(
        {
            "argocd/appset.yaml": APPSET,
            "apps/kept/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: kept}\n",
            "apps/skipped/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: skipped}\n",
        }
    )
    objects = {o.name: o for o in render_repository(path).objects if o.kind == "ConfigMap"}
    assert objects["kept"].deployer is not None and objects["kept"].namespace == "kept"
    assert objects["kept"].app == "kept"
    assert objects["skipped"].deployer is None


def test_find_roots_ignores_kustomizations_that_fail_to_parse(repo: Repo) -> None:
    path = repo({"app/kustomization.yaml": "resources: [\n"})
    rendered = render_repository(path)
    assert rendered.roots == []
    assert [f.rule for f in rendered.findings] == ["RD900"]


def test_flux_substitute_from_secret_is_decoded(repo: Repo) -> None:
    path = repo(
        {
            "clusters/home/ks.yaml": """apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: wiki, namespace: flux-system}
spec:
  path: ./apps/wiki
  postBuild:
    substituteFrom:
      - {kind: Secret, name: wiki-vars}
---
apiVersion: v1
kind: Secret
metadata: {name: wiki-vars, namespace: flux-system}
data:
  APP: d2lraQ==
""",
            "apps/wiki/kustomization.yaml": "namespace: wiki\nresources: [cm.yaml]\n",
            "apps/wiki/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${APP}-cfg\n",
        }
    )
    assert ("ConfigMap", "wiki", "wiki-cfg") in placed(path)


def test_list_documents_are_expanded(repo: Repo) -> None:
    path = repo(
        {
            "dump/all.yaml": "apiVersion: v1\nkind: List\nitems:\n"
            "  - {apiVersion: v1, kind: ConfigMap, metadata: {name: a}}\n"
            "  - not an object\n"
        }
    )
    assert {o.name for o in render_repository(path).objects} == {"a"}

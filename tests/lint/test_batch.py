"""Batched kustomize renders: which roots go together, and that each root's text is exactly
what rendering it alone prints (the real kustomize renders both ways)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from restore_drill.lint import kustomize
from restore_drill.lint.batch import Batch, crossed, documents, plan_batches
from restore_drill.lint.kustomize import (
    RenderOutcome,
    find_kustomizations,
    find_roots,
    listed_files,
    render_roots,
)
from restore_drill.lint.loader import load_tree

Repo = Callable[[dict[str, str]], Path]
EXAMPLES = Path(__file__).resolve().parents[2] / "fixtures" / "gitops"
KS = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
CONFIG = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n  key: {value}\n"


def plan(path: Path) -> tuple[list[str], list[Batch]]:
    loads, _ = load_tree(path)
    kustomizations = find_kustomizations(loads)
    roots = [r for r in find_roots(kustomizations) if not r.remote_reason()]
    reads = {r.directory: listed_files(r, kustomizations) for r in roots}
    return [r.directory for r in roots], plan_batches(str(path), roots, loads, reads)


def counted(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The paths every kustomize subprocess is given, in the order they start."""
    paths: list[str] = []
    real = kustomize._kustomize

    def run(command: list[str], path: str) -> kustomize._Run:
        paths.append(path)
        return real(command, path)

    monkeypatch.setattr(kustomize, "_kustomize", run)
    return paths


def apps(count: int, **extra: str) -> dict[str, str]:
    files = {}
    for index in range(count):
        files[f"apps/app{index}/kustomization.yaml"] = (
            f"{KS}namespace: ns{index}\nresources:\n  - cm.yaml\n  - pvc.yaml\n"
        )
        files[f"apps/app{index}/cm.yaml"] = CONFIG.format(name=f"app{index}-env", value=index)
        files[f"apps/app{index}/pvc.yaml"] = (
            "apiVersion: v1\nkind: PersistentVolumeClaim\n"
            f"metadata:\n  name: app{index}-data\nspec:\n  storageClassName: longhorn\n"
        )
    return {**files, **extra}


@pytest.mark.parametrize("example", ["homelab", "charts"])
def test_batched_examples_render_exactly_as_each_root_alone(
    example: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    directories, batches = plan(EXAMPLES / example)
    assert batches, "the example has roots to batch"
    alone = render_roots(str(EXAMPLES / example), directories)
    paths = counted(monkeypatch)
    together = render_roots(str(EXAMPLES / example), directories, batches)
    assert together == alone
    assert list(together) == directories
    assert len(paths) < len(directories)
    with_markers = [Batch(b.directories) for b in batches]
    assert render_roots(str(EXAMPLES / example), directories, with_markers) == alone


def test_apps_batch_together_and_the_class_they_name_renders_apart(repo: Repo) -> None:
    path = repo(
        apps(
            4,
            **{
                "infra/kustomization.yaml": f"{KS}resources: [sc.yaml]\n",
                "infra/sc.yaml": "apiVersion: storage.k8s.io/v1\nkind: StorageClass\n"
                "metadata:\n  name: longhorn\nprovisioner: driver.longhorn.io\n",
            },
        )
    )
    _, batches = plan(path)
    assert [b.directories for b in batches] == [[f"apps/app{i}" for i in range(4)]]
    assert batches[0].sources is not None
    assert ("ConfigMap", "app2-env") in batches[0].sources[2]


def test_roots_that_may_rename_need_markers_and_top_level_fields_render_alone(
    repo: Repo,
) -> None:
    generated = f"{KS}configMapGenerator:\n  - name: gen{{i}}\n    literals: [a=1]\n"
    files = {f"gen/g{i}/kustomization.yaml": generated.format(i=i) for i in range(3)}
    files["vars/kustomization.yaml"] = f"{KS}resources: [cm.yaml]\nvars: []\n"
    files["vars/cm.yaml"] = CONFIG.format(name="v", value=1)
    _, batches = plan(repo(apps(3, **files)))
    assert sorted((b.directories, b.sources is None) for b in batches) == [
        ([f"apps/app{i}" for i in range(3)], False),
        ([f"gen/g{i}" for i in range(3)], True),
    ]


def test_a_missing_file_or_an_unreadable_one_keeps_a_root_out_of_batches(repo: Repo) -> None:
    path = repo(
        apps(
            3,
            **{
                "apps/app1/kustomization.yaml": f"{KS}resources: [cm.yaml, gone.yaml]\n",
                "apps/app2/cm.yaml": "key: [unclosed\n",
            },
        )
    )
    _, batches = plan(path)
    assert batches == []


def test_a_failing_root_in_a_batch_reads_as_it_does_alone(
    repo: Repo, monkeypatch: pytest.MonkeyPatch
) -> None:
    twice = {"apps/app1/kustomization.yaml": f"{KS}resources: [cm.yaml, copy.yaml]\n"}
    twice["apps/app1/copy.yaml"] = CONFIG.format(name="app1-env", value=1)
    path = repo(apps(4, **twice))
    directories, batches = plan(path)
    assert [b.directories for b in batches] == [directories]
    alone = render_roots(str(path), directories)
    assert "already registered id" in alone["apps/app1"].problem
    assert render_roots(str(path), directories, batches) == alone


def test_a_root_another_root_rewrites_is_rendered_alone(
    repo: Repo, monkeypatch: pytest.MonkeyPatch
) -> None:
    """kustomize moves the subject of one root's binding into the namespace another root
    gives the ServiceAccount when they render together: that root renders again, alone."""
    path = repo(
        {
            "sa/kustomization.yaml": f"{KS}namespace: a\nresources: [sa.yaml]\n",
            "sa/sa.yaml": "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: robot\n",
            "crb/kustomization.yaml": f"{KS}resources: [crb.yaml]\n",
            "crb/crb.yaml": "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\n"
            "metadata:\n  name: view\nroleRef:\n  apiGroup: rbac.authorization.k8s.io\n"
            "  kind: ClusterRole\n  name: view\nsubjects:\n"
            "  - kind: ServiceAccount\n    name: robot\n    namespace: default\n",
            "cm/kustomization.yaml": f"{KS}resources: [cm.yaml]\n",
            "cm/cm.yaml": CONFIG.format(name="plain", value=1),
        }
    )
    directories, batches = plan(path)
    assert not any({"crb", "sa"} <= set(b.directories) for b in batches)
    alone = render_roots(str(path), directories)
    forced = Batch(["crb", "cm", "sa"])  # markers: both renders, then the cross check
    paths = counted(monkeypatch)
    together = render_roots(str(path), directories, [forced])
    assert together == alone
    assert "namespace: default" in (together["crb"].text or "")
    assert sum(p.endswith("/crb") for p in paths) == 1


def test_objects_not_told_apart_by_name_are_rendered_again_with_markers(
    repo: Repo, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = repo(apps(3))
    directories, batches = plan(path)
    alone = render_roots(str(path), directories)
    wrong = Batch(batches[0].directories, [set(), set(), set()])
    paths = counted(monkeypatch)
    assert render_roots(str(path), directories, [wrong]) == alone
    assert sorted(p.rsplit("/", 1)[-1] for p in paths) == ["marked", "sorted", "sorted"]


def test_a_kustomize_without_sort_options_renders_the_roots_alone(
    repo: Repo, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = repo(apps(3))
    directories, _ = plan(path)
    alone = render_roots(str(path), directories)
    real = kustomize._kustomize

    def old(command: list[str], target: str) -> kustomize._Run:
        if target.endswith("marked"):
            return kustomize._Run(None, "error: invalid Kustomization: unknown field sortOptions")
        return real(command, target)

    monkeypatch.setattr(kustomize, "_kustomize", old)
    assert render_roots(str(path), directories, [Batch(directories)]) == alone


def test_cross_check_names_only_other_roots_objects() -> None:
    cm = {"kind": "ConfigMap", "metadata": {"name": "shared"}}
    user = {"kind": "Pod", "metadata": {"name": "p"}, "spec": {"volumes": [{"name": "shared"}]}}
    own = {"kind": "Pod", "metadata": {"name": "q"}, "spec": {"configMap": "q"}}
    assert crossed([[cm], [user], [own]]) == {1}


def test_documents_split_like_kustomize_joins_them() -> None:
    text = "a: 1\n---\nb: |\n  ---\n  x\n"
    assert documents(text) == ["a: 1\n", "b: |\n  ---\n  x\n"]
    assert "---\n".join(documents(text)) == text
    assert documents("") == []


def test_without_kustomize_batches_change_nothing(
    repo: Repo, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(kustomize, "kustomize_command", lambda: None)
    path = repo(apps(3))
    directories, batches = plan(path)
    outcomes = render_roots(str(path), directories, batches)
    assert list(outcomes.values()) == [
        RenderOutcome(d, None, "no kustomize or kubectl installed") for d in directories
    ]

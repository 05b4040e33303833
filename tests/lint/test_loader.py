"""Hostile input becomes one finding each, in bounded time and memory, never a crash."""

from __future__ import annotations

import os
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import pytest

from restore_drill.lint import lint_repository
from restore_drill.lint.loader import MAX_FILE_BYTES, load_file, parse_documents

Repo = Callable[[dict[str, str]], Path]

BOMB = (
    "\n".join(
        ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
        + [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 10)]
    )
    + "\n"
)

PVC = """apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data, namespace: app}
spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
"""


def rules_of(path: Path) -> list[str]:
    return sorted(f.rule for f in lint_repository(path).findings)


@pytest.mark.timeout(20)
def test_binary_file_is_one_finding(tmp_path: Path) -> None:
    (tmp_path / "blob.yaml").write_bytes(os.urandom(4096) + b"\x00" * 16)
    assert rules_of(tmp_path) == ["RD902"]


@pytest.mark.timeout(20)
def test_huge_file_is_skipped_without_reading_it(tmp_path: Path) -> None:
    huge = tmp_path / "huge.yaml"
    with huge.open("wb") as handle:
        handle.truncate(MAX_FILE_BYTES * 50)  # sparse: costs no disk
    assert rules_of(tmp_path) == ["RD901"]


@pytest.mark.timeout(20)
def test_yaml_bomb_is_refused_before_it_expands(tmp_path: Path) -> None:
    (tmp_path / "bomb.yaml").write_text(BOMB)
    tracemalloc.start()
    try:
        found = rules_of(tmp_path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert found == ["RD904"]
    assert peak < 64 * 2**20  # expanded, the bomb is 9**9 strings


@pytest.mark.timeout(20)
def test_deep_nesting_is_refused(tmp_path: Path) -> None:
    (tmp_path / "deep.yaml").write_text("[" * 5000 + "]" * 5000 + "\n")
    assert rules_of(tmp_path) == ["RD904"]


def test_invalid_utf8_is_one_finding(tmp_path: Path) -> None:
    data = b"kind: ConfigMap\nmetadata: {name: caf\xe9}\n"
    (tmp_path / "latin1.yaml").write_bytes(data)
    findings = lint_repository(tmp_path).findings
    assert [f.rule for f in findings] == ["RD903"]
    assert f"byte {data.index(0xE9)}" in findings[0].message


@pytest.mark.timeout(20)
def test_directory_symlink_loop_is_one_finding(tmp_path: Path) -> None:
    (tmp_path / "apps").mkdir()
    (tmp_path / "apps" / "pvc.yaml").write_text(PVC)
    (tmp_path / "apps" / "again").symlink_to("..")
    findings = lint_repository(tmp_path).findings
    assert [(f.rule, f.file) for f in findings] == [("RD905", "apps/again")]


def test_self_referencing_file_symlink_is_one_finding(tmp_path: Path) -> None:
    (tmp_path / "self.yaml").symlink_to("self.yaml")
    assert rules_of(tmp_path) == ["RD905"]


@pytest.mark.timeout(20)
def test_symlinks_out_of_the_repository_are_not_followed(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "everything").symlink_to("/")
    (repo / "zero.yaml").symlink_to("/dev/zero")
    (tmp_path / "outside.yaml").write_text(PVC)
    (repo / "outside.yaml").symlink_to(tmp_path / "outside.yaml")
    findings = lint_repository(repo).findings
    # /dev/zero is not a regular file: skipped before the containment check.
    assert sorted((f.rule, f.file) for f in findings) == [
        ("RD905", "everything"),
        ("RD905", "outside.yaml"),
    ]


def test_fifo_is_never_opened(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.yaml")  # opening it would block forever
    assert rules_of(tmp_path) == []


def test_dangling_symlink_is_ignored(tmp_path: Path) -> None:
    (tmp_path / "gone.yaml").symlink_to("nowhere.yaml")
    assert rules_of(tmp_path) == []


def test_syntax_error_names_the_line(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("kind: ConfigMap\nmetadata:\n  name: [unclosed\n")
    findings = lint_repository(tmp_path).findings
    assert [f.rule for f in findings] == ["RD900"]
    assert findings[0].line > 0


def test_wrong_types_and_unknown_kinds_never_crash(repo: Repo) -> None:
    path = repo(
        {
            "a.yaml": "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: [not, a, map]\n"
            "spec: 42\n",
            "b.yaml": "apiVersion: volsync.backube/v1alpha1\nkind: ReplicationSource\n"
            "metadata: {name: x, namespace: y}\nspec: {restic: [1], trigger: oops}\n",
            "c.yaml": "apiVersion: example.com/v1\nkind: SomethingNew\nmetadata: {name: z}\n",
            "d.yaml": "- a list\n- not an object\n---\njust a string\n---\n",
        }
    )
    # The RS names no PVC; its spec is nonsense: one RD003 and one RD031, nothing else.
    assert rules_of(path) == ["RD003", "RD031"]


def test_hostile_file_in_a_kustomization_is_not_given_to_kustomize(repo: Repo) -> None:
    path = repo(
        {
            "app/kustomization.yaml": "resources: [pvc.yaml, bomb.yaml]\n",
            "app/pvc.yaml": PVC,
            "app/bomb.yaml": BOMB,
        }
    )
    assert rules_of(path) == ["RD904", "RD906"]


def test_parse_documents_keeps_only_mappings() -> None:
    result = parse_documents("kind: A\n---\n- x\n---\nkind: B\n", "f.yaml")
    assert [d.body["kind"] for d in result.documents] == ["A", "B"]
    assert [d.line for d in result.documents] == [1, 5]


def test_load_file_reports_relative_paths(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "x.yaml").write_bytes(b"\xff")
    result = load_file(tmp_path, tmp_path / "sub" / "x.yaml")
    assert [f.file for f in result.findings] == ["sub/x.yaml"]

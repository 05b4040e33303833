"""render_roots without kustomize itself: renders run at the same time, outcomes keep the
order of the roots, and a failure or an oversized output reads as before."""

from __future__ import annotations

import os
import threading

import pytest

from restore_drill.lint import kustomize
from restore_drill.lint.kustomize import RenderOutcome, render_roots

ROOTS = ["c", "a", "d", "b"]


@pytest.fixture
def fake_kustomize(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kustomize, "kustomize_command", lambda: ["kustomize", "build"])
    monkeypatch.setattr(kustomize.os, "cpu_count", lambda: 4)


def test_renders_run_at_the_same_time_and_keep_the_roots_order(
    fake_kustomize: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    all_started = threading.Barrier(len(ROOTS), timeout=10)

    def render(command: list[str], path: str) -> kustomize._Run:
        all_started.wait()  # breaks (and raises) unless every render runs at once
        name = os.path.basename(path)
        return kustomize._Run(f"kind: ConfigMap\nmetadata:\n  name: {name}\n", size=10)

    monkeypatch.setattr(kustomize, "_kustomize", render)
    outcomes = render_roots("/repo", ROOTS)
    assert list(outcomes) == ROOTS
    assert [o.text for o in outcomes.values()] == [
        f"kind: ConfigMap\nmetadata:\n  name: {name}\n" for name in ROOTS
    ]


def test_a_failed_or_oversized_render_is_said_per_root(
    fake_kustomize: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    runs = {
        "c": kustomize._Run(None, "error: missing.yaml: no such file"),
        "a": kustomize._Run("x: 1\n", size=kustomize.MAX_RENDERED_BYTES + 1),
        "d": kustomize._Run(None, "kustomize took over 60s", timed_out=True),
        "b": kustomize._Run("y: 2\n", size=5),
    }
    monkeypatch.setattr(kustomize, "_kustomize", lambda _c, path: runs[os.path.basename(path)])
    assert render_roots("/repo", ROOTS) == {
        "c": RenderOutcome("c", None, "error: missing.yaml: no such file"),
        "a": RenderOutcome("a", None, "kustomize output over the size limit"),
        "d": RenderOutcome("d", None, "kustomize took over 60s"),
        "b": RenderOutcome("b", "y: 2\n"),
    }


def test_kustomize_gets_an_argv_list_and_the_environment(
    fake_kustomize: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[tuple[list[str], dict[str, str]]] = []

    class Done:
        returncode, stdout, stderr = 0, b"", b""

    def run(argv: list[str], **kwargs: object) -> Done:
        assert "shell" not in kwargs
        env = kwargs["env"]
        assert isinstance(env, dict)
        seen.append((argv, env))
        return Done()

    monkeypatch.setattr(kustomize.subprocess, "run", run)
    monkeypatch.setenv("RESTORE_DRILL_PROBE", "kept")
    monkeypatch.setenv("GOGC", "50")
    render_roots("/repo", ["a"])
    [(argv, env)] = seen
    assert argv == ["kustomize", "build", "/repo/a"]
    assert env["RESTORE_DRILL_PROBE"] == "kept"
    assert env["GOGC"] == "50"  # the user's Go settings win over the lint's default
    assert env["KUSTOMIZE_PLUGIN_HOME"] == os.devnull

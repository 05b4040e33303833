"""``restore-drill list`` and the usage side of ``restore-drill run`` (no cluster needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from restore_drill.cli import main
from restore_drill.clusters import kind as kind_module
from restore_drill.images import tools


def test_list_prints_every_scenario_with_its_target(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for line in ("pvc-delete", "cluster-rebuild", "point-in-time", "volsync-upgrade"):
        assert line in out
    assert "900s" in out and "120s" in out
    assert "faults ('restore-drill run faults'" in out
    assert "fails-loudly: MoverFailed (wrong-password)" in out


@pytest.mark.parametrize(
    "argv, message",
    [
        (["run", "nope", "--cluster", "auto"], "unknown scenario 'nope'"),
        (["run", "pvc-delete", "--cluster", "auto", "--size", "huge"], "--size: 'huge'"),
        (["run", "pvc-delete", "--cluster", "auto", "--size", "0"], "--size: '0' must be"),
        (["run", "pvc-delete", "--cluster", "auto", "--size", "100TiB"], "holds 1Gi"),
        (["run", "faults", "--cluster", "auto", "--size", "3GiB"], "holds 1Gi"),
    ],
)
def test_mistyped_input_is_named_before_a_backend_is_probed(
    argv: list[str],
    message: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    probed: list[str] = []
    monkeypatch.setattr(
        kind_module,
        "docker_engine_answers",
        lambda: probed.append("docker") or (False, "no Docker engine answers"),
    )
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert message in captured.err and "backend" not in captured.out and probed == []


@pytest.mark.parametrize(
    "argv, message",
    [
        (
            ["run", "pvc-delete", "--cluster", "kind", "--allow-existing"],
            "go with --cluster existing",
        ),
        (
            ["run", "pvc-delete", "--cluster", "kind", "--agent-image", "a:1"],
            "go with --cluster existing",
        ),
        (["run", "pvc-delete", "--cluster", "existing"], "needs --kubeconfig and --allow-existing"),
    ],
)
def test_usage_errors_exit_2_before_anything_starts(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out.splitlines()[0].startswith("restore-drill: backend ")
    assert message in captured.err


def test_ci_says_which_backend_auto_chose_in_the_first_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    kind = tmp_path / "kind"
    kind.write_text("")
    monkeypatch.setattr(kind_module, "docker_engine_answers", lambda: (True, "Docker engine 28"))
    monkeypatch.setattr(tools, "tool", lambda name: str(kind))
    monkeypatch.setenv("CI", "true")
    assert main(["run", "pvc-delete", "--cluster", "auto", "--allow-existing"]) == 2
    first = capsys.readouterr().out.splitlines()[0]
    assert first.startswith("restore-drill: backend ") and "auto" in first


def test_kind_without_docker_is_one_line_and_leaves_no_run_directory(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(
        kind_module, "docker_engine_answers", lambda: (False, "no Docker engine answers (refused)")
    )
    out = tmp_path / "runs"
    assert main(["run", "pvc-delete", "--cluster", "kind", "--out", str(out)]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "no Docker engine answers" in err and "make setup" in err
    assert not out.exists() or not any(out.iterdir())


def test_an_unusable_out_directory_is_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["run", "pvc-delete", "--cluster", "kind", "--out", "/proc/nope"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--out /proc/nope" in err


def test_jobs_must_be_a_whole_number_of_drills(capsys: pytest.CaptureFixture[str]) -> None:
    from restore_drill.cli import main

    for bad in ("0", "-1", "two"):
        with pytest.raises(SystemExit) as exit_:
            main(["run", "pvc-delete", "--jobs", bad])
        assert exit_.value.code == 2
        assert f"{bad!r} is not a whole number of drills" in capsys.readouterr().err

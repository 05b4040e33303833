"""restore-drill doctor: probes, verdicts per backend, exit codes."""

from __future__ import annotations

import argparse
import re
import subprocess
from typing import Any

import pytest

from restore_drill.commands import doctor
from restore_drill.commands.doctor import Probe, verdicts


def probes(**broken: str) -> list[Probe]:
    names = [
        "Docker engine",
        "kind",
        "kubectl",
        "helm",
        "git",
        "restic",
        "python",
    ]
    return [Probe(n, n not in broken, broken.get(n, "fine")) for n in names]


def test_all_tools_present_means_every_backend_can_run() -> None:
    result = verdicts(probes())
    assert {name: ok for name, (ok, _) in result.items()} == {
        "kind": True,
        "existing": True,
    }
    assert "--allow-existing" in result["existing"][1]


def test_no_docker_engine_rules_out_kind_only() -> None:
    result = verdicts(probes(**{"Docker engine": "no Docker engine answers"}))
    assert result["kind"] == (False, "Docker engine: no Docker engine answers")
    assert result["existing"][0]


def test_restic_on_the_host_is_not_needed_by_any_backend() -> None:
    result = verdicts(probes(restic="0.12.1 (need >= 0.14)"))
    assert result["kind"][0] and result["existing"][0]


def fake_run(outputs: dict[str, tuple[int, str]]):  # type: ignore[no-untyped-def]
    def run(argv: list[str], **kw: Any) -> subprocess.CompletedProcess[str]:
        code, out = outputs[argv[0]]
        return subprocess.CompletedProcess(argv, code, out, "")

    return run


def test_restic_version_is_parsed_and_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(doctor.shutil, "which", lambda _: "/usr/bin/restic")
    monkeypatch.setattr(
        doctor.subprocess, "run", fake_run({"restic": (0, "restic 0.14.0 compiled with go1.19")})
    )
    assert doctor.probe_restic() == Probe("restic", True, "0.14.0")
    monkeypatch.setattr(
        doctor.subprocess, "run", fake_run({"restic": (0, "restic 0.12.1 compiled")})
    )
    probe = doctor.probe_restic()
    assert not probe.ok and "need >= 0.14" in probe.detail


def test_missing_tool_is_reported_not_raised(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(doctor.shutil, "which", lambda _: None)
    assert doctor.probe_helm() == Probe(
        "helm", False, "not built (restore-drill images build) and not on PATH"
    )


def run_doctor(monkeypatch: pytest.MonkeyPatch, argv: list[str], docker: bool) -> int:
    monkeypatch.setattr(
        doctor,
        "PROBES",
        tuple(
            (lambda p=p: p) for p in probes(**({} if docker else {"Docker engine": "no engine"}))
        ),
    )
    parser = argparse.ArgumentParser()
    doctor.add_arguments(parser)
    return doctor.run(parser.parse_args(argv))


def test_exit_code_is_zero_unless_a_required_backend_cannot_run(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_doctor(monkeypatch, [], docker=False) == 0
    out = capsys.readouterr().out
    assert "kind      no " in out and "existing  yes" in out
    assert run_doctor(monkeypatch, ["--require", "existing"], docker=False) == 0
    assert run_doctor(monkeypatch, ["--require", "kind"], docker=False) == 1
    assert "kind cannot run here" in capsys.readouterr().err
    assert run_doctor(monkeypatch, ["--require", "kind"], docker=True) == 0


def test_doctor_on_this_machine_runs_for_real(capsys: pytest.CaptureFixture[str]) -> None:
    assert doctor.run(argparse.Namespace(require=None)) == 0
    out = capsys.readouterr().out
    assert out.startswith("tools:") and "backends:" in out
    assert re.search(r"external-snapshotter +v8\.4\.0", out)
    for backend in ("kind", "existing"):
        assert f"  {backend} " in out

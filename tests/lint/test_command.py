"""``restore-drill lint``: exit 0 without errors, 1 with errors, 2 (UsageError) on bad usage."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from restore_drill.commands import lint as command
from restore_drill.errors import UsageError

EXAMPLES = Path(__file__).resolve().parents[2] / "fixtures" / "gitops"


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="restore-drill lint")
    command.add_arguments(parser)
    return parser.parse_args(argv)


def test_errors_exit_1_and_print_the_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert command.run(parse(str(EXAMPLES / "homelab"))) == 1
    out = capsys.readouterr().out
    assert "RD001" in out and "karakeep" in out


def test_warnings_only_exit_0_with_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert command.run(parse(str(EXAMPLES / "flux"), "--format", "json")) == 0
    assert json.loads(capsys.readouterr().out)["summary"]["error"] == 0


def test_sarif_format(capsys: pytest.CaptureFixture[str]) -> None:
    command.run(parse(str(EXAMPLES / "flux"), "--format", "sarif"))
    assert json.loads(capsys.readouterr().out)["version"] == "2.1.0"


def test_policy_changes_the_verdict(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text("min_restore_gap_minutes: 45\n")  # the flux apps restore 30 min after
    command.run(parse(str(EXAMPLES / "flux"), "--policy", str(policy), "--format", "json"))
    rules = {f["rule"] for f in json.loads(capsys.readouterr().out)["findings"]}
    assert "RD030" in rules


def test_missing_directory_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError):
        command.run(parse(str(tmp_path / "absent")))


def test_unknown_format_is_rejected_by_the_parser() -> None:
    with pytest.raises(SystemExit) as exit_info:
        parse(".", "--format", "xml")
    assert exit_info.value.code == 2

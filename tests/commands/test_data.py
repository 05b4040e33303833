"""``restore-drill data``: exit 0 identical, 1 different (with a readable report), 2 bad input."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import pytest

from restore_drill.commands import data as command
from restore_drill.errors import UsageError


def run(*argv: str) -> int:
    parser = argparse.ArgumentParser()
    command.add_arguments(parser)
    return command.run(parser.parse_args(list(argv)))


def test_write_manifest_and_diff_round_trip(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tree = str(tmp_path / "tree")
    assert run("write", "--profile", "smoke", "--seed", "4", "--size", "128KiB", tree) == 0
    assert json.loads(capsys.readouterr().out)["profile"] == "smoke"
    assert run("manifest", tree) == 0
    lines = capsys.readouterr().out.splitlines()
    assert json.loads(lines[0])["format"].startswith("restore-drill-manifest")
    saved = tmp_path / "before.jsonl"
    saved.write_text("\n".join(lines))
    assert run("diff", str(saved), tree) == 0
    assert capsys.readouterr().out.startswith("identical")
    os.chmod(Path(tree) / "edge/modes/private", 0o644)
    assert run("diff", str(saved), tree, "--limit", "1") == 1
    report = capsys.readouterr().out
    assert "changed edge/modes/private: mode '0600' -> '0644'" in report
    assert run("check", tree) == 0


def test_diff_applies_a_profiles_policy(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tree = tmp_path / "tree"
    assert run("write", "--profile", "media", "--size", "4MiB", str(tree)) == 0
    capsys.readouterr()
    assert run("manifest", str(tree)) == 0
    saved = tmp_path / "before.jsonl"
    saved.write_text(capsys.readouterr().out)
    movie = tree / "library/movies/movie-00.mkv"
    movie.write_bytes(movie.read_bytes())  # holes become written zeros, as restic restores them
    assert run("diff", str(saved), str(tree)) == 1
    assert run("diff", str(saved), str(tree), "--profile", "media") == 0
    assert "not compared: sparse" in capsys.readouterr().out


def test_check_fails_on_a_broken_database(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tree = tmp_path / "tree"
    assert run("write", "--profile", "smoke", str(tree)) == 0
    (tree / "app.db-wal").unlink()
    with open(tree / "app.db", "r+b") as db:
        db.seek(4096)
        db.write(b"\x00" * 8192)
    assert run("check", str(tree)) == 1
    assert "FAILED app.db" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv",
    [
        ("write", "--profile", "nope", "x"),
        ("write", "--profile", "smoke", "--size", "4 parsecs", "x"),
        ("diff", "/nonexistent/a.jsonl", "/nonexistent/b"),
    ],
)
def test_bad_input_raises_usage_error_which_the_cli_turns_into_exit_2(
    argv: tuple[str, ...],
) -> None:
    with pytest.raises(UsageError):
        run(*argv)


def test_diff_prints_json_for_reports(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    left, right = tmp_path / "left", tmp_path / "right"
    assert run("write", "--profile", "smoke", "--size", "64KiB", str(left)) == 0
    assert run("write", "--profile", "smoke", "--size", "64KiB", "--seed", "2", str(right)) == 0
    (right / "extra-file").write_text("x")
    capsys.readouterr()
    assert run("diff", str(left), str(right), "--json", "--limit", "2") == 1
    verdict = json.loads(capsys.readouterr().out)
    assert verdict["ok"] is False
    assert "extra-file" in verdict["extra"] and len(verdict["extra"]) == 2  # the first two
    assert verdict["counts"]["extra"] >= 1
    assert verdict["counts"]["changed"] > 2 and len(verdict["changed"]) == 2
    assert set(verdict["changed"][0]) == {"path", "field", "expected", "actual"}

"""``run --dry-run``: the kind path's own code, recorded, compared with a golden listing."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from restore_drill import dryrun
from restore_drill.addons import offline as addons_offline
from restore_drill.addons import recording, run_command
from restore_drill.cli import main
from restore_drill.clusters import kind_offline
from restore_drill.scenario import find_scenario

GOLDEN = Path(__file__).parent / "golden" / "dry-run-pvc-delete-pulled.txt"
UPDATE = "RESTORE_DRILL_UPDATE_GOLDEN"


@pytest.fixture
def nothing_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any process started during the test fails it: a dry run runs nothing."""
    import croniter  # noqa: F401  (its import asks `file` about the interpreter: not ours)

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError(f"a dry run started a process: {args[0] if args else kwargs}")

    monkeypatch.setattr(subprocess, "run", refuse)
    monkeypatch.setattr(subprocess, "Popen", refuse)


def test_recording_hands_each_command_to_the_recorder_and_runs_none(nothing_runs: None) -> None:
    seen: list[tuple[list[str], str | None]] = []

    def recorder(argv: list[str], env: Any, cwd: Any, stdin: str | None) -> str:
        seen.append((argv, stdin))
        return "answer"

    with recording(recorder):
        done = run_command(["kubectl", "apply", "-f", "-"], stdin="kind: X")
    assert done.stdout == "answer" and done.returncode == 0
    assert seen == [(["kubectl", "apply", "-f", "-"], "kind: X")]


def test_pvc_delete_listing_matches_the_golden_file(nothing_runs: None) -> None:
    listing = dryrun.dry_run([find_scenario("pvc-delete")], images="pulled")
    if os.environ.get(UPDATE):
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(listing, encoding="utf-8")
    assert listing == GOLDEN.read_text(encoding="utf-8"), (
        f"the kind path's commands changed: review, then {UPDATE}=1 pytest {__file__}"
    )


def test_listing_runs_in_order_and_holds_only_placeholder_secrets(nothing_runs: None) -> None:
    listing = dryrun.dry_run([find_scenario("pvc-delete")], images="pulled")
    order = [
        "$ docker run -d --pull never",
        "$ kind create cluster",
        "wait (watch, up to 300s): kube-system/snapshot-controller Available",
        "$ helm upgrade --install volsync",
        "## drill pvc-delete",
        "apply (server-side): ReplicationDestination",
        "step delete_pvc",
        "delete: PersistentVolumeClaim",
        "step wait_restored",
        "$ kind delete cluster",
        "$ docker rm -f -v",
    ]
    positions = [listing.index(text) for text in order]
    assert positions == sorted(positions)
    assert "RESTIC_PASSWORD: <restic-password>" in listing
    assert "AWS_SECRET_ACCESS_KEY: <s3-secret-key>" in listing
    assert "MINIO_ROOT_PASSWORD=" not in listing  # the key goes to docker by name only


def test_built_images_load_them_and_lay_the_pod_network(
    nothing_runs: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Offline sources come from the Go module cache: a stand-in directory here.
    monkeypatch.setattr(addons_offline, "module_dir", lambda module, version: tmp_path / module)
    monkeypatch.setattr(kind_offline, "docker_label", lambda image, label: "built here")
    listing = dryrun.dry_run([find_scenario("pvc-delete")], images="built")
    assert "$ kind load docker-image --name restore-drill-kind-dryrun" in listing
    assert "wait (watch, up to 180s): node restore-drill-kind-dryrun-control-plane podCIDR" in (
        listing
    )
    assert "$ helm template volsync" in listing
    assert "git clone" not in listing  # nothing is fetched from the network offline


def test_keep_always_lists_no_teardown(nothing_runs: None) -> None:
    listing = dryrun.dry_run([find_scenario("pvc-delete")], images="pulled", keep="always")
    assert "$ kind delete cluster" not in listing and "always kept" in listing


def test_cli_dry_run_prints_the_listing_and_makes_nothing(
    nothing_runs: None, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    out = tmp_path / "runs"
    code = main(["run", "pvc-delete", "--dry-run", "--images", "pulled", "--out", str(out)])
    assert code == 0
    assert capsys.readouterr().out.startswith("# restore-drill run --cluster kind --dry-run")
    assert not out.exists()


def test_cli_dry_run_refuses_the_existing_backend(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "pvc-delete", "--dry-run", "--cluster", "existing"]) == 2
    assert "--cluster kind" in capsys.readouterr().err

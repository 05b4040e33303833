"""A drill stopped by a signal at each phase leaves nothing behind: the CLI runs a real
drill on the session's cluster (as the existing backend, with the session's MinIO as the
user's store), is signalled when the phase begins, and must exit 130/143 within 30 s,
record where it stopped, and leave no namespace, bucket, process or temporary file."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from restore_drill import k8s
from restore_drill.backend import Backend
from restore_drill.clusters.kind import kind_cluster_exists
from restore_drill.commands.clean import marked_processes

if TYPE_CHECKING:
    from e2e.conftest import Bystander, ExistingRun

pytestmark = [pytest.mark.drill, pytest.mark.timeout(600)]

CLI = str(Path(sys.executable).parent / "restore-drill")
EXIT = {signal.SIGINT: 130, signal.SIGTERM: 143}


def temp_entries() -> set[str]:
    return {p.name for p in Path(tempfile.gettempdir()).iterdir() if "restore-drill" in p.name}


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.parametrize(
    ("phase", "stop"),
    [
        ("deploy_app", signal.SIGTERM),
        ("backup", signal.SIGINT),
        ("delete_pvc", signal.SIGTERM),
        ("wait_restored", signal.SIGINT),
        ("verify", signal.SIGTERM),
    ],
)
def test_a_drill_signalled_in_each_phase_leaves_nothing(
    drill_backend: Backend,
    bystander: Bystander,
    existing_run: ExistingRun,
    tmp_path: Path,
    phase: str,
    stop: signal.Signals,
) -> None:
    store = drill_backend.object_store
    argv, env = existing_run("pvc-delete", tmp_path)
    temp_before = temp_entries()
    drill = subprocess.Popen(
        argv,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own group: whatever it started is found by the group
    )
    assert drill.stdout is not None
    seen = []
    for line in drill.stdout:
        seen.append(line)
        if f"] {phase} (" in line:
            break
    else:
        pytest.fail(f"the drill ended before {phase}:\n{''.join(seen)}")
    drill.send_signal(stop)
    signalled = time.monotonic()
    rest, _ = drill.communicate(timeout=60)
    took = time.monotonic() - signalled
    output = "".join(seen) + rest
    assert drill.returncode == EXIT[stop], output
    assert took <= 30, f"exit {took:.1f}s after the signal"
    assert "Traceback" not in output

    [result_file] = tmp_path.glob("run-*/pvc-delete-*/result.json")
    result = json.loads(result_file.read_text())
    assert result["interrupted"] == phase and result["failure_type"] == "Interrupted"
    kube = drill_backend.cluster.kube()
    # The app's namespace by its name too: one made but not recorded would be a leak.
    for namespace in {*result["namespaces"], f"rd-{result['run_id']}-home-assistant"}:
        kube.wait_for(
            k8s.NAMESPACE, namespace, None, lambda obj: obj is None, timeout=180, what=namespace
        )
    assert not store.bucket_exists(f"rd-{result['run_id']}")
    assert not group_alive(drill.pid), "a process of the drill outlived it"
    assert temp_entries() <= temp_before
    bystander.assert_untouched()


def docker_names(*argv: str) -> set[str]:
    listed = subprocess.run(["docker", *argv], capture_output=True, text=True, check=True)
    return set(listed.stdout.split())


def machine() -> dict[str, set[str]]:
    """What a run can leave on this machine, by name."""
    return {
        "containers": docker_names("ps", "-a", "--format", "{{.Names}}"),
        "networks": docker_names("network", "ls", "--format", "{{.Name}}"),
        "temp": temp_entries(),
    }


def test_a_killed_kind_run_is_cleaned_away(drill_backend: Backend, tmp_path: Path) -> None:
    """SIGKILL a kind run while `kind create` makes its cluster: `restore-drill clean` must
    stop any tool of the run still at work (each runs in its own process group, so none
    dies with the run; `kind create` mostly ends on its broken pipe) and remove the
    half-made cluster and the object store, leaving the machine as it was."""
    if drill_backend.cluster.backend != "kind":
        pytest.skip("kills a kind run on the machine that runs the session's kind cluster")
    before = machine()
    started = ["docker", "events", "--filter", "type=container", "--filter", "event=start"]
    events = subprocess.Popen(
        [*started, "--format", "{{.Actor.Attributes.name}}"], stdout=subprocess.PIPE, text=True
    )
    argv = [CLI, "run", "pvc-delete", "--cluster", "kind", "--out", str(tmp_path)]
    drill = subprocess.Popen(
        [*argv, "--size", "256KiB", "--keep", "never"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        assert events.stdout is not None
        for name in events.stdout:  # the node's container started: kind is at work
            if name.strip().endswith("-control-plane"):
                break
        drill.kill()
        drill.wait()
    finally:
        events.kill()
        events.wait()
    [record] = tmp_path.glob("run-*/backend/running.json")
    owned = json.loads(record.read_text())
    assert kind_cluster_exists(owned["kind_cluster"])

    cleaned = subprocess.run(
        [CLI, "clean", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert cleaned.returncode == 0, cleaned.stdout + cleaned.stderr
    assert f"processes marked {owned['processes']}" in cleaned.stdout, cleaned.stdout
    assert "removed" in cleaned.stdout, cleaned.stdout
    assert not marked_processes(owned["processes"])
    assert not kind_cluster_exists(owned["kind_cluster"])
    assert machine() == before
    assert not record.exists()

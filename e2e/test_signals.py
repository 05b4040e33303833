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

import pytest

from restore_drill import k8s
from restore_drill.backend import Backend
from restore_drill.clusters.existing import kubeconfig_contexts

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
    drill_backend: Backend, tmp_path: Path, phase: str, stop: signal.Signals
) -> None:
    if drill_backend.cluster.backend != "kind":
        pytest.skip("signals the drill through the existing backend on the session's kind cluster")
    store, kubeconfig = drill_backend.object_store, drill_backend.cluster.kubeconfig
    env = {
        **os.environ,
        "RESTORE_DRILL_S3_ENDPOINT": store.host_endpoint,
        "RESTORE_DRILL_S3_CLUSTER_ENDPOINT": store.cluster_endpoint,
        **store.credentials.env(),
    }
    argv = [CLI, "run", "pvc-delete", "--cluster", "existing", "--allow-existing"]
    argv += ["--kubeconfig", str(kubeconfig), "--context", kubeconfig_contexts(kubeconfig)[0]]
    argv += ["--out", str(tmp_path), "--size", "256KiB", "--keep", "never"]
    argv += ["--agent-image", drill_backend.cluster.agent_image]  # the images built here
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

"""The real kubectl binary against the sim API server (skipped where kubectl is absent).

kubectl here may be a dispatcher that prints warnings on stderr, so assertions look at the
exit code and at stdout/stderr content, never at exact stderr text.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
from pathlib import Path

import pytest

from restore_drill.k8s import NAMESPACE, PVC
from tests.sim.conftest import SimApi

KUBECTL = shutil.which("kubectl")
pytestmark = pytest.mark.skipif(KUBECTL is None, reason="kubectl is not installed")

APP = """\
apiVersion: v1
kind: Namespace
metadata:
  name: shop
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: data
  namespace: shop
spec:
  accessModes: [ReadWriteOnce]
  resources:
    requests:
      storage: 1Gi
"""


def kubectl(sim_api: SimApi, *args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    assert KUBECTL is not None
    return subprocess.run(
        [KUBECTL, "--kubeconfig", str(sim_api.kubeconfig), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env={**os.environ, "KUBECTL_NO_UPDATE_CHECK": "1"},
    )


@pytest.fixture
def manifest(tmp_path: Path) -> Path:
    path = tmp_path / "app.yaml"
    path.write_text(APP)
    return path


def later(seconds: float, action: object) -> threading.Timer:
    timer = threading.Timer(seconds, action)  # type: ignore[arg-type]
    timer.start()
    return timer


def test_apply_then_get_across_namespaces(sim_api: SimApi, manifest: Path) -> None:
    applied = kubectl(sim_api, "apply", "-f", str(manifest))
    assert applied.returncode == 0, applied.stderr
    assert "persistentvolumeclaim/data created" in applied.stdout
    again = kubectl(sim_api, "apply", "-f", str(manifest))
    assert "persistentvolumeclaim/data unchanged" in again.stdout
    listed = kubectl(sim_api, "get", "pvc", "-A")
    assert listed.returncode == 0, listed.stderr
    header, row = listed.stdout.splitlines()[:2]
    assert header.split()[:3] == ["NAMESPACE", "NAME", "STATUS"]
    assert row.split()[:3] == ["shop", "data", "Pending"]


def test_get_json_and_describe(sim_api: SimApi, manifest: Path) -> None:
    kubectl(sim_api, "apply", "-f", str(manifest))
    found = json.loads(kubectl(sim_api, "get", "pvc", "data", "-n", "shop", "-o", "json").stdout)
    assert found["metadata"]["finalizers"] == ["kubernetes.io/pvc-protection"]
    described = kubectl(sim_api, "describe", "pvc", "data", "-n", "shop")
    assert described.returncode == 0, described.stderr
    assert "kubernetes.io/pvc-protection" in described.stdout
    missing = kubectl(sim_api, "get", "pvc", "nope", "-n", "shop")
    assert missing.returncode != 0
    assert 'persistentvolumeclaims "nope" not found' in missing.stderr


def test_get_crds_and_custom_resources(sim_api: SimApi) -> None:
    crds = kubectl(sim_api, "get", "crd")
    assert "replicationsources.volsync.backube" in crds.stdout
    empty = kubectl(sim_api, "get", "replicationdestinations", "-A")
    assert empty.returncode == 0, empty.stderr


def test_wait_for_jsonpath(sim_api: SimApi, manifest: Path) -> None:
    kubectl(sim_api, "apply", "-f", str(manifest))
    kube = sim_api.kube()
    timer = later(
        0.5,
        lambda: kube.patch(
            PVC, "data", {"status": {"phase": "Bound"}}, "shop", subresource="status"
        ),
    )
    waited = kubectl(
        sim_api,
        "wait",
        "--for=jsonpath={.status.phase}=Bound",
        "pvc/data",
        "-n",
        "shop",
        "--timeout=20s",
    )
    timer.join()
    assert waited.returncode == 0, waited.stderr
    assert "condition met" in waited.stdout


def test_wait_times_out(sim_api: SimApi, manifest: Path) -> None:
    kubectl(sim_api, "apply", "-f", str(manifest))
    waited = kubectl(
        sim_api,
        "wait",
        "--for=jsonpath={.status.phase}=Bound",
        "pvc/data",
        "-n",
        "shop",
        "--timeout=1s",
    )
    assert waited.returncode != 0
    assert "timed out" in waited.stderr


def test_delete_namespace_waits_for_its_content(sim_api: SimApi, manifest: Path) -> None:
    kubectl(sim_api, "apply", "-f", str(manifest))
    kube = sim_api.kube()
    # the PVC is held by pvc-protection until "the storage controller" lets it go
    timer = later(1.0, lambda: kube.patch(PVC, "data", {"metadata": {"finalizers": None}}, "shop"))
    deleted = kubectl(sim_api, "delete", "ns", "shop", "--wait", "--timeout=20s")
    timer.join()
    assert deleted.returncode == 0, deleted.stderr
    assert kube.find(NAMESPACE, "shop") is None


def test_apply_into_terminating_namespace_is_refused(sim_api: SimApi, manifest: Path) -> None:
    kubectl(sim_api, "apply", "-f", str(manifest))
    kubectl(sim_api, "delete", "ns", "shop", "--wait=false")
    phase = kubectl(sim_api, "get", "ns", "shop", "-o", "jsonpath={.status.phase}")
    assert phase.stdout == "Terminating"
    refused = kubectl(
        sim_api, "create", "configmap", "late", "-n", "shop", "--dry-run=client", "-o", "yaml"
    )
    late = Path(manifest.parent / "late.yaml")
    late.write_text(refused.stdout)
    created = kubectl(sim_api, "apply", "-f", str(late))
    assert created.returncode != 0
    assert "because it is being terminated" in created.stderr


def test_watch_streams_events(sim_api: SimApi, manifest: Path) -> None:
    kubectl(sim_api, "apply", "-f", str(manifest))
    kube = sim_api.kube()
    timer = later(
        0.5,
        lambda: kube.patch(
            PVC, "data", {"status": {"phase": "Bound"}}, "shop", subresource="status"
        ),
    )
    watched = kubectl(
        sim_api,
        "get",
        "pvc",
        "-n",
        "shop",
        "--watch",
        "--output-watch-events",
        "--request-timeout=3s",
    )
    timer.join()
    rows = [line.split() for line in watched.stdout.splitlines()[1:]]
    assert [row[:3] for row in rows] == [
        ["ADDED", "data", "Pending"],
        ["MODIFIED", "data", "Bound"],
    ]


def test_scale_and_server_side_apply(sim_api: SimApi, tmp_path: Path) -> None:
    deployment = tmp_path / "deploy.yaml"
    deployment.write_text(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: default\n"
        "spec:\n  replicas: 1\n  selector:\n    matchLabels: {app: web}\n  template:\n"
        "    metadata:\n      labels: {app: web}\n    spec:\n      containers:\n"
        "      - name: app\n        image: busybox\n"
    )
    applied = kubectl(sim_api, "apply", "--server-side", "-f", str(deployment))
    assert applied.returncode == 0, applied.stderr
    scaled = kubectl(sim_api, "scale", "deployment", "web", "--replicas=3")
    assert scaled.returncode == 0, scaled.stderr
    replicas = kubectl(sim_api, "get", "deploy", "web", "-o", "jsonpath={.spec.replicas}")
    assert replicas.stdout == "3"
    stale = kubectl(sim_api, "scale", "deployment", "web", "--replicas=1", "--current-replicas=2")
    assert stale.returncode != 0


def test_create_generators_send_protobuf(sim_api: SimApi) -> None:
    assert kubectl(sim_api, "create", "namespace", "shop").returncode == 0
    created = kubectl(
        sim_api, "create", "configmap", "settings", "-n", "shop", "--from-literal=mode=fast"
    )
    assert created.returncode == 0, created.stderr
    secret = kubectl(
        sim_api,
        "create",
        "secret",
        "generic",
        "creds",
        "-n",
        "shop",
        "--from-literal=password=hunter2",
    )
    assert secret.returncode == 0, secret.stderr
    data = kubectl(sim_api, "get", "secret", "creds", "-n", "shop", "-o", "jsonpath={.data}")
    assert json.loads(data.stdout) == {"password": "aHVudGVyMg=="}
    unsupported = kubectl(sim_api, "create", "deployment", "web", "--image=busybox")
    assert unsupported.returncode != 0
    assert "send application/json" in unsupported.stderr


def test_server_dry_run_stores_nothing(sim_api: SimApi, manifest: Path, tmp_path: Path) -> None:
    claim = tmp_path / "claim.yaml"
    claim.write_text(APP.split("---\n")[1].replace("namespace: shop", "namespace: default"))
    dry = kubectl(sim_api, "apply", "--dry-run=server", "-f", str(claim))
    assert dry.returncode == 0, dry.stderr
    assert "server dry run" in dry.stdout
    assert kubectl(sim_api, "get", "pvc", "data").returncode != 0
    # as on a real cluster, a dry run does not create the namespace later objects need
    missing = kubectl(sim_api, "apply", "--dry-run=server", "-f", str(tmp_path / "app.yaml"))
    assert 'namespaces "shop" not found' in missing.stderr


def test_patch_label_and_delete(sim_api: SimApi, manifest: Path) -> None:
    kubectl(sim_api, "apply", "-f", str(manifest))
    merged = kubectl(
        sim_api,
        "patch",
        "pvc",
        "data",
        "-n",
        "shop",
        "--type=merge",
        "-p",
        '{"metadata":{"annotations":{"note":"kept"}}}',
    )
    assert merged.returncode == 0, merged.stderr
    labelled = kubectl(sim_api, "label", "pvc", "data", "-n", "shop", "tier=gold")
    assert labelled.returncode == 0, labelled.stderr
    selected = kubectl(sim_api, "get", "pvc", "-A", "-l", "tier=gold", "-o", "name")
    assert selected.stdout.strip() == "persistentvolumeclaim/data"
    immutable = kubectl(
        sim_api,
        "patch",
        "pvc",
        "data",
        "-n",
        "shop",
        "--type=json",
        "-p",
        '[{"op":"replace","path":"/spec/accessModes/0","value":"ReadWriteMany"}]',
    )
    assert immutable.returncode != 0
    assert "spec is immutable after creation" in immutable.stderr
    deleted = kubectl(sim_api, "delete", "pvc", "data", "-n", "shop", "--wait=false")
    assert deleted.returncode == 0, deleted.stderr
    terminating = kubectl(
        sim_api, "get", "pvc", "data", "-n", "shop", "-o", "jsonpath={.metadata.deletionTimestamp}"
    )
    assert terminating.stdout  # held by kubernetes.io/pvc-protection


def test_unknown_fields_are_refused_as_by_strict_field_validation(
    sim_api: SimApi, tmp_path: Path
) -> None:
    typo = tmp_path / "typo.yaml"
    typo.write_text(
        APP.split("---\n")[1]
        .replace("namespace: shop", "namespace: default")
        .replace("accessModes:", "acessModes:")
    )
    refused = kubectl(sim_api, "apply", "-f", str(typo))
    assert refused.returncode != 0
    assert 'unknown field "spec.acessModes"' in refused.stderr
    lenient = kubectl(sim_api, "apply", "--validate=false", "-f", str(typo))
    assert lenient.returncode != 0  # accepted as-is, then the missing accessModes is invalid
    assert "Invalid" in lenient.stderr or "invalid" in lenient.stderr

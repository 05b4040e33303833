"""restore_drill.addons: pinned versions, exact command lines, readiness predicates."""

from __future__ import annotations

import ast
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from restore_drill.addons import (
    ADDONS_FILE,
    AddonInstaller,
    Addons,
    crd_established,
    csi_hostpath_clone_argv,
    csi_hostpath_deploy_argv,
    data_source_validator_argv,
    deployment_available,
    helm_env,
    helm_repo_argv,
    helm_volsync_argv,
    load_addons,
    run_command,
    snapshot_class_manifest,
    snapshotter_argv,
    statefulset_ready,
    storage_class_manifest,
    with_controller_args,
)
from restore_drill.addons import install as addons_module
from restore_drill.errors import BackendUnavailable, CommandFailed, UsageError

ROOT = Path(__file__).resolve().parents[1]
KUBECONFIG = Path("/run/drill/kubeconfig")


@pytest.fixture(scope="module")
def addons() -> Addons:
    return load_addons()


def test_every_pinned_version_has_the_expected_value(addons: Addons) -> None:
    assert addons.versions() == {
        "kind": "v0.31.0",
        "kubernetes": "v1.33.1",
        "node-image": "kindest/node:v1.33.7@sha256:"
        "d26ef333bdb2cbe9862a0f7c3803ecc7b4303d8cea8e814b481b09949d353040",
        "external-snapshotter": "v8.4.0",
        "csi-driver-host-path": "v1.17.1",
        "volume-data-source-validator": "v1.7.0",
        "volsync": "0.16.0",
        "volsync-upgrade-from": "0.15.0",
        "helm": "v3.19.0",
        "minio-image": "quay.io/minio/minio:RELEASE.2025-04-22T22-12-26Z",
        "agent-image": "docker.io/library/python:3.12.11-slim-bookworm",
    }


def test_volsync_versions_are_consistent(addons: Addons) -> None:
    assert addons.volsync_default in addons.volsync_allowed
    assert addons.volsync_upgrade_from in addons.volsync_allowed
    assert addons.volsync_upgrade_from != addons.volsync_default
    assert "0.11.0" in addons.volsync_allowed  # the version the user's cluster ran


def test_no_image_is_unpinned(addons: Addons) -> None:
    for key in ("minio", "agent"):
        image = str(addons.section(key)["image"])
        tag = image.rsplit(":", 1)[-1]
        assert ":" in image and tag not in ("latest", ""), image


def test_no_other_file_pins_a_different_version() -> None:
    # One place for versions: other text files must not name other snapshotter/hostpath
    # tags or VolSync chart versions.
    text = ADDONS_FILE.read_text()
    others = [
        p
        for p in [
            *ROOT.glob("restore_drill/**/*.py"),
            *ROOT.glob("clusters/*.yaml"),
            ROOT / "Makefile",
        ]
        if p != ADDONS_FILE and p.is_file()
    ]
    for path in others:
        content = path.read_text(errors="replace")
        for found in re.findall(r"external-snapshotter[^\n]*?(v\d+\.\d+\.\d+)", content):
            assert found in text, f"{path} pins external-snapshotter {found}"
        for found in re.findall(r"kindest/node:(v\d+\.\d+\.\d+)", content):
            assert found in text, f"{path} pins kindest/node {found}"


def test_node_image_uses_digest_when_given(addons: Addons) -> None:
    k8s = addons.section("kubernetes")
    spec = {**addons.spec, "kubernetes": {**k8s, "node_image_digest": "sha256:ab"}}
    assert Addons(spec).node_image == "kindest/node:v1.33.7@sha256:ab"
    bare = {key: value for key, value in k8s.items() if not key.startswith("node_image_")}
    assert Addons({**addons.spec, "kubernetes": bare}).node_image == "kindest/node:v1.33.1"


def test_pulled_node_image_is_kinds_own_for_the_built_minor_by_digest(addons: Addons) -> None:
    """kind supports the node images its release lists, and only by digest."""
    k8s = addons.section("kubernetes")
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", k8s["node_image_digest"])
    minor = lambda version: version.split(".")[:2]  # noqa: E731
    assert minor(k8s["node_image_tag"]) == minor(addons.kubernetes_version)


def test_unpinned_volsync_version_is_refused(addons: Addons) -> None:
    with pytest.raises(UsageError, match="not pinned"):
        addons.check_volsync_version("0.99.0")
    with pytest.raises(UsageError):
        helm_volsync_argv(addons, KUBECONFIG, "latest")


def test_load_addons_rejects_broken_files(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="cannot read"):
        load_addons(tmp_path / "missing.yaml")
    (tmp_path / "list.yaml").write_text("- a\n")
    with pytest.raises(UsageError, match="mapping"):
        load_addons(tmp_path / "list.yaml")
    (tmp_path / "empty.yaml").write_text("schema: 1\n")
    with pytest.raises(UsageError, match="missing section 'volsync'"):
        _ = load_addons(tmp_path / "empty.yaml").volsync_default


def test_snapshotter_argv(addons: Addons) -> None:
    crds, controller = snapshotter_argv(addons, KUBECONFIG)
    assert crds == [
        "kubectl",
        "--kubeconfig",
        str(KUBECONFIG),
        "apply",
        "--server-side",
        "--field-manager=restore-drill",
        "--force-conflicts",
        "-k",
        "https://github.com/kubernetes-csi/external-snapshotter/client/config/crd?ref=v8.4.0",
    ]
    assert controller[-2:] == [
        "kustomize",
        "https://github.com/kubernetes-csi/external-snapshotter/deploy/kubernetes/snapshot-controller?ref=v8.4.0",
    ]


def _controller(args: list[str]) -> dict[str, Any]:
    return {
        "kind": "Deployment",
        "metadata": {"name": "snapshot-controller"},
        "spec": {"template": {"spec": {"containers": [
            {"name": "snapshot-controller", "args": args},
            {"name": "sidecar", "args": ["--retry-interval-max=1m"]},
        ]}}},
    }  # fmt: skip


def test_controller_args_replace_upstreams_value_of_the_same_flag(addons: Addons) -> None:
    upstream = ["--v=5", "--leader-election=true", "--retry-interval-max=5m"]
    objects = with_controller_args([{"kind": "ServiceAccount"}, _controller(upstream)], addons)
    containers = objects[1]["spec"]["template"]["spec"]["containers"]
    assert containers[0]["args"] == ["--v=5", "--leader-election=true", "--retry-interval-max=5s"]
    assert containers[1]["args"] == ["--retry-interval-max=1m"]  # not the controller


def test_controller_args_without_the_controller_are_refused(addons: Addons) -> None:
    with pytest.raises(UsageError, match="no container 'snapshot-controller'"):
        with_controller_args([{"kind": "Deployment", "metadata": {"name": "other"}}], addons)
    assert with_controller_args([], addons) == []  # a dry run renders nothing


def test_data_source_validator_argv_uses_raw_urls_at_the_tag(addons: Addons) -> None:
    argvs = data_source_validator_argv(addons, KUBECONFIG)
    assert len(argvs) == 3
    for argv in argvs:
        assert argv[-1].startswith(
            "https://raw.githubusercontent.com/kubernetes-csi/volume-data-source-validator/v1.7.0/"
        )
    disabled = {**addons.spec, "data_source_validator": {"enabled": False}}
    assert data_source_validator_argv(Addons(disabled), KUBECONFIG) == []


def test_csi_hostpath_argv(addons: Addons, tmp_path: Path) -> None:
    assert csi_hostpath_clone_argv(addons, tmp_path / "hp") == [
        "git",
        "clone",
        "--depth",
        "1",
        "--branch",
        "v1.17.1",
        "https://github.com/kubernetes-csi/csi-driver-host-path",
        str(tmp_path / "hp"),
    ]
    assert csi_hostpath_deploy_argv(addons, tmp_path) == [
        str(tmp_path / "deploy/kubernetes-latest/deploy.sh")
    ]


def test_helm_argv(addons: Addons) -> None:
    assert helm_repo_argv(addons) == [
        [
            "helm",
            "repo",
            "add",
            "--force-update",
            "backube",
            "https://backube.github.io/helm-charts/",
        ],
        ["helm", "repo", "update", "backube"],
    ]
    assert helm_volsync_argv(addons, KUBECONFIG, "0.15.0") == [
        "helm",
        "upgrade",
        "--install",
        "volsync",
        "backube/volsync",
        "--version",
        "0.15.0",
        "--namespace",
        "volsync-system",
        "--create-namespace",
        "--timeout",
        "10m",
        "--kubeconfig",
        str(KUBECONFIG),
    ]


def test_helm_env_keeps_helm_state_in_the_run_dir(tmp_path: Path) -> None:
    env = helm_env(tmp_path, KUBECONFIG)
    assert env["KUBECONFIG"] == str(KUBECONFIG)
    for key, value in env.items():
        if key.startswith("HELM_"):
            assert value.startswith(str(tmp_path)), key


def test_storage_and_snapshot_class_manifests(addons: Addons) -> None:
    sc = storage_class_manifest(addons)
    assert sc["metadata"]["name"] == "csi-hostpath-sc"
    assert sc["metadata"]["annotations"] == {"storageclass.kubernetes.io/is-default-class": "true"}
    assert (sc["provisioner"], sc["reclaimPolicy"], sc["volumeBindingMode"]) == (
        "hostpath.csi.k8s.io",
        "Delete",
        "Immediate",
    )
    assert sc["allowVolumeExpansion"] is True
    vsc = snapshot_class_manifest(addons)
    assert vsc["metadata"]["name"] == "csi-hostpath-snapclass"
    assert vsc["metadata"]["annotations"] == {
        "snapshot.storage.kubernetes.io/is-default-class": "true"
    }
    assert vsc["driver"] == "hostpath.csi.k8s.io" and vsc["deletionPolicy"] == "Delete"


def cond(kind: str, status: str) -> dict[str, Any]:
    return {"status": {"conditions": [{"type": kind, "status": status}]}}


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        (None, False),
        ({}, False),
        (cond("Established", "False"), False),
        (cond("Established", "True"), True),
    ],
)
def test_crd_established(obj: Any, expected: bool) -> None:
    assert crd_established(obj) is expected


ROLLED_OUT = {"replicas": 1, "updatedReplicas": 1, "availableReplicas": 1}


def test_deployment_available_needs_the_current_generation() -> None:
    ready = {"metadata": {"generation": 2}, **cond("Available", "True")}
    ready["status"].update(observedGeneration=2, **ROLLED_OUT)
    assert deployment_available(ready)
    stale = {"metadata": {"generation": 3}, **cond("Available", "True")}
    stale["status"]["observedGeneration"] = 2
    assert not deployment_available(stale)
    assert not deployment_available(None)
    assert not deployment_available({"metadata": {}, **cond("Available", "False")})


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (ROLLED_OUT, True),
        # An upgrade: the old pod still Available, the new one not ready yet.
        ({"replicas": 2, "updatedReplicas": 1, "availableReplicas": 1}, False),
        # The new pod ready, the old one still terminating.
        ({"replicas": 2, "updatedReplicas": 1, "availableReplicas": 2}, False),
        # Not yet updated at all.
        ({"replicas": 1, "updatedReplicas": 0, "availableReplicas": 1}, False),
        ({}, False),
    ],
)
def test_deployment_available_waits_for_the_rollout(status: dict[str, int], expected: bool) -> None:
    obj = {"metadata": {"generation": 1}, "spec": {"replicas": 1}, **cond("Available", "True")}
    obj["status"].update(observedGeneration=1, **status)
    assert deployment_available(obj) is expected


def test_statefulset_ready() -> None:
    assert statefulset_ready(
        {"spec": {"replicas": 1}, "status": {"readyReplicas": 1, "updatedReplicas": 1}}
    )
    assert not statefulset_ready({"spec": {"replicas": 1}, "status": {"readyReplicas": 0}})
    assert not statefulset_ready(None)


def test_run_command_runs_argv_with_the_environment(tmp_path: Path) -> None:
    done = run_command(
        [sys.executable, "-c", "import os; print(os.environ['DRILL_X'], os.environ['PATH'] != '')"],
        env={"DRILL_X": "seen"},
        cwd=tmp_path,
    )
    assert done.stdout.split() == ["seen", "True"]


def test_run_command_failure_names_the_tool_and_hides_secrets() -> None:
    with pytest.raises(CommandFailed) as caught:
        run_command(
            [sys.executable, "-c", "import sys; sys.stderr.write('bad s3cr3t'); sys.exit(3)"],
            secrets=["s3cr3t"],
        )
    assert caught.value.exit_code == 3
    assert "s3cr3t" not in str(caught.value) and "***" in str(caught.value)


def test_run_command_timeout_and_missing_tool() -> None:
    with pytest.raises(CommandFailed, match="timeout"):
        run_command([sys.executable, "-c", "import time; time.sleep(5)"], timeout=0.3)
    with pytest.raises(BackendUnavailable, match="not installed"):
        run_command(["restore-drill-no-such-tool"])


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is gone in all but name: its parent has not reaped it yet.
    return "State:\tZ" not in Path(f"/proc/{pid}/status").read_text()


@pytest.mark.parametrize("stop", ["timeout", "signal"])
def test_what_a_tool_started_ends_with_it(tmp_path: Path, stop: str) -> None:
    """A tool's own children (kind's docker calls, a shell's jobs) do not outlive it."""
    pidfile = tmp_path / "grandchild"
    script = f"sleep 300 & echo $! > {pidfile}; wait"
    if stop == "timeout":
        with pytest.raises(CommandFailed, match="timeout"):
            run_command(["sh", "-c", script], timeout=1)
    else:
        # As at a terminal: a run started in the background may inherit SIGINT ignored.
        previous = signal.signal(signal.SIGINT, signal.default_int_handler)
        timer = threading.Timer(1.0, lambda: signal.pthread_kill(main_thread, signal.SIGINT))
        main_thread = threading.main_thread().ident or 0
        timer.start()
        try:
            with pytest.raises(KeyboardInterrupt):
                run_command(["sh", "-c", script], timeout=30)
        finally:
            signal.signal(signal.SIGINT, previous)
    grandchild = int(pidfile.read_text())
    deadline = time.monotonic() + 5
    while alive(grandchild) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(grandchild), "the tool's child outlived it"


def test_run_command_keeps_the_whole_output_of_a_failure_or_a_timeout(tmp_path: Path) -> None:
    log = tmp_path / "addons" / "deploy.log"
    script = "import sys; print('waiting for pods s3cr3t', flush=True); sys.exit(4)"
    with pytest.raises(CommandFailed, match=f"output: {log}"):
        run_command([sys.executable, "-c", script], secrets=["s3cr3t"], log_path=log)
    assert "waiting for pods ***" in log.read_text()
    slow = "import time; print('still waiting', flush=True); time.sleep(5)"
    with pytest.raises(CommandFailed, match=f"timeout.*output: {log}"):
        run_command([sys.executable, "-c", slow], timeout=1, log_path=log)
    assert "still waiting" in log.read_text()


def test_csi_deploy_script_gets_more_time_than_its_own_waits(
    addons: Addons, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(
        addons_module,
        "run_command",
        lambda argv, **kw: calls.append(kw) or subprocess.CompletedProcess(argv, 0, "", ""),
    )
    monkeypatch.setattr(addons_module.Readiness, "wait", lambda self, kube, timeout: None)
    AddonInstaller(addons, KUBECONFIG, tmp_path).install_csi_hostpath(kube=None)  # type: ignore[arg-type]
    deploy = calls[-1]
    assert deploy["timeout"] > 310  # deploy.sh's own waits add up to about 310 s
    assert deploy["log_path"] == tmp_path / "addons" / "csi-hostpath-deploy.log"


def test_installer_runs_commands_in_order(
    addons: Addons, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ran: list[list[str]] = []
    applied: list[str] = []
    rendered = yaml.safe_dump(_controller(["--v=5"]))

    def run(argv: list[str], stdin: str | None = None, **kw: Any) -> Any:
        ran.append(list(argv))
        applied.append(stdin or "")
        out = rendered if "kustomize" in argv else ""
        return subprocess.CompletedProcess(argv, 0, out, "")

    monkeypatch.setattr(addons_module, "run_command", run)
    waited: list[str] = []
    monkeypatch.setattr(
        addons_module.Readiness, "wait", lambda self, kube, timeout: waited.append(self.what)
    )
    installer = AddonInstaller(addons, KUBECONFIG, tmp_path)
    installer.install_snapshotter(kube=None)  # type: ignore[arg-type]
    installer.install_volsync(kube=None, version="0.16.0")  # type: ignore[arg-type]
    assert [argv[0] for argv in ran] == ["kubectl", "kubectl", "kubectl", "helm", "helm", "helm"]
    assert ran[1][-2] == "kustomize" and ran[2][-2:] == ["-f", "-"]
    controller = yaml.safe_load(applied[2])["spec"]["template"]["spec"]["containers"][0]
    assert controller["args"] == ["--v=5", "--retry-interval-max=5s"]
    assert waited[:3] == [f"CRD {n} Established" for n in addons.section("snapshotter")["crds"]]
    assert "kube-system/snapshot-controller Available" in waited
    assert waited[-1] == "VolSync volsync-system/volsync Available"


def _shell_true_calls(path: Path) -> list[int]:
    tree = ast.parse(path.read_text(), filename=str(path))
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        for kw in node.keywords
        if kw.arg == "shell"
        and not (isinstance(kw.value, ast.Constant) and kw.value.value is False)
    ]


def test_no_shell_true_anywhere_in_the_package() -> None:
    offenders = {
        str(p.relative_to(ROOT)): lines
        for p in (ROOT / "restore_drill").rglob("*.py")
        if (lines := _shell_true_calls(p))
    }
    assert offenders == {}


def test_the_shell_check_catches_shell_true(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("import subprocess\nsubprocess.run('ls', shell=True)\n")
    assert _shell_true_calls(bad) == [2]


def test_addons_file_is_plain_yaml() -> None:
    assert yaml.safe_load(ADDONS_FILE.read_text())["schema"] == 1

"""restore_drill.clusters.kind: config, argv, and behaviour without a Docker engine."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from restore_drill.addons import KIND_CONFIG_FILE, load_addons
from restore_drill.clusters import kind as kind_module
from restore_drill.clusters.kind import (
    KindCluster,
    docker_engine_answers,
    kind_create_argv,
    kind_delete_argv,
    kind_export_kubeconfig_argv,
    kind_export_logs_argv,
    render_kind_config,
    validate_cluster_name,
)
from restore_drill.errors import BackendUnavailable, RefusedDestructiveAction, UsageError


class NoStore:
    """The kind backend never touches the object store while creating the cluster."""


class StoreWithKeys:
    class credentials:  # stands in for an S3Credentials instance
        access_key = "AKIAKEY"
        secret_key = "s3cr3t"


def make(tmp_path: Path, **kwargs: Any) -> KindCluster:
    kwargs.setdefault("images", "pulled")  # what `auto` picks depends on this machine
    return KindCluster("drill-test", tmp_path, NoStore(), **kwargs)  # type: ignore[arg-type]


def test_rendered_config_is_one_control_plane_named_after_the_cluster() -> None:
    config = render_kind_config(load_addons(), "drill-x")
    assert config["kind"] == "Cluster"
    assert config["apiVersion"] == "kind.x-k8s.io/v1alpha4"
    assert config["name"] == "drill-x"
    assert [node["role"] for node in config["nodes"]] == ["control-plane"]
    assert config["networking"]["apiServerAddress"] == "127.0.0.1"
    # The image is passed on the command line from addons.yaml, never pinned here.
    assert "image" not in config["nodes"][0]
    assert "kindest/node" not in KIND_CONFIG_FILE.read_text().split("image is NOT set")[1]


def test_kind_argv(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    assert kind_create_argv("c", tmp_path / "kind.yaml", "kindest/node:v1.33.1", kubeconfig) == [
        "kind",
        "create",
        "cluster",
        "--name",
        "c",
        "--config",
        str(tmp_path / "kind.yaml"),
        "--image",
        "kindest/node:v1.33.1",
        "--kubeconfig",
        str(kubeconfig),
        "--wait",
        "180s",
    ]
    assert kind_delete_argv("c", kubeconfig) == [
        "kind",
        "delete",
        "cluster",
        "--name",
        "c",
        "--kubeconfig",
        str(kubeconfig),
    ]
    assert kind_export_kubeconfig_argv("c", kubeconfig)[:3] == ["kind", "export", "kubeconfig"]
    assert kind_export_logs_argv("c", tmp_path / "logs") == [
        "kind",
        "export",
        "logs",
        str(tmp_path / "logs"),
        "--name",
        "c",
    ]


def test_kubeconfig_lives_in_the_run_dir(tmp_path: Path) -> None:
    assert make(tmp_path).kubeconfig == tmp_path / "kubeconfig"


def test_docker_engine_answers_reports_why_not(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kind_module.shutil, "which", lambda _: "/usr/bin/docker")
    monkeypatch.setattr(
        kind_module.subprocess,
        "run",
        lambda argv, **kw: subprocess.CompletedProcess(
            argv, 1, "", "Cannot connect to the Docker daemon\n"
        ),
    )
    assert docker_engine_answers() == (
        False,
        "no Docker engine answers (Cannot connect to the Docker daemon)",
    )
    monkeypatch.setattr(
        kind_module.subprocess,
        "run",
        lambda argv, **kw: subprocess.CompletedProcess(argv, 0, "28.2.2\n", ""),
    )
    assert docker_engine_answers() == (True, "Docker engine 28.2.2")


def test_docker_engine_answers_without_a_cli_or_in_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kind_module.shutil, "which", lambda _: None)
    assert docker_engine_answers() == (False, "the docker CLI is not installed")

    def hang(argv: list[str], **kw: Any) -> None:
        raise subprocess.TimeoutExpired(argv, kw["timeout"])

    monkeypatch.setattr(kind_module.shutil, "which", lambda _: "/usr/bin/docker")
    monkeypatch.setattr(kind_module.subprocess, "run", hang)
    answers, why = docker_engine_answers(timeout=2)
    assert not answers and "did not answer within 2s" in why


def test_create_without_docker_fails_with_one_clear_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        kind_module, "docker_engine_answers", lambda: (False, "no Docker engine answers (x)")
    )
    with pytest.raises(BackendUnavailable) as caught:
        make(tmp_path).create()
    message = str(caught.value)
    assert "\n" not in message
    assert "no Docker engine answers" in message and "make setup" in message


def test_create_without_kind_on_path_names_the_missing_tools(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(kind_module, "docker_engine_answers", lambda: (True, "Docker engine 28"))
    monkeypatch.setattr(
        kind_module, "missing_tools", lambda names: [t for t in names if t in ("kind", "helm")]
    )
    with pytest.raises(BackendUnavailable, match=r"kind, helm not found.*v0\.31\.0"):
        make(tmp_path).create()


def fake_tools(monkeypatch: pytest.MonkeyPatch, existing: str) -> list[list[str]]:
    ran: list[list[str]] = []

    def run(argv: list[str], **kw: Any) -> subprocess.CompletedProcess[str]:
        ran.append(list(argv))
        if argv[:3] == ["kind", "get", "clusters"]:
            return subprocess.CompletedProcess(argv, 0, existing, "")
        if argv[:3] in (["kind", "create", "cluster"], ["kind", "export", "kubeconfig"]):
            Path(argv[argv.index("--kubeconfig") + 1]).write_text("apiVersion: v1\n")
        return subprocess.CompletedProcess(argv, 0, "", "")

    monkeypatch.setattr(KindCluster, "ensure_available", lambda self: None)
    monkeypatch.setattr(kind_module, "run_command", run)
    return ran


def test_create_new_cluster_claims_it_and_delete_removes_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ran = fake_tools(monkeypatch, existing="other\n")
    cluster = make(tmp_path, install_addons=False)
    cluster.create()
    assert cluster.created_by_this_run
    assert ran[1][:3] == ["kind", "create", "cluster"]
    assert (tmp_path / "kind.yaml").is_file()
    assert oct(cluster.kubeconfig.stat().st_mode & 0o777) == "0o600"
    cluster.delete()
    assert ran[-1][:3] == ["kind", "delete", "cluster"]
    assert not cluster.created_by_this_run


def test_existing_cluster_is_reused_but_never_claimed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ran = fake_tools(monkeypatch, existing="drill-test\nother\n")
    cluster = make(tmp_path, install_addons=False)
    cluster.create()
    assert not cluster.created_by_this_run
    assert ran[1][:3] == ["kind", "export", "kubeconfig"]
    with pytest.raises(RefusedDestructiveAction):
        cluster.delete()
    with pytest.raises(RefusedDestructiveAction):
        cluster.rebuild()
    assert not any(argv[:2] == ["kind", "delete"] for argv in ran)


def test_unpinned_volsync_version_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="not pinned"):
        make(tmp_path, volsync_version="9.9.9")
    with pytest.raises(UsageError):
        make(tmp_path).install_volsync("9.9.9")


def test_versions_include_every_pin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cluster = make(tmp_path, volsync_version="0.15.0")
    monkeypatch.setattr(KindCluster, "server_version", lambda self: "v1.33.1")
    versions = cluster.versions()
    assert versions["volsync"] == "0.15.0"
    assert versions["kubernetes-server"] == "v1.33.1"
    assert versions["external-snapshotter"] == "v8.4.0"


def test_bundle_records_a_failed_log_export(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from restore_drill.errors import CommandFailed

    def fail(argv: list[str], **kw: Any) -> None:
        raise CommandFailed("kind exited 1", program="kind", exit_code=1)

    written: list[list[str]] = []
    monkeypatch.setattr(kind_module, "run_command", fail)
    monkeypatch.setattr(
        kind_module, "write_bundle", lambda kube, dest, ns, secrets: written.append(secrets)
    )
    monkeypatch.setattr(KindCluster, "kube", lambda self: None)
    cluster = KindCluster("drill-test", tmp_path, StoreWithKeys())  # type: ignore[arg-type]
    cluster.collect_bundle(tmp_path / "bundle", ["drill"])
    assert written == [["AKIAKEY", "s3cr3t"]]  # the store's keys are scrubbed from the bundle
    assert "kind export logs: kind exited 1" in (tmp_path / "bundle/errors.txt").read_text()


@pytest.mark.parametrize("name", ["drill-a", "a.b-1", "x" * 49])
def test_cluster_names_kind_accepts(name: str) -> None:
    assert validate_cluster_name(name) == name


@pytest.mark.parametrize("name", ["drill-with_ev0", "Drill", "a b", "", "x" * 50])
def test_cluster_names_kind_refuses_are_refused_with_the_rule(name: str) -> None:
    with pytest.raises(UsageError, match="lower-case letters, digits"):
        validate_cluster_name(name)


class StubItem:
    def __init__(self, kind: bool) -> None:
        self.kind = kind
        self.markers: list[pytest.MarkDecorator] = []

    def get_closest_marker(self, name: str) -> object | None:
        return object() if name == "kind" and self.kind else None

    def add_marker(self, marker: pytest.MarkDecorator) -> None:
        self.markers.append(marker)


def test_conftest_skips_only_kind_marked_tests_with_the_reason(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tests import conftest

    monkeypatch.setattr(conftest, "_kind_unavailable", lambda: "no Docker engine answers (x)")
    kind_test, plain_test = StubItem(kind=True), StubItem(kind=False)
    conftest.pytest_collection_modifyitems(None, [kind_test, plain_test])  # type: ignore[arg-type]
    assert plain_test.markers == []
    (marker,) = kind_test.markers
    assert marker.name == "skip"
    assert marker.kwargs["reason"] == "needs kind: no Docker engine answers (x)"

    monkeypatch.setattr(conftest, "_kind_unavailable", lambda: None)
    runnable = StubItem(kind=True)
    conftest.pytest_collection_modifyitems(None, [runnable])  # type: ignore[arg-type]
    assert runnable.markers == []

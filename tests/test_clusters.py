"""restore_drill.clusters: choosing a backend and building it."""

from __future__ import annotations

from pathlib import Path

import pytest

from restore_drill.clusters import choose_backend, make_cluster
from restore_drill.clusters import kind as kind_module
from restore_drill.clusters.existing import ExistingCluster
from restore_drill.clusters.kind import KindCluster
from restore_drill.errors import BackendUnavailable, UsageError
from restore_drill.images import tools


def engine(monkeypatch: pytest.MonkeyPatch, answers: bool, kind_path: str = "") -> None:
    why = "Docker engine 28.2.2" if answers else "no Docker engine answers (refused)"
    monkeypatch.setattr(kind_module, "docker_engine_answers", lambda: (answers, why))
    monkeypatch.setattr(tools, "tool", lambda name: kind_path or name)


def test_auto_is_kind_when_a_docker_engine_answers(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    kind = tmp_path / "kind"
    kind.write_text("")
    engine(monkeypatch, True, str(kind))
    backend, reason = choose_backend("auto")
    assert backend == "kind" and "Docker engine 28.2.2" in reason and str(kind) in reason


def test_auto_without_docker_is_an_error_that_says_how_to_get_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    engine(monkeypatch, False)
    with pytest.raises(BackendUnavailable, match=r"no Docker engine answers.*make setup"):
        choose_backend("auto")
    with pytest.raises(BackendUnavailable, match=r"^auto \(CI\)"):
        choose_backend("auto", ci=True)


def test_auto_without_kind_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    engine(monkeypatch, True, kind_path="")
    with pytest.raises(BackendUnavailable, match="kind is not found; run `make setup`"):
        choose_backend("auto")


def test_explicit_backend_is_taken_as_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    engine(monkeypatch, False)
    assert choose_backend("kind") == ("kind", "kind requested")
    with pytest.raises(UsageError, match="unknown cluster backend"):
        choose_backend("minikube")


def test_make_cluster_builds_each_backend(tmp_path: Path) -> None:
    kind = make_cluster("kind", tmp_path, object(), images="pulled")  # type: ignore[arg-type]
    other = make_cluster("kind", tmp_path, object(), images="pulled")  # type: ignore[arg-type]
    assert isinstance(kind, KindCluster) and kind.name.startswith("restore-drill-kind-")
    assert kind.name != other.name, "each run names its own cluster"
    kubeconfig = tmp_path / "kc"
    kubeconfig.write_text("apiVersion: v1\ncontexts: [{name: c, context: {}}]\n")
    existing = make_cluster(
        "existing",
        tmp_path,
        object(),  # type: ignore[arg-type]
        kubeconfig=kubeconfig,
        context="c",
        allow_existing=True,
    )
    assert isinstance(existing, ExistingCluster)
    with pytest.raises(UsageError):
        make_cluster("nope", tmp_path, object())  # type: ignore[arg-type]


def test_the_backend_table_names_each_backend_once() -> None:
    from restore_drill.clusters import BACKENDS
    from restore_drill.commands.doctor import PROBES

    probes = {probe().name for probe in PROBES}
    for name, spec in BACKENDS.items():
        assert spec.load().backend == name
        assert set(spec.needs) <= probes, f"{name} needs a probe doctor does not run"
        assert spec.object_store in ("minio", "external")


def test_an_existing_backend_without_an_endpoint_is_one_usage_line() -> None:
    from restore_drill.objectstore import ExternalS3

    with pytest.raises(UsageError, match="RESTORE_DRILL_S3_ENDPOINT"):
        ExternalS3.from_env({})
    store = ExternalS3.from_env(
        {
            "RESTORE_DRILL_S3_ENDPOINT": "http://127.0.0.1:9",
            "AWS_ACCESS_KEY_ID": "k",
            "AWS_SECRET_ACCESS_KEY": "s",
        }
    )
    assert store.host_endpoint == store.cluster_endpoint == "http://127.0.0.1:9"
    elsewhere = ExternalS3.from_env(
        {
            "RESTORE_DRILL_S3_ENDPOINT": "http://127.0.0.1:9",
            "RESTORE_DRILL_S3_CLUSTER_ENDPOINT": "http://nas.lan:9000",
            "AWS_ACCESS_KEY_ID": "k",
            "AWS_SECRET_ACCESS_KEY": "s",
        }
    )
    assert elsewhere.cluster_endpoint == "http://nas.lan:9000"


def test_a_rebuilt_clusters_new_kubeconfig_gets_a_new_client(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A client made from the old kubeconfig while the cluster was rebuilt (another thread
    asked for one) must not outlive the new kubeconfig: it names the old port."""
    from restore_drill.clusters import base

    class Client:
        def __init__(self, kubeconfig: Path, context: str | None) -> None:
            self.server, self.closed = kubeconfig.read_text(), False

        def close(self) -> None:
            self.closed = True

    monkeypatch.setattr(base, "Kube", Client)
    cluster = make_cluster("kind", tmp_path, object(), images="pulled")  # type: ignore[arg-type]
    cluster.kubeconfig.parent.mkdir(parents=True, exist_ok=True)
    cluster.kubeconfig.write_text("server: https://127.0.0.1:44583\n")
    old = cluster.kube()
    assert cluster.kube() is old, "one client while the kubeconfig stays"
    cluster.kubeconfig.write_text("server: https://127.0.0.1:40111\n")  # kind wrote a new one
    new = cluster.kube()
    assert new is not old and old.closed  # type: ignore[attr-defined]
    assert new.server == "server: https://127.0.0.1:40111\n"  # type: ignore[attr-defined]

"""Object stores: the local S3 server for real, MinIO's configuration without Docker."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from restore_drill.addons import load_addons
from restore_drill.errors import (
    BackendUnavailable,
    ObjectStoreError,
    RefusedDestructiveAction,
    UsageError,
)
from restore_drill.objectstore import (
    KIND_NETWORK,
    ExternalS3,
    LocalS3,
    MinioContainer,
    S3Credentials,
    endpoint_answers,
    free_port,
)
from restore_drill.objectstore import external as external_module
from restore_drill.objectstore.minio import pinned_image


@pytest.fixture(scope="module")
def store() -> Iterator[LocalS3]:
    with LocalS3() as running:
        assert isinstance(running, LocalS3)
        yield running


def test_credentials_hide_the_secret_from_repr() -> None:
    creds = S3Credentials("AKIDEXAMPLE", "very-secret-value")
    assert "very-secret-value" not in repr(creds)
    assert creds.env() == {
        "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE",
        "AWS_SECRET_ACCESS_KEY": "very-secret-value",
        "AWS_DEFAULT_REGION": "us-east-1",
    }


def test_random_credentials_differ_each_time() -> None:
    first, second = S3Credentials.random(), S3Credentials.random()
    assert first.access_key != second.access_key
    assert first.secret_key != second.secret_key
    assert len(first.secret_key) >= 30


def test_credentials_from_env_name_what_is_missing_but_no_value() -> None:
    with pytest.raises(UsageError, match="AWS_SECRET_ACCESS_KEY") as caught:
        S3Credentials.from_env({"AWS_ACCESS_KEY_ID": "visible-id"})
    assert "visible-id" not in str(caught.value)
    creds = S3Credentials.from_env(
        {"AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "b", "AWS_REGION": "eu-west-1"}
    )
    assert (creds.access_key, creds.secret_key, creds.region) == ("a", "b", "eu-west-1")


def test_local_s3_answers_on_loopback_with_its_own_credentials(store: LocalS3) -> None:
    assert store.kind == "local-s3"
    assert store.is_up()
    assert store.host_endpoint.startswith("http://127.0.0.1:")
    assert store.cluster_endpoint == store.host_endpoint
    assert store.credentials.region == "us-east-1"


def test_bucket_lifecycle_records_and_removes_only_ours(store: LocalS3) -> None:
    store.create_bucket("lifecycle")
    assert "lifecycle" in store.created_buckets
    client = store.s3_client()
    client.put_object(Bucket="lifecycle", Key="app/config", Body=b"x")
    store.delete_bucket("lifecycle")  # not empty: emptied first
    assert "lifecycle" not in store.created_buckets
    assert not store.bucket_exists("lifecycle")


def test_refuses_to_delete_or_adopt_a_bucket_it_did_not_create(store: LocalS3) -> None:
    store.s3_client().create_bucket(Bucket="someone-elses")
    with pytest.raises(RefusedDestructiveAction):
        store.delete_bucket("someone-elses")
    with pytest.raises(ObjectStoreError, match="not created by this run"):
        store.create_bucket("someone-elses")
    assert store.bucket_exists("someone-elses")


def test_repository_url_is_path_style(store: LocalS3) -> None:
    url = store.repository_url("backups", "/home-assistant/")
    assert url == f"s3:{store.host_endpoint}/backups/home-assistant"
    assert store.repository_url("backups", "", in_cluster=False) == (
        f"s3:{store.host_endpoint}/backups"
    )


def test_stop_ends_only_its_own_process_and_start_again_works() -> None:
    bystander = subprocess.Popen(["sleep", "30"])
    try:
        local = LocalS3()
        local.start()
        pid = local.pid
        assert pid is not None
        endpoint = local.host_endpoint
        local.stop()
        assert not endpoint_answers(endpoint)
        assert not local.is_up()
        assert bystander.poll() is None  # untouched
        with pytest.raises(ObjectStoreError, match="not started"):
            _ = local.host_endpoint
        local.start()
        assert local.is_up()
        assert local.pid != pid
        local.stop()
    finally:
        bystander.kill()
        bystander.wait()


def test_start_on_a_taken_port_fails_clearly() -> None:
    with LocalS3() as first:
        assert isinstance(first, LocalS3)
        second = LocalS3(port=first.port)
        with pytest.raises(ObjectStoreError, match="did not start"):
            second.start(timeout=10)
        assert second.pid is None
        assert first.is_up()


def test_free_port_is_unbound() -> None:
    port = free_port()
    assert 0 < port < 65536
    assert not endpoint_answers(f"http://127.0.0.1:{port}", timeout=0.2)


def test_minio_settings_pin_a_dated_image_and_the_kind_network() -> None:
    minio = MinioContainer(name="drill-minio")
    settings = minio.settings
    assert settings.image.startswith(("minio/minio:RELEASE.", "quay.io/minio/minio:RELEASE."))
    assert "latest" not in settings.image
    assert settings.network == KIND_NETWORK == "kind"
    assert minio.cluster_endpoint == "http://drill-minio:9000"
    assert settings.container_env()["MINIO_ROOT_USER"] == minio.credentials.access_key
    assert settings.container_env()["MINIO_ROOT_PASSWORD"] == minio.credentials.secret_key
    argv = settings.run_argv()
    assert argv[-4:] == ["server", "/data", "--address", ":9000"]
    assert argv[argv.index("--pull") + 1] == "never"
    # Keys pass by name only: never on a command line anyone can list.
    assert minio.credentials.secret_key not in " ".join(argv)
    assert "MINIO_ROOT_PASSWORD" in argv
    assert pinned_image("built").startswith("restore-drill/minio:v0.0.0-")
    assert minio.credentials.secret_key not in repr(settings)
    assert minio.kind == "minio"
    with pytest.raises(ObjectStoreError, match="not started"):
        _ = minio.host_endpoint


def test_minio_names_are_unique_per_instance() -> None:
    assert MinioContainer().settings.name != MinioContainer().settings.name


def _docker_answers() -> bool:
    from restore_drill.clusters.kind import docker_engine_answers

    return docker_engine_answers()[0]


def test_minio_without_docker_is_unavailable_not_a_crash() -> None:
    if _docker_answers():
        pytest.skip(
            "a Docker engine answers here: test_minio_container_serves_buckets runs instead"
        )
    with pytest.raises(BackendUnavailable, match="no Docker engine"):
        MinioContainer().start()


@pytest.mark.kind
def test_minio_container_serves_buckets() -> None:
    if not _docker_answers():
        pytest.skip("no Docker engine answers: MinIO needs one")
    from restore_drill.clusters.kind_offline import choose_images

    image = pinned_image(choose_images(load_addons(), "auto"))
    with MinioContainer(image=image) as minio:
        assert minio.host_endpoint.startswith("http://127.0.0.1:")
        minio.create_bucket("drill")
        # It checks keys as the user's store does: a wrong secret is refused (HEAD: a bare 403).
        wrong = ExternalS3(
            minio.host_endpoint, S3Credentials(minio.credentials.access_key, "x" * 20)
        )
        with pytest.raises(ObjectStoreError, match=r"403|SignatureDoesNotMatch|InvalidAccessKeyId"):
            wrong.bucket_exists("drill")
        with pytest.raises(UsageError, match=r"refused the keys .*SignatureDoesNotMatch"):
            wrong.start()
        assert minio.refuses_keys() == ""
        # An outage (fault drills): down, then back with the same data.
        minio.s3_client().put_object(Bucket="drill", Key="repo/config", Body=b"kept")
        minio.take_down()
        assert not minio.is_up()
        minio.bring_back()
        kept = minio.s3_client().get_object(Bucket="drill", Key="repo/config")["Body"].read()
        assert kept == b"kept"
        minio.delete_bucket("drill")


def test_a_store_the_run_did_not_start_is_never_taken_down() -> None:
    external = ExternalS3("http://127.0.0.1:9", S3Credentials("k", "s"))
    with pytest.raises(UsageError, match="cannot take down"):
        external.take_down()


def test_external_s3_never_starts_stops_or_deletes_others(store: LocalS3) -> None:
    external = ExternalS3(store.host_endpoint, store.credentials)
    external.start()
    assert external.kind == "external"
    assert external.is_up()
    store.s3_client().create_bucket(Bucket="users-bucket")
    with pytest.raises(RefusedDestructiveAction):
        external.delete_bucket("users-bucket")
    external.create_bucket("drill-scratch")
    external.delete_bucket("drill-scratch")
    external.stop()
    assert store.is_up()  # stopping the external view stops nothing
    assert external.bucket_exists("users-bucket")


def test_external_s3_rejects_bad_or_dead_endpoints(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(UsageError, match="http"):
        ExternalS3("127.0.0.1:9000", S3Credentials("a", "b"))
    dead = ExternalS3(f"http://127.0.0.1:{free_port()}", S3Credentials("a", "b"))
    assert not dead.is_up()
    monkeypatch.setattr(external_module, "TRY_PAUSE", 0.01)
    with pytest.raises(UsageError, match=r"does not answer .*tried 3 times"):
        dead.start()
    split = ExternalS3(
        "http://127.0.0.1:1", S3Credentials("a", "b"), cluster_endpoint="http://nas.example:9000"
    )
    assert split.repository_url("b", "app") == "s3:http://nas.example:9000/b/app"
    assert split.repository_url("b", "app", in_cluster=False) == "s3:http://127.0.0.1:1/b/app"


def test_minio_image_is_the_one_pinned_in_addons_yaml() -> None:
    """One place pins MinIO: clusters/addons.yaml, beside every other version."""
    from restore_drill.addons import load_addons
    from restore_drill.objectstore import MinioContainer

    pinned = load_addons().versions()["minio-image"]
    assert MinioContainer(name="pin-check").settings.image == pinned
    custom = MinioContainer(name="pin-check", image="example/minio:x")
    assert custom.settings.image == "example/minio:x"


class _Started(Exception):
    pass


@pytest.mark.parametrize(
    "networks, created",
    [("bridge\nkind-2\nmy-kind\n", True), ("bridge\nkind\n", False)],
)
def test_the_kind_network_is_matched_by_its_exact_name(
    monkeypatch: pytest.MonkeyPatch, networks: str, created: bool
) -> None:
    from restore_drill.objectstore import minio as minio_module

    ran: list[list[str]] = []

    def docker(argv: list[str], **kw: object) -> subprocess.CompletedProcess[str]:
        ran.append(list(argv))
        if argv[:2] == ["docker", "run"]:
            raise _Started
        out = networks if argv[:3] == ["docker", "network", "ls"] else ""
        return subprocess.CompletedProcess(argv, 0, out, "")

    monkeypatch.setattr(minio_module, "run_command", docker)
    store = MinioContainer()
    with pytest.raises(_Started):
        store.start()
    label = f"restore-drill.run={store.settings.name}"
    assert (["docker", "network", "create", "--label", label, "kind"] in ran) is created


def test_stores_started_at_once_make_one_network(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import threading
    import time

    from restore_drill.objectstore import minio as minio_module

    monkeypatch.setenv("RESTORE_DRILL_CACHE", str(tmp_path))
    created: list[str] = []

    def docker(argv: list[str], **kw: object) -> subprocess.CompletedProcess[str]:
        if argv[:3] == ["docker", "network", "create"]:
            time.sleep(0.1)  # Docker names no network until its create ends
            created.append(argv[-1])
        out = "\n".join(created) if argv[:3] == ["docker", "network", "ls"] else ""
        return subprocess.CompletedProcess(argv, 0, out, "")

    monkeypatch.setattr(minio_module, "run_command", docker)
    stores = [MinioContainer() for _ in range(3)]
    threads = [threading.Thread(target=store.prepare) for store in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert created == ["kind"]  # two would make every `--network kind` ambiguous
    assert sum("network" in store.started_resources() for store in stores) == 1

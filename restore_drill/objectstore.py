"""The S3 object stores restic repositories live in: a local S3 server, MinIO, or the user's.

Every store answers the same questions: where it is seen from this machine
(``host_endpoint``) and from inside the cluster (``cluster_endpoint``), which credentials
open it, and which buckets this run created (only those may be deleted).
"""

from __future__ import annotations

import abc
import logging
import os
import secrets
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

from restore_drill.errors import BackendUnavailable, ObjectStoreError, RefusedDestructiveAction

log = logging.getLogger(__name__)

DEFAULT_REGION = "us-east-1"
READY_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0
PROBE_INTERVAL = 0.05
# A dated release, not "latest": a drill must run the same MinIO tomorrow as today.
MINIO_IMAGE = "quay.io/minio/minio:RELEASE.2025-09-07T16-13-09Z"
KIND_NETWORK = "kind"
MINIO_PORT = 9000


@dataclass(frozen=True)
class S3Credentials:
    """An S3 key pair; the secret never shows in ``repr`` (and so in no log or traceback)."""

    access_key: str
    secret_key: str = field(repr=False)
    region: str = DEFAULT_REGION

    @classmethod
    def random(cls, region: str = DEFAULT_REGION) -> S3Credentials:
        """Fresh credentials for a store this run starts."""
        return cls(
            access_key="drill" + secrets.token_hex(8),
            secret_key=secrets.token_urlsafe(30),
            region=region,
        )

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> S3Credentials:
        """The usual ``AWS_*`` variables; a clear error names the missing one (never a value)."""
        source = dict(os.environ) if env is None else env
        missing = [
            name for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY") if not source.get(name)
        ]
        if missing:
            raise ObjectStoreError(f"S3 credentials missing: set {', '.join(missing)}")
        region = source.get("AWS_DEFAULT_REGION") or source.get("AWS_REGION") or DEFAULT_REGION
        return cls(source["AWS_ACCESS_KEY_ID"], source["AWS_SECRET_ACCESS_KEY"], region)

    def env(self) -> dict[str, str]:
        """The variables restic and boto3 read."""
        return {
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            "AWS_DEFAULT_REGION": self.region,
        }


def free_port(host: str = "127.0.0.1") -> int:
    """A port nobody listens on right now (bind to 0, read it, release it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def endpoint_answers(endpoint: str, timeout: float = 1.0) -> bool:
    """True when a TCP connection to the endpoint's host and port succeeds."""
    parts = urlsplit(endpoint)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", port), timeout=timeout):
            return True
    except OSError:
        return False


class ObjectStore(abc.ABC):
    """An S3 endpoint restic repositories are kept in."""

    kind: str = ""  # "local-s3" | "minio" | "external"

    def __init__(self, credentials: S3Credentials) -> None:
        self.credentials = credentials
        self.created_buckets: list[str] = []

    # --- where it is ---------------------------------------------------------------------

    @property
    @abc.abstractmethod
    def host_endpoint(self) -> str:
        """``http://127.0.0.1:PORT`` as seen from this machine."""

    @property
    def cluster_endpoint(self) -> str:
        """The endpoint as seen from inside the cluster (the host's, unless a backend differs)."""
        return self.host_endpoint

    # --- lifecycle -----------------------------------------------------------------------

    @abc.abstractmethod
    def start(self) -> None:
        """Start (or connect to) the store and return once it answers."""

    @abc.abstractmethod
    def stop(self) -> None:
        """Stop what ``start`` started, nothing else."""

    def is_up(self) -> bool:
        try:
            endpoint = self.host_endpoint
        except ObjectStoreError:
            return False
        return endpoint_answers(endpoint)

    def __enter__(self) -> ObjectStore:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # --- buckets -------------------------------------------------------------------------

    def s3_client(self) -> Any:
        """A boto3 S3 client for this store (path-style addressing, as restic uses)."""
        import boto3
        from botocore.config import Config

        return boto3.client(
            "s3",
            endpoint_url=self.host_endpoint,
            aws_access_key_id=self.credentials.access_key,
            aws_secret_access_key=self.credentials.secret_key,
            region_name=self.credentials.region,
            config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 2}),
        )

    def bucket_exists(self, name: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.s3_client().head_bucket(Bucket=name)
        except ClientError as exc:
            if str(exc.response.get("Error", {}).get("Code")) in {"404", "NoSuchBucket"}:
                return False
            raise ObjectStoreError(f"cannot look at bucket {name!r}: {_s3_reason(exc)}") from None
        return True

    def create_bucket(self, name: str) -> None:
        """Create a bucket and remember it as ours; an existing bucket is never adopted."""
        if name in self.created_buckets:
            return
        if self.bucket_exists(name):
            raise ObjectStoreError(
                f"bucket {name!r} already exists and was not created by this run"
            )
        from botocore.exceptions import ClientError

        try:
            self.s3_client().create_bucket(Bucket=name)
        except ClientError as exc:
            raise ObjectStoreError(f"cannot create bucket {name!r}: {_s3_reason(exc)}") from None
        self.created_buckets.append(name)
        log.info("created bucket %s at %s", name, self.host_endpoint)

    def delete_bucket(self, name: str) -> None:
        """Empty and delete a bucket this run created; refuse any other."""
        if name not in self.created_buckets:
            raise RefusedDestructiveAction(f"bucket {name!r} was not created by this run")
        client = self.s3_client()
        paginator = client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=name):
            keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
            if keys:
                client.delete_objects(Bucket=name, Delete={"Objects": keys})
        client.delete_bucket(Bucket=name)
        self.created_buckets.remove(name)
        log.info("deleted bucket %s", name)

    def repository_url(self, bucket: str, prefix: str, in_cluster: bool = True) -> str:
        """The restic repository URL of ``bucket/prefix`` (path style, as restic uses)."""
        endpoint = self.cluster_endpoint if in_cluster else self.host_endpoint
        path = "/".join(part.strip("/") for part in (bucket, prefix) if part.strip("/"))
        return f"s3:{endpoint.rstrip('/')}/{path}"


def _s3_reason(exc: Any) -> str:
    error = exc.response.get("Error", {})
    return f"{error.get('Code', '?')} {error.get('Message', '')}".strip()


class LocalS3(ObjectStore):
    """moto's S3 server as a child process on 127.0.0.1 (sim backend, tests).

    A separate process, so it outlives a sim cluster rebuild like the user's NAS does, and
    ``stop()`` ends exactly that process. State is in memory: a restart is an empty store.
    """

    kind = "local-s3"

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        log_path: Path | None = None,
        credentials: S3Credentials | None = None,
        python: str = sys.executable,
    ) -> None:
        super().__init__(credentials or S3Credentials.random())
        self.host = host
        self.requested_port = port
        self.port = 0
        self.log_path = log_path
        self.python = python
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def host_endpoint(self) -> str:
        if not self.port:
            raise ObjectStoreError("local S3 server is not started")
        return f"http://{self.host}:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def start(self, timeout: float = READY_TIMEOUT) -> None:
        if self._process and self._process.poll() is None:
            return
        # A port picked by bind-and-release can be taken before moto binds it: try again.
        last_error = ""
        for _attempt in range(3):
            port = self.requested_port or free_port(self.host)
            try:
                self._spawn(port, timeout)
                return
            except ObjectStoreError as exc:
                last_error = str(exc)
                if self.requested_port:
                    break
        raise ObjectStoreError(f"local S3 server did not start: {last_error}")

    def _spawn(self, port: int, timeout: float) -> None:
        if endpoint_answers(f"http://{self.host}:{port}", timeout=0.5):
            # Someone else listens there: a readiness probe would mistake them for us.
            raise ObjectStoreError(f"port {port} on {self.host} is already in use")
        argv = [self.python, "-m", "moto.server", "-H", self.host, "-p", str(port)]
        output = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL
        try:
            process = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                env={**os.environ, "AWS_DEFAULT_REGION": self.credentials.region},
                start_new_session=True,  # a Ctrl-C on the drill does not kill the store first
            )
        finally:
            if output is not subprocess.DEVNULL:
                output.close()  # type: ignore[union-attr]
        self._process = process
        self.port = port
        if self._wait_ready(process, port, timeout):
            log.info("local S3 server pid %s on %s", process.pid, self.host_endpoint)
            return
        self._end(process)
        self._process = None
        self.port = 0
        raise ObjectStoreError(f"moto did not answer on {self.host}:{port} within {timeout:.0f}s")

    def _wait_ready(self, process: subprocess.Popen[bytes], port: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                return False
            if endpoint_answers(f"http://{self.host}:{port}", timeout=0.5):
                return True
            # The pause doubles as a watch on the child: it returns at once if moto exits.
            try:
                process.wait(timeout=PROBE_INTERVAL)
            except subprocess.TimeoutExpired:
                pass
        return False

    def is_up(self) -> bool:
        return bool(self._process and self._process.poll() is None and super().is_up())

    def stop(self) -> None:
        if self._process is None:
            return
        self._end(self._process)
        log.info("local S3 server on port %s stopped", self.port)
        self._process = None
        self.port = 0
        self.created_buckets.clear()  # its memory went with it

    @staticmethod
    def _end(process: subprocess.Popen[bytes]) -> None:
        if process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=STOP_TIMEOUT)


@dataclass(frozen=True)
class MinioSettings:
    """How the MinIO container is made; plain data so it can be checked without Docker."""

    name: str
    credentials: S3Credentials
    image: str = MINIO_IMAGE
    network: str = KIND_NETWORK
    port: int = MINIO_PORT

    def container_env(self) -> dict[str, str]:
        return {
            "MINIO_ROOT_USER": self.credentials.access_key,
            "MINIO_ROOT_PASSWORD": self.credentials.secret_key,
            "MINIO_REGION": self.credentials.region,
        }

    def command(self) -> str:
        return f"server /data --address :{self.port}"


class MinioContainer(ObjectStore):
    """MinIO in a Docker container on the ``kind`` network (kind backend).

    Outside the cluster, so it survives a cluster rebuild; kind nodes reach it by container
    name (``cluster_endpoint``), this machine through the mapped port (``host_endpoint``).
    """

    kind = "minio"

    def __init__(
        self,
        *,
        name: str | None = None,
        credentials: S3Credentials | None = None,
        image: str = MINIO_IMAGE,
        network: str = KIND_NETWORK,
    ) -> None:
        super().__init__(credentials or S3Credentials.random())
        self.settings = MinioSettings(
            name=name or f"restore-drill-minio-{secrets.token_hex(4)}",
            credentials=self.credentials,
            image=image,
            network=network,
        )
        self._container: Any = None
        self._created_network: Any = None
        self._host_port = 0

    @property
    def host_endpoint(self) -> str:
        if not self._host_port:
            raise ObjectStoreError("MinIO container is not started")
        return f"http://127.0.0.1:{self._host_port}"

    @property
    def cluster_endpoint(self) -> str:
        return f"http://{self.settings.name}:{self.settings.port}"

    def start(self) -> None:
        if self._container is not None:
            return
        try:
            import docker
            from testcontainers.community.minio import MinioContainer as TcMinio

            client = docker.from_env()
            client.ping()
        except Exception as exc:  # docker-py raises several unrelated types when no engine
            raise BackendUnavailable(f"no Docker engine answers: {type(exc).__name__}") from None
        if not client.networks.list(names=[self.settings.network]):
            # kind adopts an existing "kind" network; we remove it later only if we made it.
            self._created_network = client.networks.create(self.settings.network, driver="bridge")
        settings = self.settings
        container = TcMinio(
            image=settings.image,
            port=settings.port,
            access_key=settings.credentials.access_key,
            secret_key=settings.credentials.secret_key,
        )
        for key, value in settings.container_env().items():
            container.with_env(key, value)
        container.with_name(settings.name).with_kwargs(network=settings.network)
        container.start()
        self._container = container
        self._host_port = int(container.get_exposed_port(settings.port))
        log.info("MinIO %s on %s (cluster: %s)", settings.name, self.host_endpoint,
                 self.cluster_endpoint)

    def stop(self) -> None:
        if self._container is not None:
            self._container.stop()
            self._container = None
            self._host_port = 0
        if self._created_network is not None:
            try:
                self._created_network.remove()
            except Exception as exc:  # still used by kind nodes: leave it to kind
                log.info("network %s left in place: %s", self.settings.network, exc)
            self._created_network = None


class ExternalS3(ObjectStore):
    """An S3 endpoint the user runs (RustFS, MinIO, AWS): never started, never stopped."""

    kind = "external"

    def __init__(
        self,
        endpoint: str,
        credentials: S3Credentials,
        *,
        cluster_endpoint: str | None = None,
    ) -> None:
        super().__init__(credentials)
        if not endpoint.startswith(("http://", "https://")):
            raise ObjectStoreError(f"endpoint must start with http:// or https://: {endpoint!r}")
        self._endpoint = endpoint.rstrip("/")
        self._cluster_endpoint = (cluster_endpoint or endpoint).rstrip("/")

    @property
    def host_endpoint(self) -> str:
        return self._endpoint

    @property
    def cluster_endpoint(self) -> str:
        return self._cluster_endpoint

    def start(self) -> None:
        if not self.is_up():
            raise ObjectStoreError(f"S3 endpoint {self._endpoint} does not answer")

    def stop(self) -> None:
        """Nothing to stop: the store belongs to the user."""

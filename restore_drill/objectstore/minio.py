"""MinIO in a Docker container on the kind network: the kind backend's object store."""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass, field
from typing import Any

from restore_drill.addons import load_addons
from restore_drill.errors import BackendUnavailable, ObjectStoreError
from restore_drill.objectstore.base import (
    ObjectStore,
    S3Credentials,
)

log = logging.getLogger(__name__)




def _pinned_image() -> str:
    # A dated release, not "latest", pinned once in clusters/addons.yaml with every other pin.
    return load_addons().versions()["minio-image"]

KIND_NETWORK = "kind"
MINIO_PORT = 9000


@dataclass(frozen=True)
class MinioSettings:
    """How the MinIO container is made; plain data so it can be checked without Docker."""

    name: str
    credentials: S3Credentials
    image: str = field(default_factory=_pinned_image)
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
        image: str | None = None,
        network: str = KIND_NETWORK,
    ) -> None:
        super().__init__(credentials or S3Credentials.random())
        self.settings = MinioSettings(
            name=name or f"restore-drill-minio-{secrets.token_hex(4)}",
            credentials=self.credentials,
            image=image or _pinned_image(),
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

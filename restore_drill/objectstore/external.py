"""The user's own S3 endpoint (RustFS, MinIO, AWS): used, never started or stopped."""

from __future__ import annotations

import logging

from restore_drill.errors import ObjectStoreError
from restore_drill.objectstore.base import (
    ObjectStore,
    S3Credentials,
)

log = logging.getLogger(__name__)


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

"""The user's own S3 endpoint (RustFS, MinIO, AWS): used, never started or stopped."""

from __future__ import annotations

import logging
import os
import time

from restore_drill.errors import UsageError
from restore_drill.objectstore.base import (
    ObjectStore,
    S3Credentials,
)

log = logging.getLogger(__name__)

ENDPOINT_VARIABLE = "RESTORE_DRILL_S3_ENDPOINT"
# Where the cluster's movers reach the same store, when that differs (a NAS known by
# another name inside the cluster); the endpoint above otherwise.
CLUSTER_ENDPOINT_VARIABLE = "RESTORE_DRILL_S3_CLUSTER_ENDPOINT"
ANSWER_TRIES = 3
TRY_PAUSE = 1.0


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
            raise UsageError(f"endpoint must start with http:// or https://: {endpoint!r}")
        self._endpoint = endpoint.rstrip("/")
        self._cluster_endpoint = (cluster_endpoint or endpoint).rstrip("/")

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> ExternalS3:
        """The endpoint in ``RESTORE_DRILL_S3_ENDPOINT``, with the keys ``S3Credentials``
        reads from the environment."""
        env = dict(os.environ if env is None else env)
        endpoint = env.get(ENDPOINT_VARIABLE, "")
        if not endpoint:
            raise UsageError(f"--cluster existing needs an S3 endpoint ({ENDPOINT_VARIABLE})")
        cluster_endpoint = env.get(CLUSTER_ENDPOINT_VARIABLE) or None
        return cls(endpoint, S3Credentials.from_env(env), cluster_endpoint=cluster_endpoint)

    @property
    def host_endpoint(self) -> str:
        return self._endpoint

    @property
    def cluster_endpoint(self) -> str:
        return self._cluster_endpoint

    def start(self) -> None:
        """Check, before anything is made, that the endpoint answers (a few tries) and
        takes the keys; either failing is the user's input, said in one line."""
        for attempt in range(ANSWER_TRIES):
            if self.is_up():
                break
            if attempt + 1 < ANSWER_TRIES:
                time.sleep(TRY_PAUSE)  # a TCP connect has nothing to watch
        else:
            raise UsageError(
                f"S3 endpoint {self._endpoint} does not answer ({ENDPOINT_VARIABLE}; "
                f"tried {ANSWER_TRIES} times over {TRY_PAUSE * (ANSWER_TRIES - 1):g}s)"
            )
        refused = self.refuses_keys()
        if refused:
            raise UsageError(
                f"S3 endpoint {self._endpoint} refused the keys in AWS_ACCESS_KEY_ID / "
                f"AWS_SECRET_ACCESS_KEY ({refused})"
            )

    def stop(self) -> None:
        """Nothing to stop: the store belongs to the user."""

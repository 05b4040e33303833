"""The S3 object stores restic repositories live in: MinIO, the user's, or a local S3 server
for tests.

Every store answers the same questions: where it is seen from this machine
(``host_endpoint``) and from inside the cluster (``cluster_endpoint``), which credentials
open it, and which buckets this run created (only those may be deleted).
"""

from __future__ import annotations

from restore_drill.objectstore.base import (
    DEFAULT_REGION,
    ObjectStore,
    S3Credentials,
    endpoint_answers,
    free_port,
)
from restore_drill.objectstore.external import ExternalS3
from restore_drill.objectstore.local import LocalS3
from restore_drill.objectstore.minio import KIND_NETWORK, MinioContainer, MinioSettings

__all__ = [
    "DEFAULT_REGION",
    "KIND_NETWORK",
    "ExternalS3",
    "LocalS3",
    "MinioContainer",
    "MinioSettings",
    "ObjectStore",
    "S3Credentials",
    "endpoint_answers",
    "free_port",
]

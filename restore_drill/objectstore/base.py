"""The object-store contract and the S3 credentials every store hands out."""

from __future__ import annotations

import abc
import logging
import os
import secrets
import socket
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

from restore_drill.errors import ObjectStoreError, RefusedDestructiveAction, UsageError

log = logging.getLogger(__name__)


DEFAULT_REGION = "us-east-1"
WRONG_KEY_CODES = frozenset({"InvalidAccessKeyId", "SignatureDoesNotMatch"})


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
            raise UsageError(f"S3 credentials missing: set {', '.join(missing)}")
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

    # Whether ``start`` may run beside the cluster's creation (after ``prepare``): a store
    # the user runs is checked to answer before any cluster is touched.
    starts_beside_cluster = False

    def prepare(self) -> None:  # noqa: B027 - most stores need nothing made first
        """Make what must exist before the cluster is created (e.g. a Docker network the
        cluster joins); ``start`` may then run beside the cluster's creation."""

    @abc.abstractmethod
    def start(self) -> None:
        """Start (or connect to) the store and return once it answers."""

    @abc.abstractmethod
    def stop(self) -> None:
        """Stop what ``start`` started, nothing else."""

    def started_resources(self) -> dict[str, str]:
        """What ``start`` made (or, once ``prepare`` has run, is making) that outlives this
        process if it is killed (e.g. a container), as ``restore-drill clean`` names it;
        empty for a store the user runs."""
        return {}

    def leave_running(self) -> dict[str, str]:
        """Hand what ``start`` started over to the user (a kept run): say what it is, so
        ``restore-drill clean`` can remove it later; ``stop`` no longer touches it."""
        return {}

    # --- outages (fault drills) --------------------------------------------------------

    def take_down(self) -> None:
        """Stop serving, keeping the data (an outage); only a store this run started."""
        raise UsageError(f"the drill cannot take down a {self.kind or 'user'} object store")

    def bring_back(self) -> None:  # noqa: B027 - a store that cannot go down has nothing to do
        """Serve again after ``take_down``, with the same data; return once it answers."""

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

    def refuses_keys(self) -> str:
        """The store's error code when it refuses this run's keys, "" when it takes them.

        Listing a bucket nobody has makes the store check key and signature first: right
        keys get NoSuchBucket, wrong ones InvalidAccessKeyId or SignatureDoesNotMatch.
        """
        from botocore.exceptions import ClientError

        try:
            self.s3_client().list_objects_v2(Bucket=f"rd-nobody-{secrets.token_hex(6)}")
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code"))
            return code if code in WRONG_KEY_CODES else ""
        return ""

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

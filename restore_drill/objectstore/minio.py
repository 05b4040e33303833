"""MinIO in a Docker container on the kind network: the kind backend's object store.

Started with the docker CLI (argv lists, ``--pull never``): no image is ever pulled, no
reaper image is needed, and every container carries the ``restore-drill.run`` label so
that what a killed run left can be found and removed.
"""

from __future__ import annotations

import fcntl
import json
import logging
import secrets
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from restore_drill.addons import load_addons, run_command
from restore_drill.errors import BackendUnavailable, CommandFailed, ObjectStoreError, WaitTimeout
from restore_drill.images.cache import cache_dir
from restore_drill.images.pins import Offline
from restore_drill.objectstore.base import ObjectStore, S3Credentials

log = logging.getLogger(__name__)

KIND_NETWORK = "kind"
MINIO_PORT = 9000
READY_TIMEOUT = 60.0
RUN_LABEL = "restore-drill.run"


def pinned_image(images: str = "pulled") -> str:
    """The release users pull, or (``built``) the image the offline set built here."""
    addons = load_addons()
    if images == "built":
        return Offline(addons).minio_image
    return str(addons.section("minio")["image"])


@dataclass(frozen=True)
class MinioSettings:
    """How the MinIO container is made; plain data so it can be checked without Docker."""

    name: str
    credentials: S3Credentials
    image: str
    network: str = KIND_NETWORK
    port: int = MINIO_PORT

    def container_env(self) -> dict[str, str]:
        return {
            "MINIO_ROOT_USER": self.credentials.access_key,
            "MINIO_ROOT_PASSWORD": self.credentials.secret_key,
            "MINIO_REGION": self.credentials.region,
        }

    def run_argv(self) -> list[str]:
        """``docker run``; the keys go in by name only (``-e NAME``), never on the command
        line, so they are in no process listing nor log."""
        argv = [
            "docker",
            "run",
            "-d",
            "--pull",
            "never",
            "--name",
            self.name,
            "--network",
            self.network,
            "--label",
            f"{RUN_LABEL}={self.name}",
            "-p",
            f"127.0.0.1::{self.port}",
        ]
        for key in self.container_env():
            argv += ["-e", key]
        return [*argv, self.image, "server", "/data", "--address", f":{self.port}"]


@contextmanager
def _one_at_a_time(what: str) -> Iterator[None]:
    """An exclusive lock on this machine (threads and processes): two ``docker network
    create`` of one name at once make two networks, and every later ``--network kind``
    is then refused as ambiguous."""
    path = cache_dir() / f"{what}.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # released when the file closes
        yield


class MinioContainer(ObjectStore):
    """MinIO in a Docker container on the ``kind`` network (kind backend).

    Outside the cluster, so it survives a cluster rebuild; kind nodes reach it by container
    name (``cluster_endpoint``), this machine through the mapped port (``host_endpoint``).
    """

    kind = "minio"
    starts_beside_cluster = True

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
            image=image or pinned_image(),
            network=network,
        )
        self._started = False
        self._prepared = False
        self._created_network = False
        self._host_port = 0
        self._down = False

    @property
    def host_endpoint(self) -> str:
        if not self._host_port:
            raise ObjectStoreError("MinIO container is not started")
        return f"http://127.0.0.1:{self._host_port}"

    @property
    def cluster_endpoint(self) -> str:
        return f"http://{self.settings.name}:{self.settings.port}"

    def prepare(self) -> None:
        """The image is here and the network exists (kind adopts it): before kind create."""
        if self._prepared:
            return
        settings = self.settings
        try:
            run_command(["docker", "image", "inspect", settings.image], timeout=60)
        except CommandFailed:
            raise BackendUnavailable(
                f"MinIO image {settings.image} is not here (no image is pulled): "
                "run 'restore-drill images build'"
            ) from None
        with _one_at_a_time("network"):
            if not self._network_exists():
                # kind adopts an existing "kind" network; we remove it later only if we
                # made it, and its label says whose it is to `restore-drill clean`.
                label = f"{RUN_LABEL}={settings.name}"
                run_command(
                    ["docker", "network", "create", "--label", label, settings.network],
                    timeout=60,
                )
                self._created_network = True
        self._prepared = True

    def _network_exists(self) -> bool:
        networks = run_command(["docker", "network", "ls", "--format", "{{.Name}}"], timeout=60)
        return self.settings.network in networks.stdout.split()

    def start(self) -> None:
        if self._started:
            return
        self.prepare()
        settings = self.settings
        # From here on a container by this name is ours to remove, even half-made.
        self._started = True
        run_command(
            settings.run_argv(),
            env=settings.container_env(),
            secrets=settings.container_env().values(),
            timeout=120,
        )
        self._host_port = self._mapped_port()
        self._wait_ready()
        log.info(
            "MinIO %s on %s (cluster: %s)", settings.name, self.host_endpoint, self.cluster_endpoint
        )

    def take_down(self) -> None:
        if not self._started:
            raise ObjectStoreError("MinIO container is not started")
        run_command(["docker", "stop", "--time", "2", self.settings.name], timeout=120)
        self._down = True

    def bring_back(self) -> None:
        if not self._down:
            return
        run_command(["docker", "start", self.settings.name], timeout=120)
        self._down = False
        self._host_port = self._mapped_port()  # Docker may map another host port
        self._wait_ready()

    def _mapped_port(self) -> int:
        done = run_command(["docker", "port", self.settings.name, str(self.settings.port)])
        first = done.stdout.strip().splitlines()[0]
        return int(first.rsplit(":", 1)[1])

    def _wait_ready(self, timeout: float = READY_TIMEOUT) -> None:
        """Poll MinIO's readiness endpoint (it has no watch API); say what it answered last."""
        url = f"{self.host_endpoint}/minio/health/ready"
        start = time.monotonic()
        last = "no answer yet"
        while time.monotonic() - start < timeout:
            try:
                with urllib.request.urlopen(url, timeout=2) as answer:
                    if answer.status == 200:
                        return
                    last = f"HTTP {answer.status}"
            except (urllib.error.URLError, OSError) as exc:
                last = f"{type(exc).__name__}: {exc}"
            state = self._container_state()
            if state not in ("running", "created"):
                raise ObjectStoreError(f"MinIO container {self.settings.name} is {state}")
            time.sleep(0.2)
        raise WaitTimeout(f"MinIO {url} ready", time.monotonic() - start, last)

    def _container_state(self) -> str:
        done = subprocess.run(
            ["docker", "inspect", "--format", "{{json .State.Status}}", self.settings.name],
            capture_output=True,
            text=True,
            check=False,
            timeout=30,
        )
        return str(json.loads(done.stdout)) if done.returncode == 0 else "gone"

    def started_resources(self) -> dict[str, str]:
        if not (self._started or self._prepared):
            return {}
        made = {"container": self.settings.name}
        return {**made, "network": self.settings.network} if self._created_network else made

    def leave_running(self) -> dict[str, str]:
        made = self.started_resources()
        self._started = self._prepared = False
        self._created_network = False
        return made

    def stop(self) -> None:
        if self._started:
            remove_container(self.settings.name)
            self._started = False
            self._host_port = 0
        if self._created_network:
            try:
                run_command(["docker", "network", "rm", self.settings.network], timeout=60)
            except CommandFailed as exc:  # still used by kind nodes: leave it to kind
                log.info("network %s left in place: %s", self.settings.network, exc)
            self._created_network = False


def run_label(container: str, kind: str = "container") -> str | None:
    """The ``restore-drill.run`` label of a container (or network: ``kind="network"``), ""
    without one, None if it is gone."""
    labels = ".Config.Labels" if kind == "container" else ".Labels"
    done = subprocess.run(
        ["docker", kind, "inspect", "--format", f'{{{{index {labels} "{RUN_LABEL}"}}}}', container],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    return done.stdout.strip() if done.returncode == 0 else None


def remove_container(name: str) -> None:
    """``docker rm -f -v``: the container and its anonymous volume (MinIO's data)."""
    try:
        run_command(["docker", "rm", "-f", "-v", name], timeout=120)
    except CommandFailed as exc:  # already gone: nothing to remove
        log.info("docker rm %s: %s", name, exc)

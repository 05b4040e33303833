"""moto's S3 server as a child process: the object store of tests that need no cluster."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
from pathlib import Path

from restore_drill.errors import ObjectStoreError
from restore_drill.objectstore.base import (
    ObjectStore,
    S3Credentials,
    endpoint_answers,
    free_port,
)

log = logging.getLogger(__name__)


READY_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0
PROBE_INTERVAL = 0.05


class LocalS3(ObjectStore):
    """moto's S3 server as a child process on 127.0.0.1 (restic and verify-backups tests).

    A separate process that ``stop()`` ends exactly. State is in memory: a restart is an
    empty store.
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

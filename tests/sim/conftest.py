"""Fixtures for the sim backend's tests: ``sim_api`` is a fresh, empty API server per test."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from restore_drill.clusters.sim.api import SimApiServer
from restore_drill.k8s import Kube


@dataclass
class SimApi:
    """A running sim API server and the kubeconfig written for it."""

    server: SimApiServer
    kubeconfig: Path

    @property
    def url(self) -> str:
        return self.server.url

    def kube(self) -> Kube:
        return Kube(self.kubeconfig)

    def request(
        self, method: str, path: str, body: Any = None, content_type: str = "application/json"
    ) -> tuple[int, Any]:
        """One raw HTTP call: (status code, decoded JSON body or text)."""
        data = None
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method)
        request.add_header("Content-Type", content_type)
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                code, raw = answer.status, answer.read()
        except urllib.error.HTTPError as error:
            code, raw = error.code, error.read()
        try:
            return code, json.loads(raw)
        except ValueError:
            return code, raw.decode()


@pytest.fixture
def sim_api(tmp_path: Path) -> Iterator[SimApi]:
    server = SimApiServer(host="127.0.0.1", port=0).start()
    try:
        yield SimApi(server, server.write_kubeconfig(tmp_path / "kubeconfig"))
    finally:
        server.stop()

"""A minimal Kubernetes-shaped HTTP API for testing ``restore_drill.k8s`` over real HTTP.

It serves only ConfigMaps (discovery, list, get, watch, apply, delete) with a
resourceVersion counter, and can be told to answer the next watch with 410 Gone, so
the list-then-watch loop of ``Kube.wait_for`` is exercised by the real client.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

RESOURCES = {
    "kind": "APIResourceList",
    "groupVersion": "v1",
    "resources": [
        {
            "name": "configmaps",
            "singularName": "configmap",
            "namespaced": True,
            "kind": "ConfigMap",
            "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"],
        }
    ],
}


class Store:
    def __init__(self) -> None:
        self.lock = threading.Condition()
        self.version = 100
        self.objects: dict[tuple[str, str], dict[str, Any]] = {}
        self.history: list[tuple[int, str, dict[str, Any]]] = []
        self.gone_watches = 0  # answer this many watches with 410 Gone
        self.watch_requests = 0

    def record(self, event_type: str, obj: dict[str, Any]) -> None:
        self.version += 1
        obj["metadata"]["resourceVersion"] = str(self.version)
        self.history.append((self.version, event_type, json.loads(json.dumps(obj))))
        self.lock.notify_all()

    def put(self, namespace: str, name: str, data: dict[str, str]) -> None:
        with self.lock:
            obj = {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": name, "namespace": namespace},
                "data": data,
            }
            existed = self.objects.get((namespace, name))
            if existed:  # what apply does not name is kept (finalizers, deletion)
                obj["metadata"] = {**existed["metadata"], **obj["metadata"]}
            self.objects[(namespace, name)] = obj
            self.record("MODIFIED" if existed else "ADDED", obj)

    def remove(self, namespace: str, name: str) -> bool:
        """Delete as the API server does: an object with finalizers only turns terminating."""
        with self.lock:
            obj = self.objects.get((namespace, name))
            if obj is None:
                return False
            if obj["metadata"].get("finalizers"):
                obj["metadata"].setdefault("deletionTimestamp", "2026-01-01T00:00:00Z")
                self.record("MODIFIED", obj)
                return True
            del self.objects[(namespace, name)]
            self.record("DELETED", obj)
            return True

    def hold(self, namespace: str, name: str, finalizer: str) -> None:
        with self.lock:
            obj = self.objects[(namespace, name)]
            obj["metadata"]["finalizers"] = [finalizer]
            self.record("MODIFIED", obj)

    def release(self, namespace: str, name: str) -> None:
        """The finalizer's controller is done: a terminating object goes away now."""
        with self.lock:
            self.objects[(namespace, name)]["metadata"].pop("finalizers", None)
        self.remove(namespace, name)


class Handler(BaseHTTPRequestHandler):
    # HTTP/1.1 so that watch events stream as chunks, as a real API server sends them.
    protocol_version = "HTTP/1.1"
    store: Store

    def log_message(self, *args: Any) -> None:  # keep test output quiet
        pass

    def _send(self, code: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _status(self, code: int, reason: str, message: str) -> None:
        self._send(
            code,
            {
                "kind": "Status",
                "apiVersion": "v1",
                "status": "Failure",
                "reason": reason,
                "message": message,
                "code": code,
            },
        )

    def _route(self) -> tuple[str | None, str | None, dict[str, list[str]]]:
        url = urlparse(self.path)
        query = parse_qs(url.query)
        parts = url.path.strip("/").split("/")
        # api/v1/namespaces/{ns}/configmaps[/{name}]
        if (
            parts[:3] == ["api", "v1", "namespaces"]
            and len(parts) >= 5
            and parts[4] == "configmaps"
        ):
            return parts[3], (parts[5] if len(parts) > 5 else None), query
        if parts == ["api", "v1", "configmaps"]:
            return None, None, query
        return "", None, query

    def do_GET(self) -> None:
        path = urlparse(self.path).path.rstrip("/")
        if path == "/version":
            return self._send(
                200,
                {
                    "major": "1",
                    "minor": "33",
                    "gitVersion": "v1.33.1-standin",
                    "gitCommit": "0",
                    "gitTreeState": "clean",
                    "buildDate": "2026-01-01T00:00:00Z",
                    "goVersion": "go",
                    "compiler": "gc",
                    "platform": "linux/amd64",
                },
            )
        if path == "/api":
            return self._send(200, {"kind": "APIVersions", "versions": ["v1"]})
        if path == "/apis":
            return self._send(200, {"kind": "APIGroupList", "apiVersion": "v1", "groups": []})
        if path == "/api/v1":
            return self._send(200, RESOURCES)
        namespace, name, query = self._route()
        if namespace == "":
            return self._status(404, "NotFound", f"no route {path}")
        if name is not None:
            obj = self.store.objects.get((namespace or "", name))
            if obj is None:
                return self._status(404, "NotFound", f'configmaps "{name}" not found')
            return self._send(200, obj)
        selector = (query.get("fieldSelector") or [""])[0]
        wanted = selector.removeprefix("metadata.name=") if selector else None
        # The API server parses booleans like Go's ParseBool; the Python client sends "True".
        if (query.get("watch") or ["false"])[0].lower() in ("1", "t", "true"):
            return self._watch(namespace, wanted, query)
        with self.store.lock:
            items = [
                o
                for (ns, n), o in sorted(self.store.objects.items())
                if (namespace is None or ns == namespace) and (wanted is None or n == wanted)
            ]
            version = str(self.store.version)
        self._send(
            200,
            {
                "kind": "ConfigMapList",
                "apiVersion": "v1",
                "metadata": {"resourceVersion": version},
                "items": items,
            },
        )

    def _watch(
        self, namespace: str | None, wanted: str | None, query: dict[str, list[str]]
    ) -> None:
        since = int((query.get("resourceVersion") or ["0"])[0] or 0)
        timeout = float((query.get("timeoutSeconds") or ["5"])[0])
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

        def emit(event: dict[str, Any]) -> None:
            line = (json.dumps(event) + "\n").encode()
            self.wfile.write(f"{len(line):x}\r\n".encode() + line + b"\r\n")
            self.wfile.flush()

        with self.store.lock:
            self.store.watch_requests += 1
            if self.store.gone_watches > 0:
                self.store.gone_watches -= 1
                emit(
                    {
                        "type": "ERROR",
                        "object": {
                            "kind": "Status",
                            "apiVersion": "v1",
                            "status": "Failure",
                            "reason": "Expired",
                            "code": 410,
                            "message": f"too old resource version: {since}",
                        },
                    }
                )
                self.wfile.write(b"0\r\n\r\n")
                return
            deadline = threading.Event()
            timer = threading.Timer(timeout, deadline.set)
            timer.start()
            try:
                while not deadline.is_set():
                    for version, event_type, obj in self.store.history:
                        meta = obj["metadata"]
                        if version <= since:
                            continue
                        since = version
                        if namespace is not None and meta["namespace"] != namespace:
                            continue
                        if wanted is not None and meta["name"] != wanted:
                            continue
                        emit({"type": event_type, "object": obj})
                    self.store.lock.wait(0.2)
            finally:
                timer.cancel()
        self.wfile.write(b"0\r\n\r\n")

    def _body(self) -> dict[str, Any]:
        length = int(self.headers.get("Content-Length") or 0)
        return dict(json.loads(self.rfile.read(length) or b"{}"))

    def do_PATCH(self) -> None:
        namespace, name, query = self._route()
        body = self._body()
        if not namespace or not name:
            return self._status(404, "NotFound", "no route")
        if self.headers.get("Content-Type", "").startswith("application/apply-patch"):
            if not query.get("fieldManager"):
                return self._status(422, "Invalid", "fieldManager is required for apply")
            self.store.put(namespace, name, dict(body.get("data") or {}))
        else:
            current = self.store.objects.get((namespace, name))
            if current is None:
                return self._status(404, "NotFound", f'configmaps "{name}" not found')
            self.store.put(namespace, name, {**current.get("data", {}), **(body.get("data") or {})})
        self._send(200, self.store.objects[(namespace, name)])

    def do_POST(self) -> None:
        namespace, _, _ = self._route()
        body = self._body()
        name = body["metadata"]["name"]
        if (namespace or "", name) in self.store.objects:
            return self._status(409, "AlreadyExists", f'configmaps "{name}" already exists')
        self.store.put(namespace or "", name, dict(body.get("data") or {}))
        self._send(201, self.store.objects[(namespace or "", name)])

    def do_DELETE(self) -> None:
        namespace, name, _ = self._route()
        self._body()
        if not namespace or not name or not self.store.remove(namespace, name):
            return self._status(404, "NotFound", f'configmaps "{name}" not found')
        held = self.store.objects.get((namespace, name))
        if held is not None:  # a finalizer holds it: the answer is the terminating object
            return self._send(200, held)
        self._send(200, {"kind": "Status", "apiVersion": "v1", "status": "Success"})


class StandInApi:
    """``with StandInApi() as api: api.write_kubeconfig(path)``."""

    def __init__(self) -> None:
        self.store = Store()
        handler = type("BoundHandler", (Handler,), {"store": self.store})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> StandInApi:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def write_kubeconfig(self, path: Path) -> Path:
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "standin", "cluster": {"server": self.url}}],
            "users": [{"name": "standin", "user": {"token": "standin-token"}}],
            "contexts": [{"name": "standin", "context": {"cluster": "standin", "user": "standin"}}],
            "current-context": "standin",
        }
        path.write_text(json.dumps(config))
        return path

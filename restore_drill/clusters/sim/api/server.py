"""``SimApiServer``: HTTP routing of the Kubernetes REST paths onto the registry, and watches.

Plain HTTP on 127.0.0.1 without authentication: the kubeconfig it writes has no
credentials. Each request is served by its own daemon thread; a watch holds its thread and
streams one JSON event per line (chunked) until timeoutSeconds or ``stop()``.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import socket
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import yaml

from restore_drill.clusters.sim.api import patching, protobuf, resources, tables, validation
from restore_drill.clusters.sim.api.registry import Registry
from restore_drill.clusters.sim.api.resources import BY_PATH, ResourceType
from restore_drill.clusters.sim.api.status import ApiError
from restore_drill.clusters.sim.api.store import Store
from restore_drill.clusters.sim.api.watch import Watch

LOG = logging.getLogger(__name__)
Obj = dict[str, Any]
LogSource = Callable[[str, str, str], str]


class SimApiServer:
    """An in-memory Kubernetes API server; a new instance is a new, empty cluster."""

    def __init__(
        self, host: str = "127.0.0.1", port: int = 0, *, history_limit: int = 20000
    ) -> None:
        self.host = host
        self.store = Store(history_limit)
        self.registry = Registry(self.store)
        self._log_source: LogSource | None = None
        self._httpd = _HttpServer((host, port), _Handler)
        self._httpd.api = self
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> SimApiServer:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._httpd.serve_forever,
                kwargs={"poll_interval": 0.05},
                name=f"sim-api-{self.port}",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and end every open watch."""
        self.store.close()
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._httpd.server_close()
        self._httpd.close_connections()

    def __enter__(self) -> SimApiServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def set_log_source(self, source: LogSource | None) -> None:
        """Where ``pods/log`` reads from: ``source(namespace, pod, container) -> text``
        (the sim's workload runner provides it)."""
        self._log_source = source

    def pod_log(self, namespace: str, pod: str, container: str) -> str:
        return self._log_source(namespace, pod, container) if self._log_source else ""

    def write_kubeconfig(self, path: str | Path, *, namespace: str = "default") -> Path:
        """A kubeconfig with one cluster/context/user named "sim" pointing at this server."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "sim", "cluster": {"server": self.url}}],
            "users": [{"name": "sim", "user": {}}],
            "contexts": [
                {
                    "name": "sim",
                    "context": {"cluster": "sim", "user": "sim", "namespace": namespace},
                }
            ],
            "current-context": "sim",
            "preferences": {},
        }
        target.write_text(yaml.safe_dump(config, sort_keys=False))
        target.chmod(0o600)
        return target


class _HttpServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 128
    api: SimApiServer

    def server_activate(self) -> None:
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().server_activate()

    def process_request(self, request: Any, client_address: Any) -> None:
        with self.connections_lock:
            self.connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self.connections_lock:
            self.connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """Cut every open keep-alive connection: a stopped cluster must not keep answering
        its old clients (a rebuilt cluster is a new server)."""
        with self.connections_lock:
            open_now = list(self.connections)
        for connection in open_now:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


class _Route:
    """A parsed resource path."""

    def __init__(
        self,
        resource: ResourceType,
        namespace: str | None,
        name: str | None,
        subresource: str | None,
    ) -> None:
        self.resource = resource
        self.namespace = namespace
        self.name = name
        self.subresource = subresource


def route(path: str) -> _Route | None:
    parts = [p for p in path.split("/") if p]
    if parts[:2] == ["api", "v1"]:
        group, version, rest = "", "v1", parts[2:]
    elif len(parts) >= 3 and parts[0] == "apis":
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        return None
    namespace = None
    if len(rest) >= 3 and rest[0] == "namespaces":
        namespace, rest = rest[1], rest[2:]
    if not rest or len(rest) > 3:
        return None
    resource = BY_PATH.get((group, version, rest[0]))
    if resource is None or (namespace is not None and not resource.namespaced):
        return None
    name = rest[1] if len(rest) > 1 else None
    sub = rest[2] if len(rest) > 2 else None
    if resource.namespaced and name is not None and namespace is None:
        return None
    allowed = {"status"} if resource.status else set()
    if resource.kind == "Pod":
        allowed.add("log")
    if resource.kind in resources.SCALABLE:
        allowed.add("scale")
    if sub is not None and sub not in allowed:
        return None
    return _Route(resource, namespace, name, sub)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # headers and body go out in separate writes: without TCP_NODELAY, Nagle's algorithm
    # and the client's delayed ACK add ~40 ms to every keep-alive request
    disable_nagle_algorithm = True
    server: _HttpServer

    def log_message(self, format: str, *args: Any) -> None:
        pass  # one line per request would drown the drill's own output

    # --- plumbing --------------------------------------------------------------------------

    def _query(self) -> dict[str, str]:
        return {k: v[-1] for k, v in parse_qs(urlsplit(self.path).query).items()}

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _json_body(self) -> Any:
        raw = self._body()
        media = (self.headers.get("Content-Type") or "application/json").split(";")[0].strip()
        if media == protobuf.MEDIA_TYPE:
            return protobuf.decode(raw)
        if media not in ("application/json", "application/yaml", "*/*", ""):
            raise ApiError(415, f"the body of the request was in an unknown format - {media}")
        try:
            return yaml.safe_load(raw) if media == "application/yaml" else json.loads(raw or b"{}")
        except (ValueError, yaml.YAMLError) as exc:
            raise ApiError(400, f"the request body could not be decoded: {exc}") from exc

    def _checked_body(self, resource: ResourceType, query: dict[str, str]) -> Any:
        body = self._json_body()
        if query.get("fieldValidation") == "Strict" and isinstance(body, dict):
            validation.check_unknown_fields(resource, body)
        return body

    def _send(self, code: int, body: Any, content_type: str = "application/json") -> None:
        data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-cache, private")
        self.end_headers()
        self.wfile.write(data)

    def _table_wanted(self) -> bool:
        return "as=Table" in (self.headers.get("Accept") or "")

    def _dispatch(self, method: str) -> None:
        try:
            self._handle(method)
        except ApiError as exc:
            self._send(exc.code, exc.status())
        except (BrokenPipeError, ConnectionResetError):
            pass
        except Exception as exc:  # a bug here must answer 500, not drop the connection
            LOG.exception("sim API server: %s %s failed", method, self.path)
            with contextlib.suppress(OSError):
                self._send(500, ApiError(500, f"internal error: {exc}").status())

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_PATCH(self) -> None:
        self._dispatch("PATCH")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    # --- routing -----------------------------------------------------------------------------

    def _handle(self, method: str) -> None:
        path = urlsplit(self.path).path.rstrip("/") or "/"
        if method == "GET" and self._discovery(path):
            return
        found = route(path)
        if found is None:
            self._body()
            raise ApiError(404, "the server could not find the requested resource", details={})
        api = self.server.api
        registry, query = api.registry, self._query()
        dry_run = query.get("dryRun") == "All"
        resource, namespace, name = found.resource, found.namespace, found.name
        if found.subresource == "log":
            if method != "GET" or name is None or namespace is None:
                raise ApiError(405, "method not allowed on pods/log")
            self._send(200, self._pod_log(namespace, name, query), "text/plain")
            return
        if found.subresource == "scale" and name is not None and namespace is not None:
            self._scale(method, resource, namespace, name)
            return
        if name is None:
            if method == "GET" and query.get("watch", "").lower() in ("true", "1"):
                self._watch(resource, namespace, query)
            elif method == "GET":
                listed = registry.list(
                    resource, namespace, query.get("labelSelector"), query.get("fieldSelector")
                )
                self._send(200, self._maybe_table(resource, listed, query))
            elif method == "POST":
                body = self._checked_body(resource, query)
                self._send(201, registry.create(resource, namespace, body, dry_run=dry_run))
            elif method == "DELETE":
                options = self._delete_options(query)
                self._send(
                    200,
                    registry.delete_collection(
                        resource,
                        namespace,
                        query.get("labelSelector"),
                        query.get("fieldSelector"),
                        options,
                    ),
                )
            else:
                raise ApiError(405, f"the server does not allow this method on {resource.plural}")
            return
        if method == "GET":
            self._send(
                200, self._maybe_table(resource, registry.get(resource, namespace, name), query)
            )
        elif method == "PUT":
            self._send(
                200,
                registry.update(
                    resource,
                    namespace,
                    name,
                    self._checked_body(resource, query),
                    found.subresource,
                    dry_run=dry_run,
                ),
            )
        elif method == "PATCH":
            self._send(
                200,
                registry.patch(
                    resource,
                    namespace,
                    name,
                    self.headers.get("Content-Type") or "",
                    self._body(),
                    subresource=found.subresource,
                    dry_run=dry_run,
                ),
            )
        elif method == "DELETE" and found.subresource is None:
            self._send(
                200,
                registry.delete(
                    resource, namespace, name, self._delete_options(query), dry_run=dry_run
                ),
            )
        else:
            raise ApiError(405, f"the server does not allow this method on {resource.plural}")

    def _scale(self, method: str, resource: ResourceType, namespace: str, name: str) -> None:
        """``<deployments|statefulsets>/scale``: an autoscaling/v1 Scale of spec.replicas."""
        registry = self.server.api.registry
        if method == "GET":
            self._send(200, registry.scale(resource, namespace, name))
        elif method in ("PUT", "PATCH"):
            if method == "PUT":
                wanted = self._json_body()
            else:
                wanted = patching.patch_document(
                    registry.scale(resource, namespace, name),
                    self.headers.get("Content-Type") or "",
                    self._body(),
                )
            replicas = (wanted.get("spec") or {}).get("replicas", 0)  # omitempty when 0
            if not isinstance(replicas, int) or replicas < 0:
                raise ApiError(422, "spec.replicas: Invalid value: must be a non-negative integer")
            change: Obj = {"spec": {"replicas": replicas}}
            if version := (wanted.get("metadata") or {}).get("resourceVersion"):
                change["metadata"] = {"resourceVersion": version}  # optimistic concurrency
            registry.patch(resource, namespace, name, patching.MERGE, json.dumps(change).encode())
            self._send(200, registry.scale(resource, namespace, name))
        else:
            raise ApiError(405, f"method not allowed on {resource.plural}/scale")

    def _discovery(self, path: str) -> bool:
        if path in ("/healthz", "/readyz", "/livez"):
            self._send(200, "ok", "text/plain")
            return True
        api = self.server.api
        answer = resources.discovery(path, f"{api.host}:{api.port}")
        if answer is not None:
            self._send(200, answer)
        return answer is not None

    def _maybe_table(self, resource: ResourceType, answer: Obj, query: dict[str, str]) -> Obj:
        if not self._table_wanted():
            return answer
        items = answer["items"] if "items" in answer else [answer]
        revision = answer.get("metadata", {}).get("resourceVersion") if "items" in answer else None
        return tables.table(resource.kind, items, query.get("includeObject", "Metadata"), revision)

    def _delete_options(self, query: dict[str, str]) -> Obj:
        body = self._json_body() if int(self.headers.get("Content-Length") or 0) else {}
        options = dict(body) if isinstance(body, dict) else {}
        if "propagationPolicy" in query:
            options["propagationPolicy"] = query["propagationPolicy"]
        policy = options.get("propagationPolicy")
        if policy not in (None, "Orphan", "Background", "Foreground"):
            raise ApiError(422, f"propagationPolicy: Unsupported value: {policy!r}")
        return options

    def _pod_log(self, namespace: str, name: str, query: dict[str, str]) -> str:
        api = self.server.api
        pod = api.registry.get(resources.BY_KIND[("v1", "Pod")], namespace, name)
        containers = [c.get("name") for c in (pod.get("spec") or {}).get("containers") or []]
        container = query.get("container")
        if not container:
            if len(containers) != 1:
                raise ApiError(
                    400,
                    f"a container name must be specified for pod {name}, "
                    f"choose one of: {containers}",
                )
            container = str(containers[0])
        elif container not in containers:
            raise ApiError(400, f"container {container} is not valid for pod {name}")
        text = api.pod_log(namespace, name, container)
        if query.get("tailLines"):
            lines = text.splitlines(keepends=True)
            text = "".join(lines[-int(query["tailLines"]) :]) if int(query["tailLines"]) else ""
        return text

    # --- watch -------------------------------------------------------------------------------

    def _watch(self, resource: ResourceType, namespace: str | None, query: dict[str, str]) -> None:
        watch = Watch(self.server.api.store, resource, namespace, query)
        initial = watch.start()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Cache-Control", "no-cache, private")
        self.end_headers()
        table = self._table_wanted()
        for event_type, obj in itertools.chain(initial, watch.follow()):
            self._chunk(self._event(resource, event_type, obj, table))
        self.wfile.write(b"0\r\n\r\n")
        self.close_connection = True

    def _event(self, resource: ResourceType, event_type: str, obj: Obj, table: bool) -> Obj:
        wrap = table and event_type != "ERROR"
        shown = tables.table(resource.kind, [obj], "Metadata") if wrap else obj
        return {"type": event_type, "object": shown}

    def _chunk(self, event: Obj) -> None:
        data = json.dumps(event).encode() + b"\n"
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

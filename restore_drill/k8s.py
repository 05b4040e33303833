"""The Kubernetes layer: one client per kubeconfig, apply/get/delete, and watch-driven waits.

Objects travel as plain dicts (what the API returns), so callers need no client types.
The client is always built from an explicit kubeconfig file: the user's ``~/.kube/config``
is never read or written.
"""

from __future__ import annotations

import builtins
import functools
import json
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from restore_drill import progress
from restore_drill.errors import (
    HTTP_ERRORS,
    Gone,
    KubeError,
    NotFound,
    Unreachable,
    WaitTimeout,
)
from restore_drill.kinds import *  # noqa: F403  (re-exported: callers say k8s.PVC)
from restore_drill.kinds import EVENT, Kind, Obj, brief, describe, dig, kind_of

if TYPE_CHECKING:
    from kubernetes.dynamic import DynamicClient

Predicate = Callable[[Obj | None], bool]

FIELD_MANAGER = "restore-drill"


# The Kubernetes client takes most of a second to import: it is imported when a client is
# made, so commands that never talk to a cluster (--help, list, lint) start at once.
def api_errors() -> tuple[type[Exception], ...]:
    """What the client raises: API answers, and transport failures (refused, reset, timed
    out) which must surface as KubeError too, e.g. while an API server restarts."""
    from kubernetes.client.rest import ApiException
    from kubernetes.dynamic.exceptions import ApiException as DynamicApiException
    from kubernetes.dynamic.exceptions import DynamicApiError
    from urllib3.exceptions import HTTPError

    return (ApiException, DynamicApiError, DynamicApiException, HTTPError)


def _error(exc: Exception, what: str) -> KubeError:
    from urllib3.exceptions import HTTPError as TransportError

    if isinstance(exc, TransportError):
        cause = getattr(exc, "reason", None) or exc
        return Unreachable(f"{what}: API server unreachable: {cause}", reason="Unreachable")
    status = getattr(exc, "status", None)
    body = getattr(exc, "body", None) or ""
    reason = getattr(exc, "reason", "") or ""
    message = ""
    try:
        parsed = json.loads(body) if isinstance(body, str | bytes) and body else {}
        message = parsed.get("message", "")
        reason = parsed.get("reason", reason)
    except ValueError:
        message = str(body)[:200]
    text = f"{what}: {status} {reason}: {message}".rstrip(": ")
    kind = HTTP_ERRORS.get(status, KubeError) if isinstance(status, int) else KubeError
    return kind(text, status=status, reason=str(reason))


@functools.cache
def _memory_discoverer() -> type:
    """The client's lazy discovery, kept in memory. Its default writes a cache file on each
    new search, into a file shared by every client on the host: concurrent clients read each
    other's half-written copies, and a private file per client is left behind in the temp
    directory (dozens per run)."""
    from kubernetes.dynamic.discovery import LazyDiscoverer

    class MemoryDiscoverer(LazyDiscoverer):  # type: ignore[misc]
        def _write_cache(self) -> None:
            pass

    return MemoryDiscoverer


class Kube:
    """A Kubernetes API client bound to one kubeconfig file (and optionally one context)."""

    def __init__(self, kubeconfig: str | Path, context: str | None = None) -> None:
        self.kubeconfig = Path(kubeconfig)
        if not self.kubeconfig.is_file():
            raise KubeError(f"kubeconfig not found: {self.kubeconfig}")
        from kubernetes import client as k8s_client
        from kubernetes import config as k8s_config

        configuration = k8s_client.Configuration()
        k8s_config.load_kube_config(
            config_file=str(self.kubeconfig),
            context=context,
            client_configuration=configuration,
            persist_config=False,
        )
        self.api_client = k8s_client.ApiClient(configuration)
        self._dynamic: DynamicClient | None = None
        # Discovery fills its cache on a kind's first use and is not made for threads:
        # drills side by side, and a drill's own threads, share one client.
        self._discovery = threading.Lock()

    @property
    def dynamic(self) -> DynamicClient:
        # Discovery is done lazily: a freshly started API server may still be warming up.
        if self._dynamic is None:
            from kubernetes.dynamic import DynamicClient

            try:
                # A path of its own that is never written (see _memory_discoverer).
                cache = Path(tempfile.gettempdir()) / f"restore-drill-discovery-{uuid.uuid4().hex}"
                self._dynamic = DynamicClient(
                    self.api_client, cache_file=str(cache), discoverer=_memory_discoverer()
                )
            except api_errors() as exc:
                raise _error(exc, "API discovery") from exc
        return self._dynamic

    def close(self) -> None:
        self.api_client.close()

    def resource(self, kind: Kind) -> Any:
        from kubernetes.dynamic.exceptions import ResourceNotFoundError

        try:
            with self._discovery:
                return self.dynamic.resources.get(api_version=kind.api_version, kind=kind.kind)
        except ResourceNotFoundError as exc:
            raise KubeError(f"the API server does not serve {kind}") from exc

    # --- reads -------------------------------------------------------------------------

    def get(self, kind: Kind, name: str, namespace: str | None = None) -> Obj:
        """The object, or :class:`NotFound`."""
        try:
            found = self.resource(kind).get(name=name, namespace=namespace)
        except api_errors() as exc:
            raise _error(exc, f"get {kind} {namespace or ''}/{name}") from exc
        return dict(found.to_dict())

    def find(self, kind: Kind, name: str, namespace: str | None = None) -> Obj | None:
        """The object, or None when it does not exist."""
        try:
            return self.get(kind, name, namespace)
        except NotFound:
            return None

    def list(
        self,
        kind: Kind,
        namespace: str | None = None,
        *,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> list[Obj]:
        return list(self._list(kind, namespace, label_selector, field_selector)["items"])

    def _list(
        self,
        kind: Kind,
        namespace: str | None,
        label_selector: str | None,
        field_selector: str | None,
    ) -> Obj:
        try:
            found = self.resource(kind).get(
                namespace=namespace, label_selector=label_selector, field_selector=field_selector
            )
        except api_errors() as exc:
            raise _error(exc, f"list {kind}") from exc
        return dict(found.to_dict())

    def server_version(self) -> str:
        """The API server's gitVersion (e.g. ``v1.33.1``)."""
        from kubernetes import client as k8s_client

        try:
            info = k8s_client.VersionApi(self.api_client).get_code()
        except api_errors() as exc:
            raise _error(exc, "server version") from exc
        return str(info.git_version)

    def pod_logs(self, name: str, namespace: str, container: str | None = None) -> str:
        from kubernetes import client as k8s_client

        core = k8s_client.CoreV1Api(self.api_client)
        try:
            kwargs = {"container": container} if container else {}
            return str(core.read_namespaced_pod_log(name, namespace, **kwargs))
        except api_errors() as exc:
            raise _error(exc, f"logs of pod {namespace}/{name}") from exc

    def events_for(self, namespace: str, name: str | None = None) -> builtins.list[Obj]:
        """Events in a namespace, optionally only those about the object called ``name``."""
        selector = f"involvedObject.name={name}" if name else None
        events = self.list(EVENT, namespace, field_selector=selector)
        return sorted(events, key=lambda e: str(e.get("lastTimestamp") or ""))

    # --- writes ------------------------------------------------------------------------

    def apply(self, manifest: Mapping[str, Any], *, field_manager: str = FIELD_MANAGER) -> Obj:
        """Server-side apply ``manifest`` with ``field_manager``, taking over conflicts."""
        kind = kind_of(manifest)
        meta = manifest["metadata"]
        try:
            applied = self.resource(kind).server_side_apply(
                body=dict(manifest),
                name=meta["name"],
                namespace=meta.get("namespace"),
                field_manager=field_manager,
                force_conflicts=True,
            )
        except api_errors() as exc:
            raise _error(exc, f"apply {kind} {meta.get('namespace', '')}/{meta['name']}") from exc
        return dict(applied.to_dict())

    def create(self, manifest: Mapping[str, Any]) -> Obj:
        kind = kind_of(manifest)
        meta = manifest["metadata"]
        try:
            created = self.resource(kind).create(
                body=dict(manifest), namespace=meta.get("namespace")
            )
        except api_errors() as exc:
            raise _error(exc, f"create {kind} {meta.get('namespace', '')}/{meta['name']}") from exc
        return dict(created.to_dict())

    def patch(
        self,
        kind: Kind,
        name: str,
        patch: Any,
        namespace: str | None = None,
        *,
        content_type: str = "application/merge-patch+json",
        subresource: str | None = None,
    ) -> Obj:
        """Patch an object (JSON merge patch by default; ``subresource="status"`` for status)."""
        resource = self.resource(kind)
        if subresource:
            resource = resource.subresources[subresource]
        try:
            patched = resource.patch(
                body=patch, name=name, namespace=namespace, content_type=content_type
            )
        except api_errors() as exc:
            raise _error(exc, f"patch {kind} {namespace or ''}/{name}") from exc
        return dict(patched.to_dict())

    def delete(
        self,
        kind: Kind,
        name: str,
        namespace: str | None = None,
        *,
        propagation: str = "Background",
        grace_seconds: int | None = None,
    ) -> bool:
        """Delete an object; False when it was already gone."""
        answer = self.delete_answered(
            kind, name, namespace, propagation=propagation, grace_seconds=grace_seconds
        )
        return answer is not None

    def delete_answered(
        self,
        kind: Kind,
        name: str,
        namespace: str | None = None,
        *,
        propagation: str = "Background",
        grace_seconds: int | None = None,
    ) -> Obj | None:
        """Delete an object; the API's answer (the object with its ``deletionTimestamp``
        while a finalizer or grace period holds it, else a Status), None if already gone."""
        body: dict[str, Any] = {"propagationPolicy": propagation}
        if grace_seconds is not None:
            body["gracePeriodSeconds"] = grace_seconds
        try:
            answer = self.resource(kind).delete(name=name, namespace=namespace, body=body)
        except api_errors() as exc:
            error = _error(exc, f"delete {kind} {namespace or ''}/{name}")
            if isinstance(error, NotFound):
                return None
            raise error from exc
        return dict(answer.to_dict()) if hasattr(answer, "to_dict") else {}

    def wait_gone(
        self, kind: Kind, name: str, namespace: str | None = None, *, timeout: float = 120
    ) -> None:
        """Wait (by watch) until the API no longer has the object (finalizers done)."""
        self.wait_for(
            kind, name, namespace, lambda obj: obj is None, timeout=timeout, what=f"{name} gone"
        )

    # --- waits -------------------------------------------------------------------------

    def watch(
        self,
        kind: Kind,
        namespace: str | None = None,
        *,
        resource_version: str | None = None,
        field_selector: str | None = None,
        label_selector: str | None = None,
        timeout_seconds: int = 60,
    ) -> Iterator[tuple[str, Obj]]:
        """Raw watch events ``(type, object)``; raises :class:`Gone` (HTTP 410) when the
        resourceVersion is too old (the caller re-lists)."""
        resource = self.resource(kind)
        try:
            for event in resource.watch(
                namespace=namespace,
                resource_version=resource_version,
                field_selector=field_selector,
                label_selector=label_selector,
                timeout=max(1, int(timeout_seconds)),
            ):
                raw = event.get("raw_object") or {}
                yield str(event["type"]), dict(raw)
        except api_errors() as exc:
            raise _error(exc, f"watch {kind}") from exc

    def wait_for(
        self,
        kind: Kind,
        name: str,
        namespace: str | None,
        predicate: Predicate,
        *,
        timeout: float,
        what: str = "",
        on_event: Callable[[Obj | None], None] | None = None,
    ) -> Obj | None:
        """Wait until ``predicate(object)`` holds (the object is None while absent).

        List-then-watch from the list's resourceVersion, re-listing when the watch expires
        or answers 410 Gone. On the deadline raises :class:`WaitTimeout` naming what it saw
        last. Each state seen goes to ``on_event`` and to the drill's progress display.
        """
        what = what or f"{kind.kind} {namespace + '/' if namespace else ''}{name}"
        with progress.waiting(what, timeout) as shown:

            def seen(obj: Obj | None) -> None:
                shown.seen(brief(obj))
                if on_event:
                    on_event(obj)

            start = time.monotonic()
            deadline = start + timeout
            selector = f"metadata.name={name}"
            last: Obj | None = None
            while True:
                listed = self._list(kind, namespace, None, selector)
                items = listed.get("items") or []
                last = dict(items[0]) if items else None
                seen(last)
                if predicate(last):
                    return last
                version = dig(listed, "metadata", "resourceVersion")
                try:
                    while (remaining := deadline - time.monotonic()) > 0:
                        for event_type, obj in self.watch(
                            kind,
                            namespace,
                            resource_version=version,
                            field_selector=selector,
                            timeout_seconds=int(min(remaining, 60)) or 1,
                        ):
                            if event_type == "BOOKMARK":
                                version = obj.get("metadata", {}).get("resourceVersion", version)
                                continue
                            last = None if event_type == "DELETED" else obj
                            version = obj.get("metadata", {}).get("resourceVersion", version)
                            seen(last)
                            if predicate(last):
                                return last
                            if time.monotonic() >= deadline:
                                break
                        else:
                            continue
                        break
                except Gone:
                    continue  # history compacted: re-list and resume
                raise WaitTimeout(what, time.monotonic() - start, describe(last))

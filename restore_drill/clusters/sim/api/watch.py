"""One watch request: the events a client sees, from a resourceVersion until its timeout."""

from __future__ import annotations

import copy
import time
from collections.abc import Iterator
from typing import Any

from restore_drill.clusters.sim.api.resources import ResourceType
from restore_drill.clusters.sim.api.selectors import field_matcher, label_matcher
from restore_drill.clusters.sim.api.status import ApiError
from restore_drill.clusters.sim.api.store import Event, Store

Obj = dict[str, Any]
DEFAULT_WATCH_SECONDS = 1800  # the real server picks 30-60 minutes when none is asked for


class Watch:
    """Events of one resource type, filtered like the request asks, in resourceVersion order."""

    def __init__(
        self, store: Store, resource: ResourceType, namespace: str | None, query: dict[str, str]
    ) -> None:
        self.store = store
        self.resource = resource
        self.namespace = namespace
        self.by_label = label_matcher(query.get("labelSelector"))
        self.by_field = field_matcher(query.get("fieldSelector"), resource.kind)
        timeout = float(query.get("timeoutSeconds") or DEFAULT_WATCH_SECONDS)
        self.deadline = time.monotonic() + timeout
        wanted = query.get("resourceVersion") or "0"
        try:
            self.position = int(wanted)
        except ValueError as exc:
            raise ApiError(400, f"invalid resourceVersion {wanted!r}") from exc

    def visible(self, obj: Obj) -> bool:
        if self.namespace is not None and obj["metadata"].get("namespace") != self.namespace:
            return False
        return self.by_label(obj) and self.by_field(obj)

    def start(self) -> list[tuple[str, Obj]]:
        """The synthetic ADDED events (watch from "any" version, 0 or unset), or none; raises
        410 Gone before anything is streamed when the version is too old."""
        with self.store.lock:
            if self.position == 0:
                self.position = self.store.revision
                # stored objects are replaced on write, never mutated: no copy needed
                return [
                    ("ADDED", obj)
                    for obj in self.store.items(self.resource.key, self.namespace)
                    if self.visible(obj)
                ]
            self.store.events_after(self.position)
            return []

    def follow(self) -> Iterator[tuple[str, Obj]]:
        """Live events until the deadline or the server stops; a compaction that overtakes
        this watch ends it with an ERROR event carrying 410, as the real server does."""
        store = self.store
        while not store.closed:
            remaining = self.deadline - time.monotonic()
            if remaining <= 0:
                return
            error: ApiError | None = None
            with store.lock:
                try:
                    events = store.events_after(self.position)
                except ApiError as exc:
                    events, error = [], exc
                if not events and error is None:
                    store.changed.wait(min(remaining, 5.0))
                    continue
                if events:
                    self.position = events[-1].rv
            if error is not None:
                yield "ERROR", error.status()
                return
            for event in events:
                if event.resource == self.resource.key:
                    yield from self._as_seen(event)

    def _as_seen(self, event: Event) -> Iterator[tuple[str, Obj]]:
        """An event as this filtered watch sees it: an object that starts matching the
        selectors is ADDED, one that stops matching is DELETED (its last matching state with
        the new resourceVersion), as the real watch cache translates them."""
        matches = self.visible(event.obj)
        if event.type != "MODIFIED" or event.old is None:
            if matches:
                yield event.type, event.obj
            return
        matched = self.visible(event.old)
        if matches:
            yield ("MODIFIED" if matched else "ADDED"), event.obj
        elif matched:
            gone = copy.deepcopy(event.old)
            gone["metadata"]["resourceVersion"] = str(event.rv)
            yield "DELETED", gone

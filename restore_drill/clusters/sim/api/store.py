"""The in-memory object store: one lock, a global resourceVersion and a bounded event history.

Every write gets the next resourceVersion (a global counter, as etcd's revision is) and is
appended to the history that watches read from. When the history outgrows its limit the
oldest half is dropped, and a watch from a version older than what is kept answers 410 Gone.
"""

from __future__ import annotations

import bisect
import copy
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from restore_drill.clusters.sim.api.status import ApiError

Obj = dict[str, Any]
Key = tuple[str, str, str]  # resource key, namespace ("" when cluster-scoped), name


@dataclass(frozen=True)
class Event:
    rv: int
    resource: str
    type: str  # ADDED | MODIFIED | DELETED
    obj: Obj  # a snapshot; never mutated after it is recorded
    old: Obj | None = None  # the state before a MODIFIED event (for filtered watches)


def key_of(resource: str, obj: Obj) -> Key:
    meta = obj["metadata"]
    return resource, meta.get("namespace") or "", meta["name"]


class Store:
    """Objects by resource, namespace and name, with the indexes the lifecycle needs."""

    def __init__(self, history_limit: int = 20000) -> None:
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)
        self.objects: dict[str, dict[tuple[str, str], Obj]] = {}
        self.revision = 1
        self.history: list[Event] = []
        self.history_rvs: list[int] = []
        self.compacted = 0  # newest revision no longer in the history
        self.history_limit = max(2, history_limit)
        self.closed = False
        # owner uid -> dependents' keys (ownerReference GC) and namespace -> object count
        self.dependents: dict[str, set[Key]] = {}
        self.in_namespace: dict[str, int] = {}
        self.by_uid: dict[str, Key] = {}

    # --- reads (callers hold the lock) ---------------------------------------------------

    def get(self, resource: str, namespace: str, name: str) -> Obj | None:
        return self.objects.get(resource, {}).get((namespace, name))

    def items(self, resource: str, namespace: str | None = None) -> Iterator[Obj]:
        for (ns, _), obj in self.objects.get(resource, {}).items():
            if namespace is None or ns == namespace:
                yield obj

    def lookup(self, key: Key) -> Obj | None:
        return self.get(*key)

    # --- writes (callers hold the lock) --------------------------------------------------

    def put(self, resource: str, obj: Obj, event_type: str) -> Obj:
        """Store ``obj`` (taking ownership of it) under a new resourceVersion."""
        self.revision += 1
        obj["metadata"]["resourceVersion"] = str(self.revision)
        key = key_of(resource, obj)
        bucket = self.objects.setdefault(resource, {})
        old = bucket.get(key[1:])
        if old is not None:
            self._unindex(key, old)
        elif key[1]:
            self.in_namespace[key[1]] = self.in_namespace.get(key[1], 0) + 1
        bucket[key[1:]] = obj
        self.by_uid[str(obj["metadata"].get("uid"))] = key
        for ref in obj["metadata"].get("ownerReferences") or []:
            self.dependents.setdefault(str(ref.get("uid")), set()).add(key)
        self._record(resource, event_type, obj, old)
        return obj

    def remove(self, resource: str, obj: Obj) -> None:
        key = key_of(resource, obj)
        if self.objects.get(resource, {}).pop(key[1:], None) is None:
            return
        self._unindex(key, obj)
        self.by_uid.pop(str(obj["metadata"].get("uid")), None)
        if key[1]:
            self.in_namespace[key[1]] -= 1
        self.revision += 1
        final = copy.deepcopy(obj)
        final["metadata"]["resourceVersion"] = str(self.revision)
        self._record(resource, "DELETED", final)

    def _unindex(self, key: Key, obj: Obj) -> None:
        for ref in obj["metadata"].get("ownerReferences") or []:
            found = self.dependents.get(str(ref.get("uid")))
            if found is not None:
                found.discard(key)
                if not found:
                    del self.dependents[str(ref.get("uid"))]

    def _record(self, resource: str, event_type: str, obj: Obj, old: Obj | None = None) -> None:
        # stored objects are replaced, never mutated, so ``old`` needs no copy
        self.history.append(Event(self.revision, resource, event_type, copy.deepcopy(obj), old))
        self.history_rvs.append(self.revision)
        if len(self.history) > self.history_limit:
            drop = len(self.history) // 2
            self.compacted = self.history_rvs[drop - 1]
            del self.history[:drop]
            del self.history_rvs[:drop]
        self.changed.notify_all()

    # --- watch support ---------------------------------------------------------------------

    def events_after(self, revision: int) -> list[Event]:
        """Events newer than ``revision``; 410 Gone when some of them were compacted away."""
        if revision < self.compacted:
            raise ApiError(
                410,
                f"too old resource version: {revision} ({self.compacted + 1})",
                reason="Expired",
            )
        start = bisect.bisect_right(self.history_rvs, revision)
        return self.history[start:]

    def compact(self) -> None:
        """Forget the whole history (tests use it to provoke 410 Gone)."""
        with self.lock:
            if self.history_rvs:
                self.compacted = self.history_rvs[-1]
            self.history.clear()
            self.history_rvs.clear()

    def close(self) -> None:
        with self.lock:
            self.closed = True
            self.changed.notify_all()

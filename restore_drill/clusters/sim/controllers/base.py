"""The controller framework of the sim: every sim controller is a small client-go style loop.

Contract (for every controller module in this package):

* ``SimContext(run_dir=..., kubeconfig=...)`` is shared by all controllers of one sim
  cluster. It knows where data lives (``volumes_dir`` = run_dir/volumes, ``snapshots_dir`` =
  run_dir/snapshots, ``pods_dir`` = run_dir/pods, ``logs_dir`` = run_dir/logs), makes API
  clients (``kube()``; each is a plain :class:`restore_drill.k8s.Kube` over HTTP) and records
  core/v1 Events (``event(obj, "Normal"|"Warning", reason, message)``), aggregating repeats
  into ``count``/``lastTimestamp`` as the real event recorder does.
* A controller subclasses :class:`Controller`, sets ``watches`` (the Kinds it lists+watches)
  and implements ``reconcile(kind, namespace, name) -> float | None``. A reconcile is called
  with the key of an object that changed (or that someone ``enqueue``d); it reads the
  current state itself (the object may be gone) and returns the seconds after which it wants
  to be called again for this key, or None. Keys are de-duplicated: a key enqueued many times
  before it runs is reconciled once; a key is never reconciled by two workers at once.
* An exception in ``reconcile`` is written with its traceback to run_dir/logs/<name>.log and
  the key is retried with exponential back-off (50 ms doubling, capped at 5 s), like
  client-go's rate-limited queue. ``self.log`` writes to the same file.
* One thread per watched Kind lists (enqueueing every object) then watches from the list's
  resourceVersion; when the watch ends or answers 410 Gone it lists again and also enqueues
  keys that vanished meanwhile (so deletions are never missed). ``wait_synced()`` returns
  once every Kind has been listed once.
* ``start()`` / ``stop()``: stop sets a flag, wakes the workers and joins them; watch threads
  are daemons that notice the flag when their watch returns (at most ``WATCH_SECONDS``).
* ``self.kube`` is the controller's client; ``self.ctx`` the shared context.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from restore_drill.errors import KubeError
from restore_drill.k8s import EVENT, Kind, Kube

Obj = dict[str, Any]
Key = tuple[Kind, str | None, str]

WATCH_SECONDS = 20
BACKOFF_START = 0.05
BACKOFF_CAP = 5.0
COMPONENT = "sim-controller-manager"


def now() -> str:
    """An RFC 3339 timestamp (seconds, UTC), the form Kubernetes writes."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def set_condition(obj: Obj, kind: str, status: str, reason: str = "", message: str = "") -> bool:
    """Set condition ``kind`` in ``obj['status']['conditions']``; True when something changed.

    ``lastTransitionTime`` moves only when the status flips, as API conventions require.
    """
    conditions: list[Obj] = obj.setdefault("status", {}).setdefault("conditions", [])
    wanted = {"type": kind, "status": status, "reason": reason, "message": message}
    for condition in conditions:
        if condition.get("type") == kind:
            if all(condition.get(k) == v for k, v in wanted.items()):
                return False
            if condition.get("status") != status:
                condition["lastTransitionTime"] = now()
            condition.update(wanted)
            return True
    conditions.append({**wanted, "lastTransitionTime": now()})
    return True


def object_key(obj: Obj) -> tuple[str | None, str]:
    meta = obj.get("metadata") or {}
    return meta.get("namespace"), str(meta.get("name"))


@dataclass
class SimContext:
    """What all controllers of one sim cluster share (see the module docstring)."""

    run_dir: Path
    kubeconfig: Path
    component: str = COMPONENT
    _events: dict[tuple[str, ...], tuple[str, int, str]] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _kube: Kube | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.run_dir = Path(self.run_dir)
        self.kubeconfig = Path(self.kubeconfig)

    @property
    def volumes_dir(self) -> Path:
        return self.run_dir / "volumes"

    @property
    def snapshots_dir(self) -> Path:
        return self.run_dir / "snapshots"

    @property
    def pods_dir(self) -> Path:
        return self.run_dir / "pods"

    @property
    def logs_dir(self) -> Path:
        return self.run_dir / "logs"

    def kube(self) -> Kube:
        """A new API client (one per controller: watches hold connections)."""
        return Kube(self.kubeconfig)

    def _event_client(self) -> Kube:
        with self._lock:
            if self._kube is None:
                self._kube = Kube(self.kubeconfig)
            return self._kube

    def event(
        self, obj: Obj, type_: str, reason: str, message: str, component: str | None = None
    ) -> None:
        """Record a core/v1 Event about ``obj``; a repeat bumps ``count`` and lastTimestamp.

        ``component`` is the ``source.component`` (the "From" column of kubectl describe),
        by default the context's.

        Best effort, like the real recorder: failing to write an Event never fails a reconcile.
        """
        meta = obj.get("metadata") or {}
        namespace = meta.get("namespace") or "default"
        involved = {
            "apiVersion": obj.get("apiVersion"),
            "kind": obj.get("kind"),
            "name": meta.get("name"),
            "namespace": meta.get("namespace"),
            "uid": meta.get("uid"),
            "resourceVersion": meta.get("resourceVersion"),
        }
        involved = {k: v for k, v in involved.items() if v}
        aggregate = (namespace, str(meta.get("uid") or meta.get("name")), type_, reason, message)
        stamp = now()
        source = component or self.component
        kube = self._event_client()
        with self._lock:
            previous = self._events.get(aggregate)
        try:
            if previous is not None:
                name, count, first = previous
                kube.patch(EVENT, name, {"count": count + 1, "lastTimestamp": stamp}, namespace)
                with self._lock:
                    self._events[aggregate] = (name, count + 1, first)
                return
            name = f"{meta.get('name')}.{time.time_ns():x}"
            kube.create(
                {
                    "apiVersion": "v1",
                    "kind": "Event",
                    "metadata": {"name": name, "namespace": namespace},
                    "involvedObject": involved,
                    "reason": reason,
                    "message": message,
                    "type": type_,
                    "count": 1,
                    "firstTimestamp": stamp,
                    "lastTimestamp": stamp,
                    "source": {"component": source},
                    "reportingComponent": source,
                }
            )
            with self._lock:
                self._events[aggregate] = (name, 1, stamp)
        except KubeError:
            with self._lock:
                self._events.pop(aggregate, None)


class Controller:
    """A list+watch driven reconcile loop (see the module docstring for the contract)."""

    watches: tuple[Kind, ...] = ()
    workers: int = 1

    def __init__(self, ctx: SimContext) -> None:
        self.ctx = ctx
        self.name = type(self).__name__
        self.kube = ctx.kube()
        self.log = self._make_log()
        self._stopping = threading.Event()
        self._wake = threading.Condition()
        self._due: list[tuple[float, int, Key]] = []  # heap of (when, seq, key)
        self._queued: dict[Key, float] = {}  # key -> earliest due time
        self._running: set[Key] = set()
        self._again: set[Key] = set()  # enqueued while running: run once more afterwards
        self._failures: dict[Key, int] = {}
        self._seq = itertools.count()
        self._listed: set[Kind] = set()
        self._synced = threading.Event()
        self._threads: list[threading.Thread] = []

    def _make_log(self) -> logging.Logger:
        log = logging.getLogger(f"restore_drill.sim.controllers.{self.name}.{id(self):x}")
        log.propagate = False
        log.setLevel(logging.INFO)
        self.ctx.logs_dir.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(self.ctx.logs_dir / f"{self.name}.log")
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        log.addHandler(handler)
        return log

    # --- to implement ------------------------------------------------------------------

    def reconcile(self, kind: Kind, namespace: str | None, name: str) -> float | None:
        raise NotImplementedError

    # --- queue -------------------------------------------------------------------------

    def enqueue(self, kind: Kind, namespace: str | None, name: str, after: float = 0) -> None:
        """Ask for ``reconcile(kind, namespace, name)`` in ``after`` seconds (de-duplicated)."""
        key: Key = (kind, namespace, name)
        when = time.monotonic() + max(0.0, after)
        with self._wake:
            if key in self._running and after <= 0:
                self._again.add(key)
                return
            if key in self._queued and self._queued[key] <= when:
                return
            self._queued[key] = when
            heapq.heappush(self._due, (when, next(self._seq), key))
            self._wake.notify()

    def _next_key(self) -> Key | None:
        with self._wake:
            while not self._stopping.is_set():
                now_ = time.monotonic()
                while self._due and self._queued.get(self._due[0][2]) != self._due[0][0]:
                    heapq.heappop(self._due)  # superseded by an earlier entry
                if self._due and self._due[0][0] <= now_:
                    _when, _seq, key = heapq.heappop(self._due)
                    del self._queued[key]
                    if key in self._running:  # another worker has it: run again after
                        self._again.add(key)
                        continue
                    self._running.add(key)
                    return key
                wait = self._due[0][0] - now_ if self._due else None
                self._wake.wait(wait)
        return None

    def _work(self) -> None:
        while (key := self._next_key()) is not None:
            after: float | None
            try:
                after = self.reconcile(*key)
                self._failures.pop(key, None)
            except Exception:  # a controller never dies of one object
                failures = self._failures.get(key, 0) + 1
                self._failures[key] = failures
                after = min(BACKOFF_START * 2 ** (failures - 1), BACKOFF_CAP)
                self.log.exception(
                    "reconcile %s %s/%s failed (retry in %.2fs)",
                    key[0].kind,
                    key[1] or "",
                    key[2],
                    after,
                )
            with self._wake:
                self._running.discard(key)
                again = key in self._again
                self._again.discard(key)
            if again:
                self.enqueue(*key)
            elif after is not None and not self._stopping.is_set():
                self.enqueue(*key, after=after)

    # --- list + watch ------------------------------------------------------------------

    def _watch_loop(self, kind: Kind) -> None:
        kube = self.ctx.kube()  # watches block a connection: their own client
        known: set[tuple[str | None, str]] = set()
        while not self._stopping.is_set():
            try:
                listed = kube._list(kind, None, None, None)
                present = {object_key(dict(item)) for item in listed.get("items") or []}
                for namespace, name in present | known:
                    self.enqueue(kind, namespace, name)
                known = present
                self._mark_listed(kind)
                version = (listed.get("metadata") or {}).get("resourceVersion")
                for event_type, obj in kube.watch(
                    kind, resource_version=version, timeout_seconds=WATCH_SECONDS
                ):
                    if self._stopping.is_set():
                        return
                    if event_type in ("ADDED", "MODIFIED", "DELETED"):
                        key = object_key(obj)
                        if event_type == "DELETED":
                            known.discard(key)
                        else:
                            known.add(key)
                        self.enqueue(kind, *key)
            except KubeError as exc:
                if self._stopping.is_set():
                    return
                if exc.status != 410:
                    self.log.warning("watch %s: %s", kind.kind, exc)
                    self._stopping.wait(0.5)
            except Exception:  # connection dropped: list again
                if self._stopping.is_set():
                    return
                self.log.exception("watch %s broke", kind.kind)
                self._stopping.wait(0.5)

    def _mark_listed(self, kind: Kind) -> None:
        with self._wake:
            self._listed.add(kind)
            if self._listed >= set(self.watches):
                self._synced.set()

    # --- lifecycle ---------------------------------------------------------------------

    def start(self) -> Controller:
        if self._threads:
            return self
        if not self.watches:
            self._synced.set()
        for kind in self.watches:
            self._spawn(self._watch_loop, f"{self.name}-watch-{kind.kind}", kind)
        for number in range(max(1, self.workers)):
            self._spawn(self._work, f"{self.name}-worker-{number}")
        return self

    def _spawn(self, target: Any, name: str, *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def wait_synced(self, timeout: float = 10) -> bool:
        """True once every watched Kind has been listed (informer caches are warm)."""
        return self._synced.wait(timeout)

    def stop(self, timeout: float = 5) -> None:
        """Stop the workers (after their current reconcile) and let the watches lapse."""
        self._stopping.set()
        with self._wake:
            self._wake.notify_all()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            if thread.name.startswith(f"{self.name}-worker"):
                thread.join(max(0.0, deadline - time.monotonic()))
        self.on_stop()
        for handler in list(self.log.handlers):
            handler.close()
            self.log.removeHandler(handler)

    def on_stop(self) -> None:
        """Hook for controllers that own processes or threads of their own."""

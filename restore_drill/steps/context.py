"""What a drill carries from step to step: its apps, datasets, backups and clocks."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from restore_drill.data import Manifest
from restore_drill.fixtures import AppFixture
from restore_drill.k8s import Kube, Obj
from restore_drill.progress import Sink, ignore
from restore_drill.steps import clock
from restore_drill.steps.snapshots import RepositoryListing, Snapshot

if TYPE_CHECKING:
    from restore_drill.clusters.base import Cluster
    from restore_drill.objectstore import ObjectStore


@dataclass
class AppUnderTest:
    """One app of the scenario in its own namespace, with the values its fixture needs."""

    fixture: AppFixture
    namespace: str
    values: dict[str, str] = field(repr=False)  # holds the restic password and S3 keys
    instance: str = ""  # its own name when the scenario runs copies of one fixture
    profile: dict[str, Any] | None = None  # its own dataset profile (else the scenario's)

    @property
    def name(self) -> str:
        return self.instance or self.fixture.name


@dataclass
class Drill:
    """State of one running drill; steps read and extend it."""

    scenario: str
    run_id: str
    cluster: Cluster
    object_store: ObjectStore
    bucket: str
    apps: list[AppUnderTest]
    profile: dict[str, Any]
    size: str
    seed: int
    step_timeout: float
    target_seconds: float
    progress: Sink = ignore  # the drill's display (restore_drill.progress)
    created_namespaces: set[str] = field(default_factory=set)
    datasets: dict[str, dict[str, Manifest]] = field(default_factory=dict)  # label -> pvc -> m
    last_dataset: str = ""
    snapshots: dict[str, dict[str, Snapshot]] = field(default_factory=dict)  # label -> pvc -> s
    # RD latestImage -> the restic snapshot the restore that made it restored (None: nothing)
    images: dict[str, str | None] = field(default_factory=dict)
    backup_times: list[float] = field(default_factory=list)  # wall clock, newest last
    disaster_started: float | None = None  # monotonic
    disaster_wall: float | None = None
    pvc_bound: float | None = None  # monotonic, from watch events
    app_ready: float | None = None
    disaster_server: datetime | None = None  # the cluster's record of the disaster
    restored_server: datetime | None = None  # ... and of the restore's end
    app_restored: dict[str, datetime | None] = field(default_factory=dict)  # ... per app
    disaster_record_lost: bool = False  # the cluster that recorded it is gone (a rebuild)
    verify: dict[str, Any] = field(default_factory=dict)
    verify_seconds: float | None = None
    notes: list[str] = field(default_factory=list)
    counter: int = 0
    current_step: str = ""  # the step running now (the last one, once the drill has ended)
    # What a fault drill broke, with how to put it back: undone when the drill ends.
    mends: list[tuple[str, Callable[[], object]]] = field(default_factory=list)
    outage_started: float | None = None  # wall clock
    # wall clock: the fault was undone (the object store back, the locks removed)
    fault_cleared: float | None = None
    # (namespace, RS name) -> (manual tag, wall time asked) of backups that failed on a fault
    failed_backups: dict[tuple[str, str], tuple[str, float]] = field(default_factory=dict)
    # (namespace, RS name) -> (app, PVC, manual tag, wall time asked, the bucket before) of
    # backups that backup_starts left running
    running_backups: dict[
        tuple[str, str], tuple[AppUnderTest, str, str, float, RepositoryListing]
    ] = field(default_factory=dict)

    def kube(self) -> Kube:
        return self.cluster.kube()

    def volumes(self) -> Iterator[tuple[AppUnderTest, str]]:
        """Every (app, PVC name) of the drill, in the scenario's order."""
        for app in self.apps:
            for pvc in app.fixture.pvcs:
                yield app, pvc

    def profile_of(self, app: AppUnderTest) -> dict[str, Any]:
        return app.profile if app.profile is not None else self.profile

    def next_tag(self, what: str) -> str:
        self.counter += 1
        return f"drill-{self.run_id}-{what}-{self.counter}"

    def mark_disaster(self) -> None:
        self.disaster_started = time.monotonic()
        self.disaster_wall = time.time()

    def stamp_disaster(self, answer: Obj | None) -> None:
        """Keep the earliest time the API server stamped on a write of the disaster."""
        self.disaster_server = clock.earliest([self.disaster_server, clock.written_at(answer)])

    @property
    def cluster_clock_start(self) -> str:
        if self.disaster_server is not None:
            return "the API server's record of the disaster"
        return "this machine's clock (the cluster's own record went with it)"

    @property
    def cluster_rto_seconds(self) -> float | None:
        """RTO from the cluster's timestamps (the start from this machine's wall clock when
        the disaster left no record, as a torn-down cluster does)."""
        return self._cluster_seconds_to(self.restored_server)

    @property
    def app_rto_seconds(self) -> dict[str, float]:
        """Each app's RTO from the cluster's timestamps: its PVCs Bound and its pod Ready.
        The drill's RTO is the slowest app's."""
        seconds = {app: self._cluster_seconds_to(at) for app, at in self.app_restored.items()}
        return {app: value for app, value in seconds.items() if value is not None}

    def _cluster_seconds_to(self, end: datetime | None) -> float | None:
        start = self.disaster_server
        if start is None and self.disaster_wall is not None:
            start = clock.wall(self.disaster_wall)
        if start is None or end is None:
            return None
        return (end - start).total_seconds()

    @property
    def rto_seconds(self) -> float | None:
        if self.disaster_started is None or self.pvc_bound is None or self.app_ready is None:
            return None
        return max(self.pvc_bound, self.app_ready) - self.disaster_started

    @property
    def rpo_seconds(self) -> float | None:
        if self.disaster_wall is None:
            return None
        earlier = [t for t in self.backup_times if t <= self.disaster_wall]
        return self.disaster_wall - earlier[-1] if earlier else None

    def mend(self) -> None:
        """Put back what fault steps broke, newest first; a mend that fails is a note."""
        while self.mends:
            what, undo = self.mends.pop()
            try:
                undo()
            except Exception as exc:  # the verdict and the clean-up still come
                self.notes.append(f"could not mend ({what}): {type(exc).__name__}: {exc}")

    def remaining(self) -> float:
        """Deadline for recovery waits: generous past the target, so an over-target restore
        is still measured (and judged) rather than cut off."""
        return max(self.step_timeout, self.target_seconds * 2 + 30)

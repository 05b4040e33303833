"""Which backup is where: each backup's snapshot as the bucket holds it, and the snapshot
each restore took, so verify can say which backup came back by its id.

The bucket is read through the object store, not through the cluster: a repository that a
mover wrote somewhere else (a wrong endpoint, a local path) leaves no new snapshot there.
A restic snapshot's id is the SHA-256 of its file, which is the object's name under
``<repository>/snapshots/``; the mover prints the first 8 hex digits of the one it saved
("snapshot 1a2b3c4d saved") or restored ("restoring snapshot 1a2b3c4d of ..."), and
VolSync keeps those lines in ``status.latestMoverStatus.logs``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from restore_drill.errors import MeasurementError
from restore_drill.kinds import Obj, dig

if TYPE_CHECKING:
    from restore_drill.objectstore import ObjectStore
    from restore_drill.steps.context import AppUnderTest

SAVED = re.compile(r"snapshot ([0-9a-f]{8,64}) saved")
# restic 0.17+ says "restoring snapshot 1a2b3c4d of ...", older ones "restoring <Snapshot ...".
RESTORED = re.compile(r"restoring <?[sS]napshot ([0-9a-f]{8,64}) of")


@dataclass(frozen=True)
class Snapshot:
    """One restic snapshot as the bucket holds it."""

    id: str
    time: str  # the object's LastModified, UTC
    size: int  # bytes of new data packs the backup added to the repository

    @property
    def short_id(self) -> str:
        return self.id[:8]

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "time": self.time, "size": self.size}


def repository_prefix(app: AppUnderTest, pvc: str, bucket: str) -> str:
    """The repository's path inside ``bucket``, from the Secret the RS names."""
    secret = app.fixture.repository_secret(pvc)
    url = str(dig(secret, "stringData", "RESTIC_REPOSITORY") or "")
    _, found, prefix = url.partition(f"/{bucket}/")
    if not found or not prefix:
        name = secret["metadata"]["name"]
        raise MeasurementError(f"{name}: RESTIC_REPOSITORY {url!r} is not in {bucket}")
    return prefix.strip("/")


def _objects(store: ObjectStore, bucket: str, prefix: str) -> list[dict[str, Any]]:
    pages = store.s3_client().get_paginator("list_objects_v2")
    return [
        item
        for page in pages.paginate(Bucket=bucket, Prefix=prefix)
        for item in page.get("Contents", [])
    ]


class RepositoryListing:
    """The snapshots and data packs of one repository at one moment."""

    def __init__(self, store: ObjectStore, bucket: str, prefix: str) -> None:
        self.snapshots = {
            item["Key"].rsplit("/", 1)[-1]: item
            for item in _objects(store, bucket, f"{prefix}/snapshots/")
        }
        self.packs = {
            item["Key"]: int(item["Size"]) for item in _objects(store, bucket, f"{prefix}/data/")
        }

    def new_snapshot(self, before: RepositoryListing, where: str) -> Snapshot:
        """The one snapshot that is here and was not ``before``; else MeasurementError."""
        new = sorted(set(self.snapshots) - set(before.snapshots))
        if len(new) != 1:
            raise MeasurementError(
                f"{where}: the backup finished, but the bucket shows {len(new)} new snapshots "
                "where one was written: the repository is not where the drill looks, or the "
                "sync that answered was not the one the drill started"
            )
        added = sum(size for key, size in self.packs.items() if key not in before.packs)
        modified = self.snapshots[new[0]]["LastModified"]
        return Snapshot(new[0], modified.strftime("%Y-%m-%dT%H:%M:%SZ"), added)


def mover_snapshot(obj: Obj | None, pattern: re.Pattern[str]) -> str | None:
    """The snapshot id the last mover printed (SAVED or RESTORED), from the object's status."""
    logs = str(dig(obj, "status", "latestMoverStatus", "logs") or "")
    found = pattern.findall(logs)
    return str(found[-1]) if found else None


def check_saved(snapshot: Snapshot, source: Obj | None, where: str) -> None:
    """The RS's mover must have saved the snapshot the bucket shows."""
    saved = mover_snapshot(source, SAVED)
    if saved is not None and not snapshot.id.startswith(saved):
        raise MeasurementError(
            f"{where}: the mover saved snapshot {saved}, but the bucket's new snapshot is "
            f"{snapshot.short_id}"
        )


POPULATED_FROM = "volsync.backube/populated-from"  # on a PV the populator filled: ns/snapshot


def image_of(destination: Obj | None) -> str | None:
    """The RD's ``status.latestImage`` name: the VolumeSnapshot its last restore made."""
    name = dig(destination, "status", "latestImage", "name")
    return str(name) if name else None


def image_key(namespace: str, image: str) -> str:
    """An RD's latestImage in ``Drill.images``: VolumeSnapshot names repeat across
    namespaces (the RD's name and the second it was made), so the namespace is part of it."""
    return f"{namespace}/{image}"


def remember_image(images: dict[str, str | None], destination: Obj | None) -> None:
    """Note which restic snapshot the restore that made the RD's latestImage restored (None:
    it restored nothing). A later restore replaces the latestImage, but a PVC populated
    before it still names the earlier one: verify must look that one up.

    An image is noted once, when it is new: VolSync writes the next restore's mover log
    into the status before that restore's latestImage, so a status read in between pairs
    the old image with the new log (a GitOps re-sync's restore did exactly that)."""
    image = image_of(destination)
    if image is None:
        return
    key = image_key(str(dig(destination, "metadata", "namespace") or ""), image)
    if key not in images:
        images[key] = mover_snapshot(destination, RESTORED)


def populated_from(volume: Obj | None) -> str | None:
    """The VolumeSnapshot a PV was populated from (VolSync's populator annotates it)."""
    source = dig(volume, "metadata", "annotations", POPULATED_FROM)
    return str(source).rsplit("/", 1)[-1] if source else None

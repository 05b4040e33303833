"""Whether a drill's data fits, checked before anything is made: each PVC's capacity, and
on kind the free space of the disk that holds the cluster's volumes and the object store.

A drill keeps several copies of each PVC's data at once: the volume itself, the source
snapshot and its temporary PVC, the ReplicationDestination's volume and its snapshot, the
populated PVC, and both backups in the repository.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable
from pathlib import Path

from restore_drill import data, fixtures
from restore_drill.errors import UsageError
from restore_drill.kinds import dig, quantity_bytes

COPIES_PER_PVC = 8
# Space the drill needs beyond its data (images, logs, filesystems' own overhead).
HEADROOM = 2 * 2**30
# Where kind nodes and the MinIO container keep their data: Docker's data root.
DOCKER_ROOT = Path("/var/lib/docker")
FILESYSTEM_SHARE = 0.9  # a filesystem gives its files less than its size


def pvc_capacities(app: str) -> dict[str, int]:
    """Each PVC of the app's fixture and the storage it requests, in bytes."""
    found: dict[str, int] = {}
    for path, text in fixtures.raw_manifests(app):
        placeholders = {name: "x" for name in fixtures.placeholders(text)}
        for manifest in fixtures.render_text(text, placeholders, str(path)):
            if manifest.get("kind") != "PersistentVolumeClaim":
                continue
            size = quantity_bytes(dig(manifest, "spec", "resources", "requests", "storage"))
            if size:
                found[str(manifest["metadata"]["name"])] = size
    return found


def data_per_pvc(apps: Iterable[str], size: str) -> list[int]:
    """The bytes each PVC of ``apps`` gets when every one is written ``size`` of data."""
    each = data.parse_size(size)
    return [each for app in apps for _ in pvc_capacities(app)]


def check_fits_pvcs(apps: Iterable[str], size: str, option: str = "--size") -> None:
    """A one-line UsageError when ``size`` of data cannot fit a PVC it is written to."""
    wanted = data.parse_size(size, option)
    for app in apps:
        for pvc, capacity in pvc_capacities(app).items():
            if wanted > capacity * FILESYSTEM_SHARE:
                raise UsageError(
                    f"{option} {size}: PVC {pvc} of {app} holds {capacity / 2**30:g}Gi "
                    f"(fixtures/apps/{app}); use at most {_human(capacity * FILESYSTEM_SHARE)}"
                )


def check_fits_disk(pvc_sizes: Iterable[int], where: Path = DOCKER_ROOT) -> None:
    """A one-line UsageError when the drills' copies would not fit the disk at ``where``."""
    needed = sum(pvc_sizes) * COPIES_PER_PVC + HEADROOM
    probe = where if where.exists() else Path("/")
    free = shutil.disk_usage(probe).free
    if needed > free:
        raise UsageError(
            f"the drill needs about {_human(needed)} on {probe} ({COPIES_PER_PVC} copies of "
            f"each PVC's data, plus {_human(HEADROOM)}), and {_human(free)} is free"
        )


def _human(size: float) -> str:
    for unit, factor in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20)):
        if size >= factor:
            return f"{size / factor:.1f}{unit}"
    return f"{size:.0f}B"

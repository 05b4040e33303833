"""Which backup is where: the bucket's snapshots, the movers' words, and verify's verdict."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from restore_drill.errors import MeasurementError, VerificationFailed
from restore_drill.steps import STEPS, snapshots, verification
from tests.drill_stubs import stub_drill

WHEN = datetime(2026, 12, 2, 12, 0, 7, tzinfo=UTC)
OLD_ID, NEW_ID = "0ff74383" + "a" * 56, "1a2b3c4d" + "b" * 56


class Bucket:
    """list_objects_v2 over a dict of key -> size, as boto3's paginator answers."""

    def __init__(self, objects: dict[str, int]) -> None:
        self.objects = objects

    def s3_client(self) -> Bucket:
        return self

    def get_paginator(self, name: str) -> Bucket:
        assert name == "list_objects_v2"
        return self

    def paginate(self, Bucket: str, Prefix: str) -> list[dict[str, Any]]:
        items = [
            {"Key": k, "Size": size, "LastModified": WHEN}
            for k, size in sorted(self.objects.items())
            if k.startswith(Prefix)
        ]
        return [{"Contents": items[:2]}, {"Contents": items[2:]}]


def test_the_backup_is_the_one_new_snapshot_in_the_bucket() -> None:
    store = Bucket({f"app/snapshots/{OLD_ID}": 300, "app/data/00/p1": 1000})
    before = snapshots.RepositoryListing(store, "b", "app")  # type: ignore[arg-type]
    store.objects.update({f"app/snapshots/{NEW_ID}": 310, "app/data/01/p2": 4096, "other/x": 9})
    snapshot = snapshots.RepositoryListing(store, "b", "app").new_snapshot(before, "app/data")  # type: ignore[arg-type]
    assert snapshot == snapshots.Snapshot(NEW_ID, "2026-12-02T12:00:07Z", 4096)
    assert snapshot.short_id == "1a2b3c4d"


def test_a_backup_the_bucket_does_not_show_fails() -> None:
    store = Bucket({f"app/snapshots/{OLD_ID}": 300})
    before = snapshots.RepositoryListing(store, "b", "app")  # type: ignore[arg-type]
    with pytest.raises(MeasurementError, match="0 new snapshots where one was written"):
        snapshots.RepositoryListing(store, "b", "app").new_snapshot(before, "app/data")  # type: ignore[arg-type]


def status(logs: str) -> dict[str, Any]:
    return {"status": {"latestMoverStatus": {"result": "Successful", "logs": logs}}}


def test_the_movers_own_words_name_the_snapshot() -> None:
    saved = status(
        "processed 12 files, 1.0 MiB in 0:01\nsnapshot 1a2b3c4d saved\nRestic completed in 3s"
    )
    restored = status(
        "repository f5bccd54 opened (version 2) successfully, password is correct\n"
        "restoring <Snapshot 0ff74383 of [/data] at 2026-12-02 12:00:01 +0000 UTC by "
        "volsync@volsync> to .\nRestic completed in 9s"
    )
    assert snapshots.mover_snapshot(saved, snapshots.SAVED) == "1a2b3c4d"
    assert snapshots.mover_snapshot(restored, snapshots.RESTORED) == "0ff74383"
    assert snapshots.mover_snapshot({"status": {}}, snapshots.RESTORED) is None
    restic_18 = status("restoring snapshot 9aed54e3 of [/data] at 2026-12-02 by root@x to .")
    assert snapshots.mover_snapshot(restic_18, snapshots.RESTORED) == "9aed54e3"
    new = snapshots.Snapshot(NEW_ID, "t", 1)
    snapshots.check_saved(new, saved, "app/data")
    with pytest.raises(MeasurementError, match="saved snapshot 0ff74383, but the bucket's"):
        snapshots.check_saved(new, status("snapshot 0ff74383 saved"), "app/data")


def test_the_repository_path_comes_from_the_secret_the_rs_names(tmp_path: Path) -> None:
    d = stub_drill(tmp_path, kube=None)
    app = d.apps[0]
    assert (
        snapshots.repository_prefix(app, app.fixture.pvcs[0], d.bucket)
        == "home-assistant/home-assistant"
    )
    with pytest.raises(MeasurementError, match="is not in other-bucket"):
        snapshots.repository_prefix(app, app.fixture.pvcs[0], "other-bucket")


def newer_backed_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kube: Any) -> tuple[Any, str]:
    """A drill whose dataset 'newer' was backed up as NEW_ID and restored intact."""
    from restore_drill import data

    d = stub_drill(tmp_path, kube=kube)
    d.profile, d.size = data.load_profile("media"), "1KiB"
    data.write_dataset(d.profile, 1, 1024, tmp_path / "newer")
    written = data.manifest_of(tmp_path / "newer")
    key = f"{d.apps[0].name}/{d.apps[0].fixture.pvcs[0]}"
    d.datasets, d.last_dataset = {"newer": {key: written}}, "newer"
    d.snapshots = {"newer": {key: snapshots.Snapshot(NEW_ID, "t", 1)}}
    monkeypatch.setattr(verification, "list_all_data", lambda drill: {key: written})
    return d, key


class RestoredKube:
    def __init__(self, short_id: str) -> None:
        self.short_id = short_id

    def find(self, kind: Any, name: str, namespace: Any = None) -> dict[str, Any]:
        return status(f"restoring <Snapshot {self.short_id} of [/data] at t by v> to .")


def test_verify_fails_when_the_rd_restored_another_snapshot(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    d, key = newer_backed_up(tmp_path, monkeypatch, RestoredKube("0ff74383"))
    with pytest.raises(VerificationFailed, match="restored snapshot 0ff74383, but the backup"):
        STEPS["verify"].run(d)
    d.cluster._kube = RestoredKube("")  # type: ignore[attr-defined]
    with pytest.raises(VerificationFailed, match="names no restored snapshot"):
        STEPS["verify"].run(d)
    d.cluster._kube = RestoredKube("1a2b3c4d")  # type: ignore[attr-defined]
    STEPS["verify"].run(d)
    assert d.verify["pvcs"][key]["snapshot_restored"] == "1a2b3c4d"


class PopulatedKube:
    """The PVC's PV was populated from snap-0; the RD has restored again since (snap-1)."""

    def find(self, kind: Any, name: str, namespace: Any = None) -> dict[str, Any]:
        if kind.kind == "PersistentVolumeClaim":
            return {"spec": {"volumeName": "pv-1"}}
        if kind.kind == "PersistentVolume":
            return {"metadata": {"annotations": {snapshots.POPULATED_FROM: "ns/snap-0"}}}
        rd = status("restoring snapshot 1a2b3c4d of [/data] at t by v to .")
        rd["status"]["latestImage"] = {"name": "snap-1"}
        return rd


def test_verify_judges_the_restore_that_filled_the_volume_not_the_latest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    d, key = newer_backed_up(tmp_path, monkeypatch, PopulatedKube())
    d.images = {f"{d.apps[0].namespace}/snap-0": "0ff74383"}  # noted when snap-0 was made
    with pytest.raises(VerificationFailed, match="restored snapshot 0ff74383, but the backup"):
        STEPS["verify"].run(d)
    assert d.verify["pvcs"][key]["populated_from"] == "snap-0"


def test_an_image_keeps_the_restore_that_made_it_when_the_next_log_comes_first() -> None:
    """VolSync writes the next restore's mover log before that restore's latestImage: a
    status read in between must not pair the old image with the new log."""
    image = {"name": "volsync-restore-dest-1"}
    metadata = {"namespace": "ns"}
    made_empty = {
        "metadata": metadata,
        "status": {"latestImage": image, "latestMoverStatus": {"logs": "No eligible"}},
    }
    images: dict[str, str | None] = {}
    snapshots.remember_image(images, made_empty)
    assert images == {"ns/volsync-restore-dest-1": None}
    in_between = {
        "metadata": metadata,
        "status": {
            "latestImage": image,
            "latestMoverStatus": {"logs": "restoring snapshot 919fc6a6 of [/data]"},
        },
    }
    snapshots.remember_image(images, in_between)
    assert images == {"ns/volsync-restore-dest-1": None}
    next_image = {**in_between["status"], "latestImage": {"name": "volsync-restore-dest-2"}}
    snapshots.remember_image(images, {"metadata": metadata, "status": next_image})
    assert images["ns/volsync-restore-dest-2"] == "919fc6a6"


def test_images_of_the_same_name_in_two_namespaces_are_told_apart() -> None:
    """Copies of one app make VolumeSnapshots of one name (the RD's and the second): each
    restore's snapshot is kept for its own namespace."""
    images: dict[str, str | None] = {}
    for namespace, snapshot in (("app-1", "339b170c"), ("app-2", "b6fa84e4")):
        snapshots.remember_image(
            images,
            {
                "metadata": {"namespace": namespace},
                "status": {
                    "latestImage": {"name": "volsync-restore-dest-20261203100031"},
                    "latestMoverStatus": {"logs": f"restoring snapshot {snapshot} of [/data]"},
                },
            },
        )
    assert images == {
        "app-1/volsync-restore-dest-20261203100031": "339b170c",
        "app-2/volsync-restore-dest-20261203100031": "b6fa84e4",
    }

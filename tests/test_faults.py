"""The faults a negative drill injects strike the repositories the drill really uses."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from restore_drill.errors import ObjectStoreError
from restore_drill.steps import FAULTS, snapshots
from tests.drill_stubs import stub_drill


class Bucket:
    """list_objects_v2 and put_object over a dict of key -> body."""

    def __init__(self, objects: dict[str, bytes]) -> None:
        self.objects = objects

    def s3_client(self) -> Bucket:
        return self

    def list_objects_v2(self, Bucket: str, Prefix: str, MaxKeys: int) -> dict[str, Any]:
        keys = sorted(k for k in self.objects if k.startswith(Prefix))[:MaxKeys]
        return {"Contents": [{"Key": k} for k in keys]} if keys else {}

    def put_object(self, Bucket: str, Key: str, Body: bytes) -> None:
        self.objects[Key] = Body


def test_corrupt_repository_overwrites_the_config_of_every_repository_in_use(
    tmp_path: Path,
) -> None:
    d = stub_drill(tmp_path, kube=None, scenario="fleet-cluster-rebuild")
    configs = [
        f"{snapshots.repository_prefix(app, pvc, d.bucket)}/config" for app, pvc in d.volumes()
    ]
    # Each copy of an app has its own repository, named after the copy, not the PVC.
    assert len(set(configs)) == len(configs) > 1
    assert "home-assistant-2/home-assistant/config" in configs
    bucket = Bucket({key: b"restic config" for key in configs})
    d.object_store = bucket  # type: ignore[assignment]
    FAULTS["corrupt-repository"].run(d)
    assert all(bucket.objects[key] == b"corrupted by the drill" for key in configs)


def test_corrupt_repository_refuses_to_strike_a_repository_that_is_not_there(
    tmp_path: Path,
) -> None:
    d = stub_drill(tmp_path, kube=None)
    d.object_store = Bucket({"home-assistant/config": b"restic config"})  # type: ignore[assignment]
    with pytest.raises(ObjectStoreError, match="nothing to corrupt"):
        FAULTS["corrupt-repository"].run(d)

"""VolumeSnapshots on the sim: point-in-time directory copies, restore into new PVCs, classes."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

from restore_drill.clusters.sim.cluster import SimCluster
from restore_drill.k8s import (
    PVC,
    VOLUME_SNAPSHOT,
    VOLUME_SNAPSHOT_CLASS,
    VOLUME_SNAPSHOT_CONTENT,
    Kube,
)
from tests.sim.cluster_support import NS, gone, phase, pvc, sim_cluster, wait
from tests.sim.volsync_support import wait_event

__all__ = ["sim_cluster"]


def snapshot(name: str, claim: str, snapshot_class: str | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"source": {"persistentVolumeClaimName": claim}}
    if snapshot_class:
        spec["volumeSnapshotClassName"] = snapshot_class
    return {
        "apiVersion": "snapshot.storage.k8s.io/v1",
        "kind": "VolumeSnapshot",
        "metadata": {"name": name, "namespace": NS},
        "spec": spec,
    }


def tree(root: Path) -> dict[str, tuple[Any, ...]]:
    """Everything that must survive a copy; hard links as the set of names sharing an inode."""
    inodes: dict[int, list[str]] = {}
    entries: dict[str, tuple[Any, ...]] = {}
    for path in sorted(root.rglob("*")):
        st = path.lstat()
        rel = str(path.relative_to(root))
        inodes.setdefault(st.st_ino, []).append(rel)
        body = (
            os.readlink(path)
            if path.is_symlink()
            else path.read_bytes()
            if stat.S_ISREG(st.st_mode)
            else None
        )
        entries[rel] = (
            stat.S_IFMT(st.st_mode),
            stat.S_IMODE(st.st_mode),
            st.st_uid,
            st.st_gid,
            int(st.st_mtime),
            body,
        )
    links = {rel: tuple(names) for names in inodes.values() for rel in names if len(names) > 1}
    return {rel: (*value, links.get(rel)) for rel, value in entries.items()}


def fill(directory: Path) -> None:
    (directory / "docs" / "deep").mkdir(parents=True)
    (directory / "empty").mkdir()
    (directory / "docs" / "a.txt").write_bytes(b"alpha" * 1000)
    os.chmod(directory / "docs" / "a.txt", 0o640)
    os.chmod(directory / "docs" / "deep", 0o700)
    os.link(directory / "docs" / "a.txt", directory / "hard-a")
    os.symlink("docs/a.txt", directory / "link")
    os.symlink("nowhere", directory / "dangling")
    (directory / "owned").write_text("x")
    os.chown(directory / "owned", 1234, 2345)


def volume(cluster: SimCluster, kube: Kube, claim: str) -> Path:
    bound = wait(kube, PVC, claim, lambda p: phase(p) == "Bound")
    return cluster.run_dir / "volumes" / bound["spec"]["volumeName"]


def test_pvc_from_snapshot_has_identical_bytes(sim_cluster: SimCluster) -> None:
    kube = sim_cluster.kube()
    kube.create(pvc("source"))
    source = volume(sim_cluster, kube, "source")
    fill(source)
    expected = tree(source)
    kube.create(snapshot("snap", "source"))
    ready = wait(
        kube, VOLUME_SNAPSHOT, "snap", lambda s: bool(s.get("status", {}).get("readyToUse"))
    )
    assert ready["spec"]["volumeSnapshotClassName"] == "csi-hostpath-snapclass"  # the default
    assert ready["status"]["restoreSize"] == "1Gi"
    content_name = ready["status"]["boundVolumeSnapshotContentName"]
    assert content_name == f"snapcontent-{ready['metadata']['uid']}"
    (source / "written-after").write_text("not in the snapshot")  # point in time
    ref = {"apiGroup": "snapshot.storage.k8s.io", "kind": "VolumeSnapshot", "name": "snap"}
    kube.create(pvc("restored", dataSource=ref, dataSourceRef=ref))
    restored = volume(sim_cluster, kube, "restored")
    assert tree(restored) == expected
    assert tree(restored)["hard-a"][-1] == ("docs/a.txt", "hard-a")  # still one inode


def test_deleting_a_snapshot_deletes_its_content_and_copy(sim_cluster: SimCluster) -> None:
    kube = sim_cluster.kube()
    kube.create(pvc("source"))
    volume(sim_cluster, kube, "source")
    kube.create(snapshot("snap", "source"))
    ready = wait(
        kube, VOLUME_SNAPSHOT, "snap", lambda s: bool(s.get("status", {}).get("readyToUse"))
    )
    content = ready["status"]["boundVolumeSnapshotContentName"]
    assert (sim_cluster.run_dir / "snapshots" / content).is_dir()
    assert (
        "snapshot.storage.kubernetes.io/volumesnapshot-bound-protection"
        in ready["metadata"]["finalizers"]
    )
    kube.delete(VOLUME_SNAPSHOT, "snap", NS)
    gone(kube, VOLUME_SNAPSHOT, "snap")
    gone(kube, VOLUME_SNAPSHOT_CONTENT, content, None)
    assert not (sim_cluster.run_dir / "snapshots" / content).exists()


def test_missing_snapshot_class_is_an_event_and_never_ready(sim_cluster: SimCluster) -> None:
    kube = sim_cluster.kube()
    kube.create(pvc("source"))
    volume(sim_cluster, kube, "source")
    kube.create(snapshot("snap", "source", snapshot_class="no-such-class"))
    wait_event(kube, "snap", "GetSnapshotClassFailed", NS)
    failed = wait(kube, VOLUME_SNAPSHOT, "snap", lambda s: bool(s.get("status", {}).get("error")))
    assert failed["status"]["readyToUse"] is False
    assert "no-such-class" in failed["status"]["error"]["message"]
    assert not failed["status"].get("boundVolumeSnapshotContentName")
    assert kube.list(VOLUME_SNAPSHOT_CONTENT) == []


def test_no_default_class_for_the_driver_is_reported(sim_cluster: SimCluster) -> None:
    kube = sim_cluster.kube()
    kube.delete(VOLUME_SNAPSHOT_CLASS, "csi-hostpath-snapclass")
    kube.create(pvc("source"))
    volume(sim_cluster, kube, "source")
    kube.create(snapshot("snap", "source"))
    wait_event(kube, "snap", "SetDefaultSnapshotClassFailed", NS)
    failed = wait(kube, VOLUME_SNAPSHOT, "snap", lambda s: bool(s.get("status", {}).get("error")))
    assert failed["status"]["readyToUse"] is False
    assert "cannot find default snapshot class" in failed["status"]["error"]["message"]

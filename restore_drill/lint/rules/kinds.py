"""Objects the API server would reject: a wrong kind or version in a known API (RD908)."""

from __future__ import annotations

from collections.abc import Iterator

from restore_drill.lint.catalog import finding
from restore_drill.lint.findings import Finding
from restore_drill.lint.model import Model
from restore_drill.lint.policy import Policy

KNOWN = {
    "volsync.backube": ("v1alpha1", {"ReplicationSource", "ReplicationDestination"}),
    "snapshot.storage.k8s.io": (
        "v1",
        {"VolumeSnapshot", "VolumeSnapshotClass", "VolumeSnapshotContent"},
    ),
}
KIND_GROUP = {kind: group for group, (_, kinds) in KNOWN.items() for kind in kinds}


def check_api_versions(model: Model, policy: Policy) -> Iterator[Finding]:
    for obj in model.objects:
        group, _, version = obj.api_version.rpartition("/")
        expected_group = KIND_GROUP.get(obj.kind)
        if group in KNOWN:
            served, kinds = KNOWN[group]
            if obj.kind in kinds and version == served:
                continue
            problem = f"{obj.api_version} {obj.kind}: " + (
                "no such kind" if obj.kind not in kinds else f"only {served} is served"
            )
        elif expected_group is not None:
            problem = f"{obj.kind} belongs to {expected_group}, not {obj.api_version or '(none)'}"
        else:
            continue
        yield finding(
            "RD908",
            f"{obj.file}: {obj.kind} {obj.namespace}/{obj.name}: {problem}; "
            "the API server would reject it",
            file=obj.file,
            **obj.where(),
        )

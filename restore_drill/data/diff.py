"""Exact comparison of two manifests: missing, extra, changed (per field), marker present.

The default is strict: every field the agent records must match. A profile may ignore a
field that restic or a storage class cannot keep, but only with a written reason, which the
report prints beside the verdict.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from restore_drill.data.manifest import Manifest
from restore_drill.errors import UsageError

# Fields compared for every entry, in report order; absent means the default on the right.
COMPARED_FIELDS: dict[str, Any] = {
    "type": None,
    "size": None,
    "sha256": None,
    "target": None,
    "mode": None,
    "uid": None,
    "gid": None,
    "link_group": None,
    "xattrs": {},
    "sparse": False,
    "error": None,
}
# What a policy may ignore: never the content (type, size, sha256, target).
IGNORABLE_FIELDS = frozenset({"mode", "uid", "gid", "link_group", "xattrs", "sparse"})


@dataclass(frozen=True)
class Policy:
    """Fields left out of the comparison, each with the reason a person can read."""

    ignore: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_profile(cls, profile: Mapping[str, Any]) -> Policy:
        return cls.parse(profile.get("policy") or {}, where=f"profile {profile.get('name')!r}")

    @classmethod
    def parse(cls, raw: Mapping[str, Any], where: str = "policy") -> Policy:
        ignore = raw.get("ignore") or {}
        if not isinstance(ignore, Mapping):
            raise UsageError(f"{where}: policy.ignore must map a field to the reason it is ignored")
        unknown = sorted(set(ignore) - IGNORABLE_FIELDS)
        if unknown:
            raise UsageError(
                f"{where}: cannot ignore {', '.join(unknown)}; "
                f"ignorable fields are {', '.join(sorted(IGNORABLE_FIELDS))}"
            )
        missing_reason = sorted(name for name, reason in ignore.items() if not str(reason or ""))
        if missing_reason:
            raise UsageError(f"{where}: give a reason for ignoring {', '.join(missing_reason)}")
        return cls(ignore={str(name): str(reason).strip() for name, reason in ignore.items()})


STRICT = Policy()


@dataclass(frozen=True)
class Change:
    path: str
    field: str
    expected: Any
    actual: Any

    def __str__(self) -> str:
        return f"changed {self.path}: {self.field} {self.expected!r} -> {self.actual!r}"


@dataclass(frozen=True)
class Diff:
    """The verdict of one comparison; ``ok`` only when nothing differs and no marker is left."""

    missing: list[str]
    extra: list[str]
    changed: list[Change]
    marker_present: bool
    policy: Policy = STRICT

    @property
    def ok(self) -> bool:
        return not (self.missing or self.extra or self.changed or self.marker_present)

    @property
    def changed_paths(self) -> list[str]:
        return sorted({change.path for change in self.changed})

    def as_dict(self, limit: int = 100) -> dict[str, Any]:
        """For JSON reports: the verdict, the counts and the first ``limit`` of each list."""
        return {
            "ok": self.ok,
            "counts": {
                "missing": len(self.missing),
                "extra": len(self.extra),
                "changed": len(self.changed),
            },
            "missing": self.missing[:limit],
            "extra": self.extra[:limit],
            "changed": [
                {"path": c.path, "field": c.field, "expected": c.expected, "actual": c.actual}
                for c in self.changed[:limit]
            ],
            "marker_present": self.marker_present,
            "not_compared": dict(sorted(self.policy.ignore.items())),
        }

    def summary(self, limit: int = 20) -> str:
        """Counts first, then the first ``limit`` differences, then the ignored fields."""
        if self.ok:
            lines = ["identical: no missing, extra or changed entries; no post-backup marker"]
        else:
            lines = [
                f"DIFFERENT: {len(self.missing)} missing, {len(self.extra)} extra, "
                f"{len(self.changed)} changed field(s) in {len(self.changed_paths)} entries"
            ]
            if self.marker_present:
                lines.append("  post-backup marker present: restored data is newer than the backup")
            details = [f"missing {path}" for path in self.missing]
            details += [f"extra {path}" for path in self.extra]
            details += [str(change) for change in self.changed]
            lines += ["  " + line for line in details[:limit]]
            if len(details) > limit:
                lines.append(f"  ... and {len(details) - limit} more")
        for name, reason in sorted(self.policy.ignore.items()):
            lines.append(f"not compared: {name} ({reason})")
        return "\n".join(lines)


def diff_manifests(
    expected: Manifest, actual: Manifest, policy: Policy | Mapping[str, Any] | None = None
) -> Diff:
    """Compare ``actual`` (after restore) with ``expected`` (written before the backup)."""
    if not isinstance(policy, Policy):
        policy = Policy.parse(policy or {})
    fields = [name for name in COMPARED_FIELDS if name not in policy.ignore]
    changed = []
    for path in sorted(expected.entries.keys() & actual.entries.keys()):
        before, after = expected.entries[path], actual.entries[path]
        for name in fields:
            default = COMPARED_FIELDS[name]
            old, new = before.get(name, default), after.get(name, default)
            if old != new:
                changed.append(Change(path, name, old, new))
    return Diff(
        missing=sorted(expected.entries.keys() - actual.entries.keys()),
        extra=sorted(actual.entries.keys() - expected.entries.keys()),
        changed=changed,
        marker_present=actual.marker_present,
        policy=policy,
    )

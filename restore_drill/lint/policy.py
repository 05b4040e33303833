"""What the repository is judged against: backup tiers, restore timing, cache names.

The default is the user's design (tiers of docs in /work/shared/mission.md); ``--policy FILE``
replaces any part of it with a YAML file of the same shape (see docs/lint.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from croniter import croniter

from restore_drill.errors import UsageError


@dataclass(frozen=True)
class Tier:
    name: str
    backup_schedule: str
    restore_schedule: str
    retain: dict[str, int]
    apps: tuple[str, ...]


@dataclass(frozen=True)
class Policy:
    tiers: tuple[Tier, ...]
    min_restore_gap_minutes: int = 15
    cache_name_patterns: tuple[str, ...] = ("cache", "tmp", "temp", "scratch", "transcode")
    cache_label_values: tuple[str, ...] = ("cache",)
    backed_up_storage_classes: tuple[str, ...] = field(default=())

    def tier_of(self, app: str) -> Tier | None:
        return next((t for t in self.tiers if app in t.apps), None)

    def tier_named(self, name: str) -> Tier:
        for tier in self.tiers:
            if tier.name == name:
                return tier
        raise UsageError(f"unknown tier {name!r} (known: {', '.join(t.name for t in self.tiers)})")


DEFAULT_POLICY: dict[str, Any] = {
    "min_restore_gap_minutes": 15,
    "tiers": {
        "critical": {
            "backup_schedule": "0 * * * *",
            "restore_schedule": "30 * * * *",
            "retain": {"hourly": 24, "daily": 7},
            "apps": [
                "home-assistant",
                "paperless-ngx",
                "karakeep",
                "meilisearch",
                "n8n",
                "immich",
                "open-webui",
                "khoj",
            ],
        },
        "non-critical": {
            "backup_schedule": "0 2 * * *",
            "restore_schedule": "30 2 * * *",
            "retain": {"daily": 14},
            "apps": [
                "container-registry",
                "redis",
                "mqtt",
                "searxng",
                "fizzy",
                "nginx",
                "jellyfin",
                "nestmtx",
                "homepage",
                "plex",
            ],
        },
    },
}

_RETAIN_KEYS = ("hourly", "daily", "weekly", "monthly", "yearly", "last")


def default_policy() -> Policy:
    return parse_policy(DEFAULT_POLICY, "default policy")


def load_policy(path: Path | None) -> Policy:
    if path is None:
        return default_policy()
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise UsageError(f"policy {path}: cannot be read: {exc}") from exc
    if not isinstance(raw, dict):
        raise UsageError(f"policy {path}: expected a mapping at the top")
    return parse_policy({**DEFAULT_POLICY, **raw}, str(path))


def parse_policy(raw: dict[str, Any], where: str) -> Policy:
    tiers = raw.get("tiers")
    if not isinstance(tiers, dict) or not tiers:
        raise UsageError(f"{where}: 'tiers' must be a mapping of tier name to settings")
    parsed = tuple(_tier(name, body, where) for name, body in tiers.items())
    gap = raw.get("min_restore_gap_minutes", 15)
    if not isinstance(gap, int) or gap < 0:
        raise UsageError(f"{where}: min_restore_gap_minutes must be a whole number of minutes")
    return Policy(
        tiers=parsed,
        min_restore_gap_minutes=gap,
        cache_name_patterns=_strings(raw, "cache_name_patterns", Policy.cache_name_patterns, where),
        cache_label_values=_strings(raw, "cache_label_values", Policy.cache_label_values, where),
        backed_up_storage_classes=_strings(raw, "backed_up_storage_classes", (), where),
    )


def _tier(name: str, body: object, where: str) -> Tier:
    if not isinstance(body, dict):
        raise UsageError(f"{where}: tier {name} must be a mapping")
    schedules = []
    for key in ("backup_schedule", "restore_schedule"):
        value = body.get(key)
        if not isinstance(value, str) or not croniter.is_valid(value):
            raise UsageError(f"{where}: tier {name}: {key} must be a cron expression")
        schedules.append(value)
    retain = body.get("retain", {})
    if not isinstance(retain, dict) or any(
        k not in _RETAIN_KEYS or not isinstance(v, int) for k, v in retain.items()
    ):
        raise UsageError(f"{where}: tier {name}: retain takes {', '.join(_RETAIN_KEYS)}: N")
    apps = body.get("apps", [])
    if not isinstance(apps, list) or not all(isinstance(a, str) for a in apps):
        raise UsageError(f"{where}: tier {name}: apps must be a list of names")
    return Tier(str(name), schedules[0], schedules[1], dict(retain), tuple(apps))


def _strings(
    raw: dict[str, Any],
    key: str,
    default: tuple[str, ...],
    where: str,
) -> tuple[str, ...]:
    value = raw.get(key, list(default))
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise UsageError(f"{where}: {key} must be a list of strings")
    return tuple(value)

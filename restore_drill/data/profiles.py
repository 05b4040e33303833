"""Dataset profiles: fixtures/datasets/<name>.yaml, checked, and turned into the agent's JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from restore_drill.data.agent import sizes
from restore_drill.data.diff import Policy
from restore_drill.errors import UsageError

DATASETS_DIR = Path(__file__).resolve().parents[2] / "fixtures" / "datasets"

# Required keys per part kind (the agent reads them; a typo should fail here, not in a pod).
PART_KEYS: dict[str, tuple[str, ...]] = {
    "sqlite": ("path",),
    "small-files": ("dir", "min_size", "max_size"),
    "large-files": ("dir",),
    "config-files": ("files",),
    "edge-cases": (),
}
SIZE_KEYS = ("min_size", "max_size", "wal_max")


def list_profiles(directory: Path = DATASETS_DIR) -> list[str]:
    return sorted(path.stem for path in directory.glob("*.yaml"))


def load_profile(name: str, directory: Path = DATASETS_DIR) -> dict[str, Any]:
    """The profile called ``name`` (or a path to a YAML file), validated."""
    path = Path(name) if name.endswith((".yaml", ".yml")) else directory / f"{name}.yaml"
    if not path.is_file():
        known = ", ".join(list_profiles(directory)) or "none"
        raise UsageError(f"unknown dataset profile {name!r} (known: {known})")
    try:
        profile = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise UsageError(f"{path}: not valid YAML: {exc}") from None
    validate_profile(profile, where=str(path))
    return dict(profile)


def validate_profile(profile: Any, where: str = "profile") -> None:
    if not isinstance(profile, dict) or not isinstance(profile.get("name"), str):
        raise UsageError(f"{where}: a profile is a mapping with a 'name'")
    parts = profile.get("parts")
    if not isinstance(parts, list) or not parts:
        raise UsageError(f"{where}: 'parts' must be a non-empty list")
    total = 0.0
    for index, part in enumerate(parts):
        here = f"{where}: parts[{index}]"
        kind = part.get("kind") if isinstance(part, dict) else None
        if kind not in PART_KEYS:
            raise UsageError(f"{here}: kind must be one of {', '.join(sorted(PART_KEYS))}")
        missing = [key for key in PART_KEYS[kind] if key not in part]
        if missing:
            raise UsageError(f"{here}: {kind} needs {', '.join(missing)}")
        for key in SIZE_KEYS:
            if key in part:
                parse_size(str(part[key]), what=f"{here}.{key}")
        total += float(part.get("share", 0))
    if total > 1.0001:
        raise UsageError(f"{where}: the parts' shares add up to {total:.2f}, more than 1")
    if "default_size" in profile:
        parse_size(str(profile["default_size"]), what=f"{where}: default_size")
    Policy.from_profile(profile)


def parse_size(text: str, what: str = "size") -> int:
    """'4MiB' -> 4194304; a UsageError that names the option otherwise."""
    try:
        return sizes.parse_size(text)
    except ValueError as exc:
        # The agent's message starts "size ...": said once, after the option's name.
        raise UsageError(f"{what}: {str(exc).removeprefix('size ')}") from None


def dataset_floor(profile: dict[str, Any], size: int) -> tuple[int, int]:
    """The least a dataset of ``profile`` at ``size`` holds: (files, bytes). Every part
    writes at least one file and at least its share of the size (the writer's budget)."""
    parts = profile["parts"]
    return len(parts), sum(int(size * float(part.get("share", 0))) for part in parts)


def profile_json(profile: dict[str, Any]) -> str:
    """The form the agent reads from its ConfigMap (key ``profile.json``)."""
    return json.dumps(profile, sort_keys=True, indent=1)

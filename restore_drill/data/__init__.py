"""Checksummed datasets: profiles, the data agent, manifests and their exact comparison.

The agent (``data/agent/``, run as ``agent.py``) is a few stdlib-only modules that run next
to the data (in a pod, or as a local process in tests); this package ships them and reads
what they print. Hashing happens where the data is; only manifests travel.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from restore_drill.data import damage
from restore_drill.data.agent import check, tree, writer
from restore_drill.data.diff import STRICT, Change, Diff, Policy, diff_manifests
from restore_drill.data.manifest import (
    Manifest,
    load_manifest,
    manifest_lines,
    manifest_of,
    read_manifest,
)
from restore_drill.data.profiles import (
    DATASETS_DIR,
    dataset_floor,
    list_profiles,
    load_profile,
    parse_size,
    profile_json,
)
from restore_drill.errors import UsageError

# Pods run the agent with the cluster's agent image (pinned in clusters/addons.yaml);
# only the stdlib is used, and the agent stays Python 3.9-compatible.
AGENT_MOUNT = "/agent"  # ConfigMap: the agent's modules, profile.json, damage.py
DATA_MOUNT = "/data"  # the PVC under test
MARKER_NAME = tree.MARKER_NAME
AGENT_DIR = Path(tree.__file__).parent

__all__ = [
    "AGENT_MOUNT",
    "DATASETS_DIR",
    "DATA_MOUNT",
    "MARKER_NAME",
    "STRICT",
    "Change",
    "Diff",
    "Manifest",
    "Policy",
    "agent_command",
    "agent_files",
    "agent_modules",
    "check_dataset",
    "dataset_floor",
    "diff_manifests",
    "list_profiles",
    "load_manifest",
    "load_profile",
    "manifest_lines",
    "manifest_of",
    "mark",
    "parse_size",
    "profile_json",
    "read_manifest",
    "write_dataset",
]


def agent_modules() -> dict[str, str]:
    """The agent's modules by file name (``agent.py`` runs them), one ConfigMap key each."""
    return {
        path.name: path.read_text(encoding="utf-8")
        for path in sorted(AGENT_DIR.glob("*.py"))
        if path.name != "__init__.py"  # the local package's; agent.py makes the pod's
    }


def agent_files(profile: dict[str, Any]) -> dict[str, str]:
    """ConfigMap data: the agent, the profile it writes, and the selftest's damage script."""
    return {
        **agent_modules(),
        "profile.json": profile_json(profile),
        "damage.py": Path(damage.__file__).read_text(encoding="utf-8"),
    }


def agent_command(action: str, *, seed: int | None = None, size: str | None = None) -> list[str]:
    """The container command for one agent action on the data mount."""
    command = ["python3", f"{AGENT_MOUNT}/agent.py", action]
    if action == "write":
        if seed is None or size is None:
            raise UsageError("agent write needs a seed and a size")
        parse_size(size)
        command += ["--profile-file", f"{AGENT_MOUNT}/profile.json"]
        command += ["--seed", str(seed), "--size", size]
    elif action not in ("manifest", "mark", "check"):
        raise UsageError(f"unknown agent action {action!r}")
    return [*command, "--root", DATA_MOUNT]


def write_dataset(
    profile: dict[str, Any], seed: int, size: int, root: str | Path
) -> dict[str, Any]:
    """Write a dataset into an empty local directory (the agent's own code, in process)."""
    try:
        return writer.write_dataset(str(root), profile, seed, size)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def mark(root: str | Path) -> Path:
    return Path(tree.mark(str(root)))


def check_dataset(root: str | Path) -> list[str]:
    """App-level problems (SQLite integrity_check); empty when the data is usable."""
    return check.check(str(root))

"""The command-line tools a kind cluster is driven with (kind, kubectl, helm): the ones
built by ``restore-drill images build`` when present, else whatever is on PATH."""

from __future__ import annotations

import os
import shutil

from restore_drill.images.cache import cache_dir

TOOLS = ("kind", "kubectl", "helm")


def tool(name: str) -> str:
    """Path of ``name``: the pinned build in the cache first, so its version is the pin."""
    built = cache_dir() / "bin" / name
    if built.is_file() and os.access(built, os.X_OK):
        return str(built)
    return shutil.which(name) or name


def missing_tools(names: tuple[str, ...] = TOOLS) -> list[str]:
    return [name for name in names if not os.path.isfile(tool(name))]

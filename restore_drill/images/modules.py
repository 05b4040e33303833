"""Files that ship inside Go modules (CRDs, deploy manifests, Helm charts, scripts), read
from the local module cache: on a machine without a registry, the module proxy is where
upstream's files come from."""

from __future__ import annotations

import json
import os
import subprocess
from functools import cache
from pathlib import Path

from restore_drill.errors import ImageBuildFailed


@cache
def module_dir(module: str, version: str) -> Path:
    """The unpacked module ``module@version`` (downloaded once; read-only afterwards)."""
    try:
        done = subprocess.run(
            ["go", "mod", "download", "-json", f"{module}@{version}"],
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
            env={**os.environ, "GOFLAGS": "-mod=mod"},
        )
    except FileNotFoundError:
        raise ImageBuildFailed("go is not installed: it fetches the pinned modules") from None
    try:
        info = json.loads(done.stdout or "{}")
    except json.JSONDecodeError:
        info = {}
    if done.returncode != 0 or not info.get("Dir"):
        why = info.get("Error") or (done.stderr or "").strip()[-300:]
        raise ImageBuildFailed(f"go mod download {module}@{version}: {why}")
    return Path(info["Dir"])

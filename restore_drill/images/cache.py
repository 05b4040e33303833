"""Where builds are cached (per version, under the user's cache directory) and how a
build's inputs are fingerprinted, so a changed input rebuilds and nothing else does."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from pathlib import Path


def cache_dir() -> Path:
    """``$RESTORE_DRILL_CACHE``, else ``$XDG_CACHE_HOME/restore-drill``, else ``~/.cache/...``."""
    explicit = os.environ.get("RESTORE_DRILL_CACHE")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "restore-drill"


def fingerprint(*parts: str | Path | Iterable[Path]) -> str:
    """A short hash over strings and files (a directory counts with every file below it)."""
    digest = hashlib.sha256()
    for part in parts:
        if isinstance(part, str):
            digest.update(b"s\0" + part.encode() + b"\0")
            continue
        paths = [part] if isinstance(part, Path) else list(part)
        for path in paths:
            files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
            for file in files:
                digest.update(b"f\0" + str(file.name).encode() + b"\0")
                # A file not built yet keys as missing: its step is then not current.
                digest.update(file.read_bytes() if file.exists() else b"\0missing\0")
    return digest.hexdigest()[:16]

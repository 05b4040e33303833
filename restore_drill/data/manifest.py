"""Manifests: the agent's JSON lines, read back into something comparable.

A manifest is one header line ``{"format": ..., "marker_present": bool}``, one JSON
object per path and an end line ``{"end": ..., "entries": N}`` (see docs/data.md). Paths
are the keys, so comparison is independent of the order in which a machine listed them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from restore_drill.data.agent import listing
from restore_drill.errors import UsageError


@dataclass
class Manifest:
    entries: dict[str, dict[str, Any]] = field(default_factory=dict)
    marker_present: bool = False

    @property
    def files(self) -> int:
        return sum(1 for entry in self.entries.values() if entry.get("type") == "file")

    @property
    def total_bytes(self) -> int:
        return sum(int(entry.get("size") or 0) for entry in self.entries.values())


def read_manifest(
    lines: Iterable[str], source: str = "manifest", *, from_agent: bool = False
) -> Manifest:
    """Parse JSON lines; a malformed, duplicate or truncated manifest is a UsageError.

    Header and end line are optional together (a hand-written manifest), never apart;
    ``from_agent`` requires both: an agent that printed nothing listed nothing.
    """
    manifest = Manifest()
    headed = ended = False
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise UsageError(f"{source}:{number}: not JSON ({exc.msg})") from None
        if not isinstance(item, dict):
            raise UsageError(f"{source}:{number}: expected a JSON object")
        if "format" in item:
            if item["format"] != listing.MANIFEST_FORMAT:
                raise UsageError(f"{source}:{number}: unknown manifest format {item['format']!r}")
            manifest.marker_present = bool(item.get("marker_present"))
            headed = True
            continue
        if "end" in item:
            if item.get("entries") != len(manifest.entries):
                raise UsageError(
                    f"{source}:{number}: the end line counts {item.get('entries')} entries,"
                    f" {len(manifest.entries)} were read"
                )
            ended = True
            continue
        if ended:
            raise UsageError(f"{source}:{number}: an entry after the end line")
        path = item.get("path")
        if not isinstance(path, str) or "type" not in item:
            raise UsageError(f"{source}:{number}: an entry needs 'path' and 'type'")
        if path in manifest.entries:
            raise UsageError(f"{source}:{number}: {path!r} listed twice")
        manifest.entries[path] = item
    if from_agent and not headed:
        raise UsageError(f"{source}: the data agent printed no manifest (not even a header)")
    if headed and not ended:  # the agent always ends with a count: this one was cut short
        raise UsageError(f"{source}: truncated (no end line after {len(manifest.entries)} entries)")
    return manifest


def manifest_lines(root: str | Path, workers: int | None = None) -> Iterator[str]:
    """The agent's output for a local directory, line by line (header first, end line last)."""
    try:
        yield from listing.manifest_lines(str(root), workers=workers)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def manifest_of(root: str | Path, workers: int | None = None) -> Manifest:
    return read_manifest(manifest_lines(root, workers), source=str(root))


def load_manifest(source: str | Path) -> Manifest:
    """A manifest file (JSON lines) or a directory to list: both work wherever one is asked."""
    path = Path(source)
    if path.is_dir():
        return manifest_of(path)
    try:
        with path.open(encoding="utf-8") as stream:
            return read_manifest(stream, source=str(path))
    except OSError as exc:
        raise UsageError(f"cannot read manifest {path}: {exc.strerror}") from None


def write_manifest(lines: Iterable[str], out: TextIO) -> int:
    """Copy manifest lines to ``out``; returns the number of lines written."""
    count = 0
    for line in lines:
        out.write(line + "\n")
        count += 1
    return count

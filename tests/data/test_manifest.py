"""Reading manifests back: strict about malformed input, indifferent to line order."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from restore_drill import data
from restore_drill.data.agent import listing
from restore_drill.data.manifest import load_manifest, write_manifest
from restore_drill.errors import UsageError

HEADER = json.dumps({"format": listing.MANIFEST_FORMAT, "marker_present": True})
ENTRY = json.dumps({"path": "a", "type": "file", "size": 1, "sha256": "ab"})
END = json.dumps({"end": listing.MANIFEST_FORMAT, "entries": 1})


def test_header_and_entries_are_read() -> None:
    manifest = data.read_manifest([HEADER, ENTRY, "", END])
    assert manifest.marker_present
    assert manifest.entries == {"a": json.loads(ENTRY)}
    assert manifest.files == 1 and manifest.total_bytes == 1


def test_a_manifest_without_header_has_no_marker() -> None:
    assert not data.read_manifest([ENTRY]).marker_present


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (["{not json"], "x:1: not JSON"),
        (["[1, 2]"], "x:1: expected a JSON object"),
        ([json.dumps({"type": "file"})], "x:1: an entry needs 'path' and 'type'"),
        ([ENTRY, ENTRY], "x:2: 'a' listed twice"),
        ([json.dumps({"format": "tarball/9"})], "unknown manifest format"),
        ([HEADER, ENTRY], "x: truncated \\(no end line after 1 entries\\)"),
        (
            [HEADER, json.dumps({"end": listing.MANIFEST_FORMAT, "entries": 2})],
            "x:2: the end line counts 2 entries, 0 were read",
        ),
        ([HEADER, ENTRY, END, ENTRY.replace('"a"', '"b"')], "x:4: an entry after the end line"),
    ],
)
def test_malformed_manifests_are_refused_with_the_line(lines: list[str], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        data.read_manifest(lines, source="x")


def test_a_file_and_a_directory_load_to_the_same_manifest(
    make_tree: Callable[..., Path], tmp_path: Path
) -> None:
    root = make_tree(profile="smoke")
    saved = tmp_path / "saved.jsonl"
    with saved.open("w", encoding="utf-8") as out:
        lines = write_manifest(data.manifest_lines(root), out)
    assert lines == len(data.manifest_of(root).entries) + 2  # header and end line
    assert load_manifest(saved).entries == load_manifest(root).entries


def test_a_missing_manifest_or_directory_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="cannot read manifest"):
        load_manifest(tmp_path / "nope.jsonl")
    (tmp_path / "file").write_text("")
    with pytest.raises(UsageError, match="not a directory"):
        data.manifest_of(tmp_path / "file")


def test_an_agent_that_printed_nothing_is_an_error_not_an_empty_manifest() -> None:
    assert not data.read_manifest([]).entries  # a hand-written empty list is fine
    with pytest.raises(UsageError, match="printed no manifest"):
        data.read_manifest(["", "  "], "ns/pvc manifest", from_agent=True)
    empty_volume = [HEADER, json.dumps({"end": listing.MANIFEST_FORMAT, "entries": 0})]
    assert not data.read_manifest(empty_volume, from_agent=True).entries

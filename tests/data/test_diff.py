"""Verification catches every kind of damage, and reports exactly that damage."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from restore_drill import data
from restore_drill.data.diff import Change, Diff, Policy
from restore_drill.errors import UsageError

from .conftest import write_tree

TARGET = "edge/files/target.txt"


def _flip_byte(root: Path, path: str, offset: int = 0) -> None:
    with open(root / path, "r+b") as handle:
        handle.seek(offset)
        byte = handle.read(1)
        handle.seek(offset)
        handle.write(bytes([byte[0] ^ 0x01]))


def _break_hard_link(root: Path, path: str) -> None:
    content = (root / path).read_bytes()
    os.remove(root / path)
    (root / path).write_bytes(content)  # same bytes, its own inode now


def _retarget(root: Path, path: str) -> None:
    os.remove(root / path)
    os.symlink("../files/empty", root / path)


# (damage, what verification must report: missing, extra, {(path, field)}, marker)
Expected = tuple[Callable[[Path], object], list[str], list[str], set[tuple[str, str]], bool]
MUTATIONS: dict[str, Expected] = {
    "flip one byte": (lambda r: _flip_byte(r, TARGET, 100), [], [], {(TARGET, "sha256")}, False),
    "truncate": (
        lambda r: os.truncate(r / TARGET, 10),
        [],
        [],
        {(TARGET, "size"), (TARGET, "sha256")},
        False,
    ),
    "delete a file": (lambda r: os.remove(r / TARGET), [TARGET], [], set(), False),
    "add a file": (lambda r: (r / "edge" / "new").write_text("x"), [], ["edge/new"], set(), False),
    "change a mode": (
        lambda r: os.chmod(r / "edge/modes/private", 0o640),
        [],
        [],
        {("edge/modes/private", "mode")},
        False,
    ),
    "retarget a symlink": (
        lambda r: _retarget(r, "edge/links/relative"),
        [],
        [],
        {("edge/links/relative", "target")},
        False,
    ),
    "break a hard link": (
        lambda r: _break_hard_link(r, "edge/hardlinks/c"),
        [],
        [],
        {("edge/hardlinks/c", "link_group")},
        False,
    ),
    "leave the marker": (data.mark, [], [], set(), True),
    "empty dir removed": (
        lambda r: os.rmdir(r / "edge/empty-dir"),
        ["edge/empty-dir"],
        [],
        set(),
        False,
    ),
}


@pytest.fixture(scope="module")
def expected(tmp_path_factory: pytest.TempPathFactory) -> data.Manifest:
    return data.manifest_of(write_tree(tmp_path_factory.mktemp("expected")))


@pytest.mark.parametrize("damage", sorted(MUTATIONS))
def test_each_kind_of_damage_is_reported_exactly(
    tmp_path: Path, expected: data.Manifest, damage: str
) -> None:
    mutate, missing, extra, changed, marker = MUTATIONS[damage]
    root = write_tree(tmp_path / "restored")
    mutate(root)
    verdict = data.diff_manifests(expected, data.manifest_of(root))
    assert not verdict.ok
    assert verdict.missing == missing
    assert verdict.extra == extra
    assert {(change.path, change.field) for change in verdict.changed} == changed
    assert verdict.marker_present is marker


def test_an_undamaged_restore_is_identical(tmp_path: Path, expected: data.Manifest) -> None:
    verdict = data.diff_manifests(expected, data.manifest_of(write_tree(tmp_path / "r")))
    assert verdict.ok
    assert verdict.summary().startswith("identical")


def test_order_of_lines_does_not_matter(expected: data.Manifest, tmp_path: Path) -> None:
    lines = list(data.manifest_lines(write_tree(tmp_path / "r")))
    shuffled = data.read_manifest([lines[0], *reversed(lines[1:-1]), lines[-1]])
    assert data.diff_manifests(expected, shuffled).ok


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    choice=st.integers(min_value=0, max_value=10**6),
    offset=st.integers(min_value=0, max_value=10**6),
    seed=st.integers(min_value=0, max_value=2**32),
)
def test_any_single_flipped_byte_in_any_file_is_one_sha256_change(
    choice: int, offset: int, seed: int
) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        root = write_tree(Path(scratch) / "t", "smoke", seed=seed, size="64KiB")
        before = data.manifest_of(root)
        files = sorted(p for p, e in before.entries.items() if e["type"] == "file" and e["size"])
        victim = files[choice % len(files)]
        _flip_byte(root, victim, offset % before.entries[victim]["size"])
        after = data.manifest_of(root)
    verdict = data.diff_manifests(before, after)
    linked = before.entries[victim].get("link_group")
    group = {p for p, e in before.entries.items() if linked and e.get("link_group") == linked}
    assert {(c.path, c.field) for c in verdict.changed} == {
        (p, "sha256") for p in group or {victim}
    }
    assert verdict.missing == verdict.extra == []


@settings(max_examples=25, deadline=None)
@given(
    paths=st.lists(st.text(min_size=1, max_size=8), unique=True, max_size=6),
    dropped=st.integers(min_value=0, max_value=5),
)
def test_removing_any_entry_from_a_manifest_reports_only_that_path(
    paths: list[str], dropped: int
) -> None:
    entries = {p: {"path": p, "type": "file", "size": 1, "sha256": "00"} for p in paths}
    full = data.Manifest(entries=entries)
    if not paths:
        assert data.diff_manifests(full, full).ok
        return
    gone = paths[dropped % len(paths)]
    partial = data.Manifest(entries={p: e for p, e in entries.items() if p != gone})
    assert data.diff_manifests(full, partial).missing == [gone]
    assert data.diff_manifests(partial, full).extra == [gone]


def test_policy_ignores_a_field_and_says_why(tmp_path: Path, expected: data.Manifest) -> None:
    root = write_tree(tmp_path / "r")
    if os.geteuid() == 0:
        os.chown(root / "edge/modes/private", 4242, 4242)
    os.chmod(root / "edge/modes/private", 0o644)
    policy = Policy.parse(
        {"ignore": {"mode": "test", "uid": "mover is not root", "gid": "mover is not root"}}
    )
    verdict = data.diff_manifests(expected, data.manifest_of(root), policy)
    assert verdict.ok
    assert "not compared: uid (mover is not root)" in verdict.summary()
    assert not data.diff_manifests(expected, data.manifest_of(root)).ok  # strict by default


def test_media_profile_policy_ignores_only_sparseness() -> None:
    policy = Policy.from_profile(data.load_profile("media"))
    assert set(policy.ignore) == {"sparse"}
    assert "--sparse" in policy.ignore["sparse"]


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"ignore": {"sha256": "why not"}}, "cannot ignore sha256"),
        ({"ignore": {"size": "x", "type": "y"}}, "cannot ignore size, type"),
        ({"ignore": {"uid": ""}}, "give a reason"),
        ({"ignore": ["uid"]}, "must map a field"),
    ],
)
def test_a_policy_cannot_hide_content_or_skip_the_reason(
    raw: dict[str, object], message: str
) -> None:
    with pytest.raises(UsageError, match=message):
        Policy.parse(raw)


def test_summary_counts_everything_and_lists_the_first_n() -> None:
    verdict = Diff(
        missing=[f"m{n}" for n in range(3)],
        extra=[f"e{n}" for n in range(30)],
        changed=[Change("a", "mode", "0644", "0600")],
        marker_present=True,
    )
    text = verdict.summary(limit=5)
    lines = text.splitlines()
    assert lines[0] == "DIFFERENT: 3 missing, 30 extra, 1 changed field(s) in 1 entries"
    assert "marker present" in lines[1]
    assert lines[2:7] == [
        "  missing m0",
        "  missing m1",
        "  missing m2",
        "  extra e0",
        "  extra e1",
    ]
    assert lines[-1] == "  ... and 29 more"


def test_a_marker_alone_fails_verification() -> None:
    verdict = data.diff_manifests(data.Manifest(), data.Manifest(marker_present=True))
    assert not verdict.ok and verdict.marker_present


@pytest.mark.skipif(shutil.which("restic") is None, reason="restic is not installed")
def test_a_real_restic_round_trip_keeps_everything_but_holes(tmp_path: Path) -> None:
    """What restic itself keeps: only `sparse` differs, which the media profile ignores."""
    source = write_tree(tmp_path / "source", "smoke", seed=9)
    write_tree(source / "media", "media", size="4MiB")
    env = {
        **os.environ,
        "RESTIC_PASSWORD": "test-only",
        "RESTIC_REPOSITORY": str(tmp_path / "repo"),
        "RESTIC_CACHE_DIR": str(tmp_path / "cache"),
    }

    def restic(*args: str, cwd: Path) -> None:
        subprocess.run(["restic", "-q", *args], cwd=cwd, env=env, check=True, capture_output=True)

    restic("init", cwd=tmp_path)
    restic("backup", "--host", "volsync", "--exclude", "lost+found", ".", cwd=source)
    (tmp_path / "restored").mkdir()
    restic("restore", "latest", "-t", ".", "--host", "volsync", cwd=tmp_path / "restored")
    expected, actual = data.manifest_of(source), data.manifest_of(tmp_path / "restored")
    strict = data.diff_manifests(expected, actual)
    assert [(c.path, c.field) for c in strict.changed] == [
        ("media/library/movies/movie-00.mkv", "sparse")
    ]
    assert not strict.missing and not strict.extra
    assert data.diff_manifests(expected, actual, Policy.from_profile(data.load_profile("media"))).ok
    assert data.check_dataset(tmp_path / "restored") == []

"""The agent: sizes, deterministic writing, manifests, the marker, the SQLite check."""

from __future__ import annotations

import ast
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from restore_drill import data
from restore_drill.data.agent import listing, sizes, sqlite_writer, tree, writer
from restore_drill.data.agent.check import check

from .conftest import write_tree

AGENT = str(data.AGENT_DIR / "agent.py")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("512KiB", 512 * 1024),
        ("4MiB", 4 * 2**20),
        ("1GiB", 2**30),
        ("10GB", 10 * 10**9),
        ("2Gi", 2 * 2**30),
        ("1.5MiB", 1572864),
        (" 7 ", 7),
        ("100b", 100),
    ],
)
def test_parse_size_reads_sizes_as_people_write_them(text: str, expected: int) -> None:
    assert sizes.parse_size(text) == expected


@pytest.mark.parametrize("text", ["", "MiB", "4XB", "-1MiB", "0", "1 2MiB", "4 MiB B"])
def test_parse_size_rejects_nonsense_with_the_input_in_the_message(text: str) -> None:
    with pytest.raises(ValueError, match="size"):
        sizes.parse_size(text)


@pytest.mark.parametrize("profile", ["smoke", "home-assistant", "paperless", "media", "edge-cases"])
def test_same_profile_and_seed_give_identical_manifests(tmp_path: Path, profile: str) -> None:
    first = data.manifest_of(write_tree(tmp_path / "one", profile, seed=5, size="512KiB"))
    second = data.manifest_of(write_tree(tmp_path / "two", profile, seed=5, size="512KiB"))
    assert first.entries == second.entries
    assert first.files > 0


def test_a_different_seed_gives_different_content(tmp_path: Path) -> None:
    first = data.manifest_of(write_tree(tmp_path / "one", "smoke", seed=1))
    second = data.manifest_of(write_tree(tmp_path / "two", "smoke", seed=2))
    assert data.diff_manifests(first, second).changed


def test_the_size_parameter_sets_the_amount_of_data(tmp_path: Path) -> None:
    summary = data.write_dataset(data.load_profile("paperless"), 1, 2**21, tmp_path / "t")
    assert 2**21 * 0.95 <= summary["bytes"] <= 2**21 * 1.05
    assert data.manifest_of(tmp_path / "t").total_bytes == summary["bytes"]


def test_write_refuses_a_directory_that_already_holds_data(tmp_path: Path) -> None:
    (tmp_path / "left-over").write_text("x")
    with pytest.raises(ValueError, match="not empty"):
        writer.write_dataset(str(tmp_path), data.load_profile("smoke"), 1, 2**16)


def test_write_ignores_lost_and_found_and_the_manifest_leaves_it_out(tmp_path: Path) -> None:
    (tmp_path / "lost+found").mkdir()
    write_tree(tmp_path, "smoke")
    assert not any(path.startswith("lost+found") for path in data.manifest_of(tmp_path).entries)


def test_the_home_assistant_db_is_left_with_pending_wal_frames(
    make_tree: Callable[..., Path],
) -> None:
    root = make_tree(profile="home-assistant", size="1MiB")
    db, wal = root / "home-assistant_v2.db", root / "home-assistant_v2.db-wal"
    assert wal.stat().st_size > 0
    main_only = sqlite3.connect(f"file:{db}?immutable=1", uri=True)  # ignores the WAL
    rows_without_wal = main_only.execute("SELECT count(*) FROM states").fetchone()[0]
    main_only.close()
    shutil.copyfile(db, root.parent / "copy.db")
    shutil.copyfile(wal, root.parent / "copy.db-wal")
    replayed = sqlite3.connect(root.parent / "copy.db")
    assert replayed.execute("SELECT count(*) FROM states").fetchone()[0] > rows_without_wal
    assert replayed.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    replayed.close()


def test_resealed_wal_keeps_sqlite_checksums_valid_for_any_salt(tmp_path: Path) -> None:
    db_path = tmp_path / "a.db"
    db = sqlite3.connect(db_path)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA wal_autocheckpoint=0")
    db.execute("CREATE TABLE t (v TEXT)")
    with db:
        db.executemany("INSERT INTO t VALUES (?)", [("row",)] * 50)
    wal = (tmp_path / "a.db-wal").read_bytes()
    shutil.copyfile(db_path, tmp_path / "b.db")
    db.close()
    resealed = sqlite_writer.reseal_wal(wal, 0x12345678, 0x9ABCDEF0)
    assert len(resealed) == len(wal) and resealed != wal
    (tmp_path / "b.db-wal").write_bytes(resealed)
    copy = sqlite3.connect(tmp_path / "b.db")
    assert copy.execute("SELECT count(*) FROM t").fetchone()[0] == 50  # frames accepted
    copy.close()


def test_check_passes_a_good_database_and_leaves_the_tree_untouched(
    make_tree: Callable[..., Path],
) -> None:
    root = make_tree(profile="home-assistant", size="1MiB")
    before = data.manifest_of(root)
    assert check(str(root)) == []
    assert data.diff_manifests(before, data.manifest_of(root)).ok


def test_check_reports_a_damaged_database(make_tree: Callable[..., Path]) -> None:
    root = make_tree(profile="home-assistant", size="1MiB")
    os.remove(root / "home-assistant_v2.db-wal")
    with open(root / "home-assistant_v2.db", "r+b") as db:  # wreck page 3 (a b-tree page)
        db.seek(2 * 4096)
        db.write(b"\xff" * 4096)
    problems = check(str(root))
    assert len(problems) == 1 and problems[0].startswith("home-assistant_v2.db:")


def test_manifest_records_links_modes_names_and_xattrs(make_tree: Callable[..., Path]) -> None:
    entries = data.manifest_of(make_tree()).entries
    assert entries["edge/links/dangling"] == {
        **entries["edge/links/dangling"],
        "type": "symlink",
        "target": "../files/missing",
    }
    assert entries["edge/links/absolute-in-tree"]["target"] == "/data/edge/files/target.txt"
    groups = {entries[f"edge/hardlinks/{n}"]["link_group"] for n in "abc"}
    assert groups == {"edge/hardlinks/a"}
    assert "link_group" not in entries["edge/files/target.txt"]
    assert entries["edge/modes/setgid-dir"]["mode"] == "2775"
    assert entries["edge/modes/private"]["mode"] == "0600"
    assert entries["edge/files/empty"]["size"] == 0
    assert entries["edge/empty-dir"]["type"] == "dir"
    assert "edge/names/caf\u00e9 NFC.txt" in entries and "edge/names/cafe\u0301 NFD.txt" in entries
    assert max(len(os.fsencode(p.rsplit("/", 1)[-1])) for p in entries) == 255
    xattrs = entries["edge/xattrs/tagged"].get("xattrs", {})
    if xattrs:  # the filesystem may refuse user.* xattrs; the write notes say so
        assert set(xattrs) == {"user.drill.comment", "user.drill.blob"}
    if os.geteuid() == 0:
        assert entries["edge/owners/uid-1000"]["uid"] == 1000


def test_the_sparse_media_file_is_recorded_as_sparse(make_tree: Callable[..., Path]) -> None:
    entries = data.manifest_of(make_tree(profile="media", size="16MiB")).entries
    sparse = sorted(path for path, entry in entries.items() if entry.get("sparse"))
    assert sparse == ["library/movies/movie-00.mkv"]


def test_the_marker_is_reported_but_never_listed(make_tree: Callable[..., Path]) -> None:
    root = make_tree(profile="smoke")
    assert not data.manifest_of(root).marker_present
    marker = data.mark(root)
    assert json.loads(marker.read_text())["written_at"].endswith("Z")
    after = data.manifest_of(root)
    assert after.marker_present and tree.MARKER_NAME not in after.entries


def test_parallel_and_single_threaded_manifests_agree(make_tree: Callable[..., Path]) -> None:
    root = make_tree(profile="paperless", size="1MiB")
    assert list(data.manifest_lines(root, workers=1)) == list(data.manifest_lines(root, workers=4))


def test_each_line_is_json_dumps_sorted_form_of_its_entry(
    make_tree: Callable[..., Path],
) -> None:
    """Lines are put together by hand for speed; they must read as json.dumps wrote them."""
    root = make_tree(profile="edge-cases", size="1MiB")
    with open(root / "edge" / "files" / "target.txt", "ab") as grown:  # a sparse file too
        grown.truncate(4 * 2**20)
    lines = list(listing.entry_lines(str(root), workers=1))
    kinds = {json.loads(line)["type"] for line in lines}
    assert kinds == {"file", "dir", "symlink"}
    assert any('"sparse": true' in line for line in lines)
    assert any('"link_group"' in line for line in lines)
    for line in lines:
        assert line == json.dumps(json.loads(line), sort_keys=True)


def test_manifest_starts_without_what_only_write_and_check_use(tmp_path: Path) -> None:
    """Verify runs the agent once per volume: its start-up is part of the time it takes."""
    probe = (
        "import sys; sys.path.insert(0, sys.argv[1]); import agent; "
        "agent.sibling('cli').main(['manifest', '--root', sys.argv[2]]); "
        "print(sorted({'sqlite3', 'random', 'concurrent.futures'} & set(sys.modules)))"
    )
    done = subprocess.run(
        [sys.executable, "-I", "-S", "-c", probe, str(data.AGENT_DIR), str(tmp_path)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.splitlines()[-1] == "[]"


def test_an_unreadable_file_becomes_an_error_field_not_a_crash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file that cannot be opened (as root every file can: the refusal is staged)."""
    (tmp_path / "secret").write_bytes(b"x" * 10)
    (tmp_path / "shown").write_bytes(b"y")
    opened = os.open

    def refuse_secret(name: str, flags: int, *args: object, **kwargs: object) -> int:
        if name == "secret":
            raise PermissionError(13, os.strerror(13), name)
        return opened(name, flags, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "open", refuse_secret)
    entries = data.manifest_of(tmp_path, workers=1).entries
    assert entries["secret"]["error"] == "PermissionError: Permission denied"
    assert entries["secret"]["size"] == 10 and "sha256" not in entries["secret"]
    assert "error" not in entries["shown"]


def test_the_script_runs_alone_with_only_the_standard_library(tmp_path: Path) -> None:
    """As in a pod: the file by itself, no site-packages (-I -S), profile as JSON."""
    for name, text in data.agent_modules().items():  # exactly what the ConfigMap holds
        (tmp_path / name).write_text(text)
    (tmp_path / "profile.json").write_text(data.profile_json(data.load_profile("smoke")))
    script = [sys.executable, "-I", "-S", str(tmp_path / "agent.py")]
    root = str(tmp_path / "data")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*script, *args, "--root", root], check=False, capture_output=True, text=True
        )

    written = run(
        "write", "--profile-file", str(tmp_path / "profile.json"), "--seed", "3", "--size", "128KiB"
    )
    assert written.returncode == 0, written.stderr
    listed = run("manifest")
    assert listed.returncode == 0
    local = write_tree(tmp_path / "local", "smoke", seed=3, size="128KiB")
    assert data.read_manifest(listed.stdout.splitlines()).entries == data.manifest_of(local).entries
    assert run("check").stdout.strip() == "ok"
    assert run("mark").returncode == 0
    assert data.read_manifest(run("manifest").stdout.splitlines()).marker_present
    refused = run(
        "write", "--profile-file", str(tmp_path / "profile.json"), "--seed", "3", "--size", "1MiB"
    )
    assert refused.returncode == 2 and "not empty" in refused.stderr


@pytest.mark.parametrize("name", sorted(data.agent_modules()))
def test_the_agent_stays_python_39_compatible_and_stdlib_only(name: str) -> None:
    source = data.agent_modules()[name]
    parsed = ast.parse(source, feature_version=(3, 9))
    imported = {
        alias.name.split(".")[0]
        for node in ast.walk(parsed)
        if isinstance(node, ast.Import)
        for alias in node.names
    }
    imported |= {
        node.module.split(".")[0]
        for node in ast.walk(parsed)
        if isinstance(node, ast.ImportFrom) and node.module and not node.level
    }
    siblings = {  # relative imports: only modules that are shipped beside it
        f"{node.module or alias.name}.py"
        for node in ast.walk(parsed)
        if isinstance(node, ast.ImportFrom) and node.level
        for alias in node.names
    }
    assert imported <= set(sys.stdlib_module_names) | {"__future__"}
    assert siblings <= set(data.agent_modules())
    assert "from __future__ import annotations" in source  # annotations stay unevaluated on 3.9


def _manifest_peak_rss_kib(root: Path) -> int:
    """Peak resident memory of `agent.py manifest` over root, measured for that child alone."""
    with open(os.devnull, "wb") as sink:
        child = subprocess.Popen(
            [sys.executable, "-I", "-S", AGENT, "manifest", "--root", str(root)],
            stdout=sink,
        )
        _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    assert child.returncode == 0
    return usage.ru_maxrss


@pytest.mark.parametrize(
    ("files", "file_size"),
    [
        pytest.param(4, 16 * 2**20, id="64MiB"),
        pytest.param(8, 512 * 2**20, id="4GiB", marks=pytest.mark.slow),
    ],
)
def test_manifest_memory_stays_flat_as_the_tree_grows(
    tmp_path: Path, files: int, file_size: int
) -> None:
    """Sparse files read as zeros at memory speed: GiBs to hash without GiBs on disk."""
    small, large = tmp_path / "small", tmp_path / "large"
    for root, count, size in ((small, 1, 2**20), (large, files, file_size)):
        root.mkdir()
        for number in range(count):
            with open(root / f"f{number}", "wb") as handle:
                handle.truncate(size)
    baseline = _manifest_peak_rss_kib(small)
    assert _manifest_peak_rss_kib(large) - baseline < 16 * 1024  # KiB: a few chunk buffers


def _refuse_xattrs(*_args: object, **_kwargs: object) -> None:
    raise OSError(95, "Operation not supported")


def test_without_xattr_support_only_the_xattrs_differ_and_a_note_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    full = data.manifest_of(write_tree(tmp_path / "full"))
    monkeypatch.setattr(os, "setxattr", _refuse_xattrs)
    summary = data.write_dataset(data.load_profile("edge-cases"), 1, 2**18, tmp_path / "bare")
    assert any(note.startswith("xattrs: not written") for note in summary["notes"])
    verdict = data.diff_manifests(full, data.manifest_of(tmp_path / "bare"))
    assert [(c.path, c.field) for c in verdict.changed] == [("edge/xattrs/tagged", "xattrs")]


@pytest.mark.skipif(os.geteuid() != 0, reason="compares a root write with a non-root one")
def test_a_non_root_writer_skips_owners_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    full = data.manifest_of(write_tree(tmp_path / "full"))
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    summary = data.write_dataset(data.load_profile("edge-cases"), 1, 2**18, tmp_path / "user")
    assert any(note.startswith("owners: not root") for note in summary["notes"])
    verdict = data.diff_manifests(full, data.manifest_of(tmp_path / "user"))
    owned = {"edge/owners/uid-1000", "edge/owners/nobody-dir", "edge/owners/nobody-dir/file"}
    assert {c.path for c in verdict.changed} == owned
    assert {c.field for c in verdict.changed} == {"uid", "gid"}


@pytest.mark.skipif(os.geteuid() != 0, reason="mounts a small tmpfs, which needs root")
@pytest.mark.parametrize("profile", ["smoke", "home-assistant"])
def test_a_volume_that_fills_up_is_one_line_in_the_os_words(tmp_path: Path, profile: str) -> None:
    """The harness names a full volume by the OS's words in the agent's log (DiskFull);
    SQLite's own "database or disk is full" must reach it in those words too."""
    (tmp_path / "profile.json").write_text(data.profile_json(data.load_profile(profile)))
    volume = tmp_path / "volume"
    volume.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=512k", "tmpfs", str(volume)], check=True)
    try:
        argv = [sys.executable, AGENT, "write", "--profile-file"]
        argv += [str(tmp_path / "profile.json"), "--seed", "1", "--size", "4MiB"]
        done = subprocess.run(
            [*argv, "--root", str(volume)], capture_output=True, text=True, check=False
        )
    finally:
        subprocess.run(["umount", str(volume)], check=True)
    assert done.returncode == 2, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "No space left on device" in done.stderr

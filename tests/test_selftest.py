"""selftest's damage list, planted with the same code in a local directory: verify's diff
must catch each one, by the finding meant for it (the cluster run: restore-drill selftest)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from restore_drill import data, selftest
from restore_drill.data import damage


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, data.Manifest]:
    root = tmp_path_factory.mktemp("written")
    data.write_dataset(data.load_profile("smoke"), 5, data.parse_size("256KiB"), root)
    return root, data.manifest_of(root)


@pytest.fixture
def restored(written: tuple[Path, data.Manifest], tmp_path: Path) -> Path:
    copy = tmp_path / "restored"
    shutil.copytree(written[0], copy, symlinks=True)
    return copy


def test_every_file_damage_is_caught_by_its_own_finding(
    written: tuple[Path, data.Manifest], restored: Path
) -> None:
    expected = written[1]
    targets = selftest.pick_targets(expected)
    assert set(targets) == set(selftest.FILE_DAMAGES)
    assert len(set(targets.values())) == len(targets), "one entry per damage"
    clean = data.diff_manifests(expected, data.manifest_of(restored)).as_dict()
    assert all(selftest.finding(clean, k, p) is None for k, p in targets.items())
    for kind, path in targets.items():
        damage.damage(str(restored), kind, path)
    verdict = data.diff_manifests(expected, data.manifest_of(restored)).as_dict()
    found = {kind: selftest.finding(verdict, kind, path) for kind, path in targets.items()}
    assert all(found.values()), found


def test_the_marker_and_an_empty_volume_are_caught(
    written: tuple[Path, data.Manifest], restored: Path
) -> None:
    data.mark(restored)
    assert data.diff_manifests(written[1], data.manifest_of(restored)).marker_present
    damage.main(["--root", str(restored), "empty", ""])
    assert not data.manifest_of(restored).entries


def test_damage_comes_in_pairs_and_names_unknown_kinds(tmp_path: Path) -> None:
    with pytest.raises(SystemExit):
        damage.main(["--root", str(tmp_path), "remove"])
    with pytest.raises(ValueError, match="unknown damage 'melt'"):
        damage.damage(str(tmp_path), "melt", "x")


def test_the_table_says_what_went_unseen(tmp_path: Path) -> None:
    rows = [selftest.Row("byte flipped", True, "verify: changed a: sha256")]
    rows.append(selftest.Row("mode changed", False, "not detected: the check passed"))
    text = selftest.table(rows)
    assert "NO " in text and "1 of 2 detected (50%)" in text
    assert '"detected": 1' in selftest.write_table(rows, tmp_path).read_text()


def test_the_agent_configmap_carries_the_damage_script() -> None:
    files = data.agent_files(data.load_profile("smoke"))
    assert files["damage.py"].startswith('"""Damage planted on purpose')

"""``restore-drill selftest`` on the drills' real cluster: after a real restore, every kind
of planted damage (bytes, sizes, files, modes, links, the older backup, the marker, an
empty volume, an RTO over target) must be caught, each by the check meant for it."""

from __future__ import annotations

from pathlib import Path

import pytest

from restore_drill import selftest
from restore_drill.backend import Backend
from restore_drill.runner import RunOptions

pytestmark = [pytest.mark.drill, pytest.mark.timeout(900)]


def test_every_planted_damage_is_caught(
    drill_backend: Backend, tmp_path: Path, pytestconfig: pytest.Config
) -> None:
    options = RunOptions(out_dir=tmp_path, size=pytestconfig.getoption("--drill-size"))
    rows = selftest.play(drill_backend.cluster, drill_backend.object_store, options)
    print("\n" + selftest.table(rows))
    missed = [row for row in rows if not row.detected]
    assert not missed, missed
    assert {row.damage for row in rows} >= {name for name, _, _ in selftest.FILE_DAMAGES.values()}

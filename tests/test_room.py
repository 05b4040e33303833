"""A drill whose data cannot fit is refused in one line, before anything is made."""

from __future__ import annotations

from collections import namedtuple
from pathlib import Path

import pytest

from restore_drill import room
from restore_drill.errors import UsageError

Usage = namedtuple("Usage", "total used free")


def test_pvc_capacities_come_from_the_fixtures() -> None:
    assert room.pvc_capacities("home-assistant") == {"home-assistant": 2**30}
    assert set(room.pvc_capacities("paperless-ngx").values()) == {2**30, 2 * 2**30}


def test_data_larger_than_a_pvc_is_refused() -> None:
    room.check_fits_pvcs(["home-assistant"], "256MiB")
    with pytest.raises(UsageError, match=r"--size 100TiB: PVC home-assistant .* holds 1Gi"):
        room.check_fits_pvcs(["home-assistant"], "100TiB")
    with pytest.raises(UsageError, match="holds 1Gi"):
        room.check_fits_pvcs(["paperless-ngx"], "1GiB")  # its smaller PVC


def test_copies_that_outgrow_the_disk_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(room.shutil, "disk_usage", lambda _p: Usage(0, 0, 10 * 2**30))
    room.check_fits_disk([2**30 // 2] * 2, tmp_path)  # 8 GiB + headroom fits in 10 GiB
    with pytest.raises(UsageError, match=r"needs about 18.0GiB on .* and 10.0GiB is free"):
        room.check_fits_disk([2**30] * 2, tmp_path)

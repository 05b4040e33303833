"""scripts/install-system-tools.sh: what `make setup` installs from Debian's packages when
missing. Stand-in ``id`` and ``apt-get`` on PATH say who runs it and record what it asks."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "install-system-tools.sh"


def run(
    tmp_path: Path, *, uid: int, have: tuple[str, ...], apt_fails: bool = False
) -> tuple[int, str, str]:
    """The script with only ``have`` (and id, apt-get) on PATH; (exit code, stderr, the
    apt-get calls)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "apt-calls"
    tools = {name: "#!/bin/sh\nexit 0\n" for name in have}
    tools["id"] = f"#!/bin/sh\necho {uid}\n"
    fail = 'case "$*" in *install*) exit 100 ;; esac\n' if apt_fails else ""
    tools["apt-get"] = f'#!/bin/sh\necho "$*" >> {calls}\n{fail}exit 0\n'
    for name, body in tools.items():
        (bin_dir / name).write_text(body)
        (bin_dir / name).chmod(0o755)
    done = subprocess.run(
        ["/bin/bash", str(SCRIPT), "pulled"],
        env={**os.environ, "PATH": str(bin_dir)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return done.returncode, done.stderr, calls.read_text() if calls.exists() else ""


def test_as_root_a_missing_chromium_is_installed_with_apt_get(tmp_path: Path) -> None:
    code, _, calls = run(tmp_path, uid=0, have=("restic",))
    assert code == 0 and "install -y -qq chromium" in calls


def test_a_wanted_tool_that_will_not_install_never_stops_the_setup(tmp_path: Path) -> None:
    code, err, calls = run(tmp_path, uid=0, have=("restic",), apt_fails=True)
    assert code == 0 and "install -y -qq chromium" in calls
    assert "could not install chromium" in err


def test_not_root_a_missing_chromium_is_named_and_the_setup_goes_on(tmp_path: Path) -> None:
    code, err, calls = run(tmp_path, uid=1000, have=("restic",))
    assert code == 0 and calls == ""
    assert "chromium is missing; only 'make report-screenshot' needs it" in err


def test_nothing_is_installed_when_every_tool_is_there(tmp_path: Path) -> None:
    assert run(tmp_path, uid=0, have=("restic", "chromium")) == (0, "", "")

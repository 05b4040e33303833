"""The dispatcher: a command imports only its own module; --help still lists them all."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import pytest

from restore_drill.cli import COMMAND_MODULES, main


def test_each_command_is_listed_under_its_name() -> None:
    for name, module in COMMAND_MODULES.items():
        assert importlib.import_module(f"restore_drill.commands.{module}").NAME == name


def test_a_command_imports_no_other_command(tmp_path: Path) -> None:
    code = (
        "import sys\nfrom restore_drill.cli import main\nmain(['lint', sys.argv[1]])\n"
        "print(sorted(m for m in sys.modules if m.startswith('restore_drill.commands.')))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, check=True
    )
    assert done.stdout.splitlines()[-1] == "['restore_drill.commands.lint']"


def test_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    shown = capsys.readouterr().out
    assert all(name in shown for name in COMMAND_MODULES)

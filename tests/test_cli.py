"""The dispatcher: a command imports only its own module; --help still lists them all."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import pytest

from restore_drill.cli import COMMANDS, main


def test_each_command_names_a_module_with_its_options_and_its_run() -> None:
    for module, help_text in COMMANDS.values():
        command = importlib.import_module(f"restore_drill.commands.{module}")
        assert callable(command.add_arguments) and callable(command.run) and help_text


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
    assert all(
        name in shown and help_text[:40] in shown for name, (_, help_text) in COMMANDS.items()
    )


def test_help_imports_no_command() -> None:
    code = (
        "import sys\nfrom restore_drill.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in sys.modules if m.startswith('restore_drill.commands.')))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.splitlines()[-1] == "[]"

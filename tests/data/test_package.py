"""What the package hands to the steps that run the agent in a pod."""

from __future__ import annotations

import json
import re

import pytest

from restore_drill import data
from restore_drill.errors import UsageError


def test_agent_files_hold_the_scripts_and_the_profile() -> None:
    files = data.agent_files(data.load_profile("smoke"))
    modules = {"agent.py", "cli.py", "sizes.py", "tree.py", "writer.py", "sqlite_writer.py"}
    modules |= {"listing.py", "check.py"}
    assert set(files) == modules | {"profile.json", "damage.py"}
    assert files["agent.py"].startswith("#!/usr/bin/env python3")
    assert len(json.dumps(files).encode()) < 2**20  # a ConfigMap holds at most 1 MiB
    assert '"name": "smoke"' in files["profile.json"]


def test_agent_commands_match_the_contract() -> None:
    assert data.agent_command("write", seed=7, size="4MiB") == [
        "python3",
        "/agent/agent.py",
        "write",
        "--profile-file",
        "/agent/profile.json",
        "--seed",
        "7",
        "--size",
        "4MiB",
        "--root",
        "/data",
    ]
    assert data.agent_command("manifest") == [
        "python3",
        "/agent/agent.py",
        "manifest",
        "--root",
        "/data",
    ]


@pytest.mark.parametrize(
    ("action", "options", "message"),
    [
        ("write", {}, "needs a seed and a size"),
        ("write", {"seed": 1, "size": "lots"}, "size: 'lots' is not a number"),
        ("delete", {}, "unknown agent action"),
    ],
)
def test_bad_agent_commands_are_refused(
    action: str, options: dict[str, object], message: str
) -> None:
    with pytest.raises(UsageError, match=message):
        data.agent_command(action, **options)  # type: ignore[arg-type]


def test_the_agent_image_is_pinned_to_a_patch_release() -> None:
    from restore_drill.addons import load_addons

    image = str(load_addons().section("agent")["image"])
    assert re.fullmatch(r"[\w./-]+/python:3\.\d+\.\d+-slim-\w+", image)

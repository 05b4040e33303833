"""Profiles: every shipped one is valid, and mistakes are caught before a pod runs them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from restore_drill import data
from restore_drill.data.profiles import validate_profile
from restore_drill.errors import UsageError

SHIPPED = ["edge-cases", "home-assistant", "media", "paperless", "smoke"]


def test_the_shipped_profiles_are_listed() -> None:
    assert data.list_profiles() == SHIPPED


@pytest.mark.parametrize("name", SHIPPED)
def test_each_shipped_profile_loads_and_round_trips_as_json(name: str) -> None:
    profile = data.load_profile(name)
    assert profile["name"] == name
    assert json.loads(data.profile_json(profile)) == profile


def test_an_unknown_profile_names_the_known_ones() -> None:
    with pytest.raises(UsageError, match=r"unknown dataset profile 'nope' .*paperless"):
        data.load_profile("nope")


def test_a_profile_can_be_given_as_a_path(tmp_path: Path) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text(yaml.safe_dump({"name": "mine", "parts": [{"kind": "edge-cases"}]}))
    assert data.load_profile(str(path))["name"] == "mine"


def _profile(**part: Any) -> dict[str, Any]:
    return {
        "name": "p",
        "parts": [
            {
                "kind": "small-files",
                "dir": "d",
                "min_size": "1KiB",
                "max_size": "2KiB",
                "share": 1.0,
                **part,
            }
        ],
    }


@pytest.mark.parametrize(
    ("profile", "message"),
    [
        ([], "a mapping with a 'name'"),
        ({"name": "p", "parts": []}, "non-empty list"),
        (_profile(kind="tarball"), r"parts\[0\]: kind must be one of"),
        (_profile(dir=None) | {"parts": [{"kind": "sqlite"}]}, "sqlite needs path"),
        (_profile(max_size="2 lots"), r"parts\[0\]\.max_size: '2 lots'"),
        (_profile(share=1.5), "add up to 1.50"),
        (_profile() | {"policy": {"ignore": {"sha256": "x"}}}, "cannot ignore sha256"),
        (_profile() | {"default_size": "big"}, "default_size"),
    ],
)
def test_invalid_profiles_are_refused_with_the_place(profile: Any, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        validate_profile(profile, where="p.yaml")


def test_invalid_yaml_is_a_usage_error(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("name: [unclosed\n")
    with pytest.raises(UsageError, match="not valid YAML"):
        data.load_profile(str(path))


def test_parse_size_names_the_option_on_error() -> None:
    assert data.parse_size("4MiB") == 4 * 2**20
    with pytest.raises(UsageError, match="--size: 'four' is not a number"):
        data.parse_size("four", what="--size")


@pytest.mark.parametrize("name", SHIPPED)
@pytest.mark.parametrize("size", ["1KiB", "256KiB", "1MiB"])
def test_the_writer_meets_the_floor_verify_holds_it_to(
    name: str, size: str, tmp_path: Path
) -> None:
    profile = data.load_profile(name)
    files, least = data.dataset_floor(profile, data.parse_size(size))
    data.write_dataset(profile, 3, data.parse_size(size), tmp_path)
    manifest = data.manifest_of(tmp_path)
    assert manifest.files >= files >= 1 and manifest.total_bytes >= least

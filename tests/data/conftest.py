"""Small, deterministic trees for the data tests (each write takes milliseconds)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from restore_drill import data


def write_tree(
    root: Path, profile: str = "edge-cases", seed: int = 1, size: str = "256KiB"
) -> Path:
    data.write_dataset(data.load_profile(profile), seed, data.parse_size(size), root)
    return root


@pytest.fixture
def make_tree(tmp_path: Path) -> Callable[..., Path]:
    """make_tree(name, profile=..., seed=..., size=...) -> a fresh dataset directory."""

    def make(name: str = "tree", **options: Any) -> Path:
        return write_tree(tmp_path / name, **options)

    return make

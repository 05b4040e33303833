"""Shared test wiring. Tests marked ``kind`` need a Docker engine and the kind CLI: where
none answers they are skipped, each with the reason, instead of failing."""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache

import pytest

from restore_drill.clusters.kind import kind_unavailable_reason
from restore_drill.objectstore import LocalS3


@cache
def _kind_unavailable() -> str | None:
    return kind_unavailable_reason()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    kind_items = [item for item in items if item.get_closest_marker("kind")]
    if not kind_items:
        return  # no Docker probe at all when nothing needs it
    reason = _kind_unavailable()
    if reason:
        for item in kind_items:
            item.add_marker(pytest.mark.skip(reason=f"needs kind: {reason}"))


@pytest.fixture(scope="session")
def local_s3() -> Iterator[LocalS3]:
    """One local S3 server for the session; each module makes a bucket of its own."""
    with LocalS3() as running:
        assert isinstance(running, LocalS3)
        yield running

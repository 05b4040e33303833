"""No secret in any file the session's drills wrote: results, reports, logs and failure
bundles (the negative drills leave bundles). Runs after the drills (opt-in, on their
cluster): the restic password is the session's own, the S3 keys are its MinIO's."""

from __future__ import annotations

from pathlib import Path

import pytest

from restore_drill.backend import Backend

pytestmark = [pytest.mark.drill]


def files_holding(roots: list[Path], needles: dict[str, str]) -> tuple[int, list[str]]:
    """How many files were read, and which hold which secret."""
    read, hits = 0, []
    for root in roots:
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            body = path.read_bytes()
            read += 1
            hits += [f"{path}: {what}" for what, value in needles.items() if value.encode() in body]
    return read, hits


def test_no_secret_in_any_file_the_drills_wrote(
    drill_backend: Backend, drill_password: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    credentials = drill_backend.object_store.credentials
    needles = {
        "restic password": drill_password,
        "S3 secret key": credentials.secret_key,
        "S3 access key": credentials.access_key,
    }
    roots = [tmp_path_factory.getbasetemp()]
    if drill_backend.run_dir is not None:
        roots.append(drill_backend.run_dir)
    read, hits = files_holding(roots, needles)
    assert read >= 20, f"only {read} files to look at: did the drills run?"
    assert hits == []

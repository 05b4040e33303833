"""verify-backups: prove the real backups in S3 are fresh, complete and restorable.

Read-only on every repository; see docs/verify-backups.md for the checks and the config.
"""

from __future__ import annotations

from restore_drill.verify_backups.checks import Finding
from restore_drill.verify_backups.config import (
    DEFAULT_TIERS,
    AppCheck,
    SecretSource,
    VerifyConfig,
    credentials_from,
    load_config,
    parse_duration,
    parse_retention,
    parse_size,
)
from restore_drill.verify_backups.output import render_json, render_table
from restore_drill.verify_backups.verify import AppResult, BackupVerifier, RestoreResult

__all__ = [
    "DEFAULT_TIERS",
    "AppCheck",
    "AppResult",
    "BackupVerifier",
    "Finding",
    "RestoreResult",
    "SecretSource",
    "VerifyConfig",
    "credentials_from",
    "load_config",
    "parse_duration",
    "parse_retention",
    "parse_size",
    "render_json",
    "render_table",
]

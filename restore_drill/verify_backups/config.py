"""What to verify: apps, their repositories, schedules, retention and where secrets come from.

Secrets are named (an environment variable or a file), never written in the config itself.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml
from croniter import croniter

from restore_drill.errors import UsageError
from restore_drill.lint.policy import default_policy
from restore_drill.objectstore import S3Credentials

# The user's tiers, as the lint policy has them (their one owner): what an app gets unless
# it says otherwise. ``daily`` is the non-critical tier's name in older config files.
DEFAULT_TIERS: dict[str, dict[str, Any]] = {
    tier.name: {"schedule": tier.backup_schedule, "retention": dict(tier.retain)}
    for tier in default_policy().tiers
}
DEFAULT_TIERS["daily"] = DEFAULT_TIERS["non-critical"]
_SIZE_UNITS = {
    "": 1,
    "B": 1,
    "KIB": 1024,
    "MIB": 1024**2,
    "GIB": 1024**3,
    "TIB": 1024**4,
    "KB": 1000,
    "MB": 1000**2,
    "GB": 1000**3,
    "TB": 1000**4,
}
_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_size(text: str | int) -> int:
    """``"2GiB"`` -> bytes."""
    if isinstance(text, int):
        return text
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*", str(text))
    if not match or match.group(2).upper() not in _SIZE_UNITS:
        raise UsageError(f"not a size: {text!r} (examples: 500MiB, 2GiB)")
    return int(float(match.group(1)) * _SIZE_UNITS[match.group(2).upper()])


def parse_duration(text: str | int) -> timedelta:
    """``"90m"``, ``"2h"``, ``"1d"`` or seconds -> timedelta."""
    if isinstance(text, int):
        return timedelta(seconds=text)
    parts = re.findall(r"(\d+)([smhd])", str(text).strip())
    if not parts or "".join(n + u for n, u in parts) != str(text).strip():
        raise UsageError(f"not a duration: {text!r} (examples: 30m, 2h, 1d)")
    return timedelta(seconds=sum(int(n) * _DURATION_UNITS[u] for n, u in parts))


def parse_retention(text: str) -> dict[str, int]:
    """``"hourly=24,daily=7"`` -> {"hourly": 24, "daily": 7}."""
    policy: dict[str, int] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, _, value = item.partition("=")
        if name not in ("hourly", "daily") or not value.isdigit():
            raise UsageError(f"retention item {item!r}: use hourly=N and/or daily=N")
        policy[name] = int(value)
    return policy


@dataclass(frozen=True)
class SecretSource:
    """Where a secret is read from: an environment variable or a file. Never its value."""

    env: str | None = None
    file: Path | None = None

    def read(self, what: str) -> str:
        if self.env:
            value = os.environ.get(self.env, "")
            if not value:
                raise UsageError(f"{what}: environment variable {self.env} is not set")
            return value
        if self.file:
            try:
                value = self.file.read_text().strip()
            except OSError as exc:
                raise UsageError(f"{what}: cannot read {self.file}: {exc.strerror}") from None
            if not value:
                raise UsageError(f"{what}: {self.file} is empty")
            return value
        raise UsageError(f"{what}: name an environment variable or a file")

    def describe(self) -> str:
        return f"env {self.env}" if self.env else f"file {self.file}"


@dataclass(frozen=True)
class AppCheck:
    """One app's repository and what it is expected to look like."""

    name: str
    repository: str  # s3:http://HOST:PORT/BUCKET/PREFIX
    password: SecretSource
    schedule: str
    retention: dict[str, int] = field(default_factory=dict)
    slack: timedelta = timedelta(minutes=30)
    read_data_subset: str = "5%"
    max_restore_bytes: int = 2 * 1024**3
    max_drift: float = 0.5  # relative change of file count or size vs the previous snapshot
    must_exist: tuple[str, ...] = ()
    restore: bool = True
    host: str | None = None

    def __post_init__(self) -> None:
        if not croniter.is_valid(self.schedule):
            raise UsageError(f"app {self.name}: not a cron schedule: {self.schedule!r}")
        if not self.repository.startswith("s3:http"):
            raise UsageError(
                f"app {self.name}: repository must look like s3:http://HOST/BUCKET/PREFIX"
            )

    @property
    def endpoint(self) -> str:
        """``http://HOST:PORT`` of the repository, for a quick reachability probe."""
        url = self.repository.removeprefix("s3:")
        scheme, _, rest = url.partition("://")
        return f"{scheme}://{rest.split('/', 1)[0]}"


@dataclass(frozen=True)
class VerifyConfig:
    apps: tuple[AppCheck, ...]
    credentials: S3Credentials


def _app_from(
    raw: dict[str, Any], defaults: dict[str, Any], tiers: dict[str, Any], endpoint: str, bucket: str
) -> AppCheck:
    name = raw.get("name")
    if not name:
        raise UsageError("every app needs a name")
    tier_name = raw.get("tier", defaults.get("tier", "critical"))
    if tier_name not in tiers:
        raise UsageError(f"app {name}: unknown tier {tier_name!r} (known: {', '.join(tiers)})")
    merged = {**defaults, **tiers[tier_name], **raw}
    if "password" in raw:
        raise UsageError(f"app {name}: put the password in an env var or file, not in the config")
    repository = merged.get("repository") or (
        f"s3:{endpoint.rstrip('/')}/{bucket}/{merged.get('prefix', name)}"
    )
    if not merged.get("password_env") and not merged.get("password_file"):
        raise UsageError(f"app {name}: set password_env or password_file")
    password_file = merged.get("password_file")
    return AppCheck(
        name=name,
        repository=repository,
        password=SecretSource(
            merged.get("password_env"), Path(password_file) if password_file else None
        ),
        schedule=merged["schedule"],
        retention={str(k): int(v) for k, v in (merged.get("retention") or {}).items()},
        slack=parse_duration(merged.get("slack", "30m")),
        read_data_subset=str(merged.get("read_data_subset", "5%")),
        max_restore_bytes=parse_size(merged.get("max_restore_size", "2GiB")),
        max_drift=float(merged.get("max_drift", 0.5)),
        must_exist=tuple(merged.get("must_exist") or ()),
        restore=bool(merged.get("restore", True)),
        host=merged.get("host"),
    )


def load_config(path: Path) -> VerifyConfig:
    """Read a verify-backups YAML file (format in docs/verify-backups.md)."""
    try:
        raw = yaml.safe_load(Path(path).read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise UsageError(f"cannot read {path}: {exc}") from None
    if not isinstance(raw, dict) or not raw.get("apps"):
        raise UsageError(f"{path}: expected a mapping with an 'apps' list")
    endpoint = str(raw.get("endpoint", ""))
    bucket = str(raw.get("bucket", ""))
    tiers = {**DEFAULT_TIERS, **(raw.get("tiers") or {})}
    defaults = raw.get("defaults") or {}
    apps = tuple(_app_from(app, defaults, tiers, endpoint, bucket) for app in raw["apps"])
    names = [app.name for app in apps]
    if len(set(names)) != len(names):
        raise UsageError(f"{path}: app names must be unique")
    return VerifyConfig(apps=apps, credentials=credentials_from(raw.get("credentials") or {}))


def credentials_from(raw: dict[str, Any]) -> S3Credentials:
    """S3 credentials from named env vars / files; the usual ``AWS_*`` variables by default."""
    access = SecretSource(
        raw.get("access_key_env", "AWS_ACCESS_KEY_ID") if not raw.get("access_key_file") else None,
        Path(raw["access_key_file"]) if raw.get("access_key_file") else None,
    )
    secret = SecretSource(
        raw.get("secret_key_env", "AWS_SECRET_ACCESS_KEY")
        if not raw.get("secret_key_file")
        else None,
        Path(raw["secret_key_file"]) if raw.get("secret_key_file") else None,
    )
    region = raw.get("region") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    return S3Credentials(access.read("S3 access key"), secret.read("S3 secret key"), region)

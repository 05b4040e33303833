"""The policy: the user's tiers by default, a YAML file to replace them, clear usage errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from restore_drill.errors import UsageError
from restore_drill.lint.policy import default_policy, load_policy


def test_default_policy_is_the_users_tiers() -> None:
    policy = default_policy()
    critical, daily = policy.tiers
    assert (critical.backup_schedule, critical.restore_schedule) == ("0 * * * *", "30 * * * *")
    assert critical.retain == {"hourly": 24, "daily": 7}
    assert daily.retain == {"daily": 14}
    assert policy.tier_of("home-assistant") is critical
    assert policy.tier_of("plex") is daily
    assert policy.tier_of("unknown-app") is None
    assert policy.min_restore_gap_minutes == 15


def test_policy_file_replaces_the_tiers(tmp_path: Path) -> None:
    file = tmp_path / "policy.yaml"
    file.write_text(
        "min_restore_gap_minutes: 45\ntiers:\n  gold:\n"
        "    backup_schedule: '*/30 * * * *'\n    restore_schedule: '15 * * * *'\n"
        "    retain: {hourly: 48}\n    apps: [wiki]\n"
    )
    policy = load_policy(file)
    assert [t.name for t in policy.tiers] == ["gold"]
    assert policy.tier_of("wiki") is not None and policy.tier_of("n8n") is None
    assert policy.min_restore_gap_minutes == 45


@pytest.mark.parametrize(
    "body",
    [
        "- a list\n",
        "tiers: {}\n",
        "tiers: {x: {backup_schedule: 'not cron', restore_schedule: '0 * * * *'}}\n",
        "tiers: {x: {backup_schedule: '0 * * * *', restore_schedule: '0 * * * *', "
        "retain: {forever: 1}}}\n",
        "tiers: {x: {backup_schedule: '0 * * * *', restore_schedule: '0 * * * *', apps: wiki}}\n",
        "min_restore_gap_minutes: -5\n",
        "cache_name_patterns: cache\n",
        "tiers: [unclosed\n",
    ],
)
def test_bad_policy_is_a_usage_error(tmp_path: Path, body: str) -> None:
    file = tmp_path / "policy.yaml"
    file.write_text(body)
    with pytest.raises(UsageError, match="policy"):
        load_policy(file)


def test_missing_policy_file_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError):
        load_policy(tmp_path / "absent.yaml")

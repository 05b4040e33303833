"""VolSync's state machine as pure functions: triggers, transitions, conditions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from restore_drill.clusters.sim.controllers import volsync_machine as m

NOW = datetime(2026, 3, 1, 10, 15, 30, tzinfo=UTC)


def condition(status: dict) -> dict:
    (found,) = [c for c in status["conditions"] if c["type"] == "Synchronizing"]
    return found


def test_trigger_manual_wins_over_schedule() -> None:
    assert m.trigger({"trigger": {"manual": "a", "schedule": "0 * * * *"}}) == "manual"
    assert m.trigger({"trigger": {"schedule": "0 * * * *"}}) == "schedule"
    assert m.trigger({}) == "none"


def test_states_read_from_status() -> None:
    assert m.state({}) == m.INITIAL
    assert m.state({"lastSyncStartTime": "x"}) == m.SYNCHRONIZING
    assert m.state({"lastSyncTime": "x"}) == m.CLEANING_UP


def test_begin_sync_sets_start_time_and_condition() -> None:
    status: dict = {}
    m.begin_sync(status, NOW)
    assert status["lastSyncStartTime"] == "2026-03-01T10:15:30Z"
    assert condition(status)["reason"] == "SyncInProgress"
    assert condition(status)["status"] == "True"


def test_finish_sync_advances_the_manual_tag_and_clears_start() -> None:
    spec = {"trigger": {"manual": "backup-1"}}
    status: dict = {"lastSyncStartTime": m.timestamp(NOW - timedelta(seconds=75))}
    m.finish_sync(spec, status, NOW)
    assert status["lastManualSync"] == "backup-1"
    assert status["lastSyncTime"] == "2026-03-01T10:15:30Z"
    assert status["lastSyncDuration"] == "1m15s"
    assert status["lastSyncStartTime"] is None
    assert status["nextSyncTime"] is None
    assert condition(status)["reason"] == "CleaningUp"


def test_manual_trigger_waits_until_the_tag_changes() -> None:
    spec = {"trigger": {"manual": "backup-1"}}
    status: dict = {"lastSyncTime": m.timestamp(NOW), "lastManualSync": "backup-1"}
    assert m.after_cleanup(spec, status, NOW) is None
    assert condition(status)["reason"] == "WaitingForManual"
    spec["trigger"]["manual"] = "backup-2"
    assert m.after_cleanup(spec, status, NOW) == 0.0
    assert condition(status)["reason"] == "SyncInProgress"


def test_schedule_waits_for_the_next_cron_time() -> None:
    spec = {"trigger": {"schedule": "30 * * * *"}}
    status: dict = {"lastSyncTime": m.timestamp(NOW)}
    wait = m.after_cleanup(spec, status, NOW)
    assert status["nextSyncTime"] == "2026-03-01T10:30:00Z"
    assert wait == pytest.approx(14 * 60 + 30 + 0.5)
    assert condition(status)["reason"] == "WaitingForSchedule"
    later = NOW + timedelta(minutes=15)
    assert m.after_cleanup(spec, status, later) == 0.0


def test_no_trigger_syncs_back_to_back() -> None:
    status: dict = {"lastSyncTime": m.timestamp(NOW)}
    assert m.after_cleanup({}, status, NOW) == 0.0


def test_missed_deadline_only_after_the_one_after_next() -> None:
    spec = {"trigger": {"schedule": "0 * * * *"}}
    status = {"lastSyncTime": m.timestamp(NOW)}
    assert not m.missed_deadline(spec, status, NOW + timedelta(minutes=50))
    assert m.missed_deadline(spec, status, NOW + timedelta(hours=2))


def test_error_condition_is_false_with_the_message() -> None:
    status: dict = {}
    m.set_error(status, 'Secret "repo" not found', NOW)
    assert condition(status) | {"lastTransitionTime": ""} == {
        "type": "Synchronizing",
        "status": "False",
        "reason": "Error",
        "message": 'Secret "repo" not found',
        "lastTransitionTime": "",
    }


def test_transition_time_kept_while_status_unchanged() -> None:
    status: dict = {}
    m.set_condition(status, m.REASON_MANUAL, "Waiting for manual trigger", NOW)
    m.set_condition(status, m.REASON_SCHEDULE, "x", NOW + timedelta(minutes=5))
    assert condition(status)["lastTransitionTime"] == m.timestamp(NOW)
    m.set_syncing(status, NOW + timedelta(minutes=9))
    assert condition(status)["lastTransitionTime"] == m.timestamp(NOW + timedelta(minutes=9))


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0s"), (12.5, "12.5s"), (75, "1m15s"), (3723.25, "1h2m3.25s")],
)
def test_go_duration(seconds: float, text: str) -> None:
    assert m.go_duration(seconds) == text

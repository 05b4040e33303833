"""Scenario files: the shipped ones load; invalid ones fail with ONE line naming file + field."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from restore_drill.errors import ScenarioError, UsageError
from restore_drill.scenario import (
    SCENARIOS_DIR,
    ExpectedFailure,
    find_scenario,
    load_group,
    load_scenario_file,
    load_scenarios,
    parse_scenario,
)

VALID = {
    "name": "x",
    "apps": ["home-assistant"],
    "dataset": {"profile": "smoke", "size": "1MiB"},
    "steps": [
        "deploy_app",
        "write_dataset",
        "backup",
        "write_dataset",
        "backup",
        "delete_pvc",
        "recreate_app",
        "wait_restored",
        "verify",
    ],
    "target_seconds": 120,
    "backends": ["kind"],
}

EXPECTED = {
    "pvc-delete": 120,
    "app-delete": 120,
    "namespace-delete": 120,
    "cluster-rebuild": 900,
    "point-in-time": 300,
    "volsync-upgrade": 120,
}


def test_shipped_scenarios_load_with_the_user_targets() -> None:
    scenarios = {s.name: s for s in load_scenarios()}
    assert {name: s.target_seconds for name, s in scenarios.items()} == EXPECTED
    for scenario in scenarios.values():
        names = [c.name for c in scenario.steps]
        assert "verify" in names and names.index("verify") > names.index("backup")
        assert names.index("write_marker") > names.index("backup"), scenario.name


def test_point_in_time_expects_the_older_data() -> None:
    scenario = find_scenario("point-in-time")
    verify = next(c for c in scenario.steps if c.name == "verify")
    assert verify.params == {"expect": "older"}


def error_of(raw: object) -> str:
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(raw, "scenarios/x.yaml")
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("scenarios/x.yaml: ")
    return message


def test_unknown_step_is_named() -> None:
    message = error_of({**VALID, "steps": [*VALID["steps"], "delete_everything"]})
    assert "steps[9]" in message and "delete_everything" in message


def test_missing_target() -> None:
    raw = {k: v for k, v in VALID.items() if k != "target_seconds"}
    assert "target_seconds: missing" in error_of(raw)


@pytest.mark.parametrize("target", [0, -5, "fast", True])
def test_target_must_be_positive_seconds(target: object) -> None:
    assert "target_seconds" in error_of({**VALID, "target_seconds": target})


def test_unknown_app() -> None:
    message = error_of({**VALID, "apps": ["home-assistant", "nextcloud"]})
    assert "apps[1]" in message and "nextcloud" in message


def test_unknown_field_backend_profile_param_and_fault() -> None:
    assert "colour: unknown field" in error_of({**VALID, "colour": "red"})
    assert "backends[0]" in error_of({**VALID, "backends": ["minikube"]})
    assert "dataset.profile" in error_of({**VALID, "dataset": {"profile": "nope"}})
    assert "faults[0]" in error_of({**VALID, "faults": ["gremlins"]})
    steps = [{"verify": {"colour": "red"}} if s == "verify" else s for s in VALID["steps"]]
    assert "steps[8].verify" in error_of({**VALID, "steps": steps})


def test_exactly_one_disaster_step() -> None:
    no_disaster = [s for s in VALID["steps"] if s != "delete_pvc"]
    assert "disaster" in error_of({**VALID, "steps": no_disaster})
    assert "disaster" in error_of({**VALID, "steps": [*VALID["steps"], "delete_namespace"]})


TWO_BACKUPS = "two backups of different data (write_dataset, backup; twice) must come before"
WAIT_THEN_VERIFY = "must be followed by wait_restored, then verify"


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        (["deploy_app", "backup", "backup", "delete_pvc", "wait_restored", "verify"], TWO_BACKUPS),
        (
            ["write_dataset", "backup", "backup", "delete_pvc", "wait_restored", "verify"],
            TWO_BACKUPS,
        ),
        (
            ["write_dataset", "backup", "delete_pvc", "write_dataset", "backup", "wait_restored"],
            TWO_BACKUPS,
        ),
        (["write_dataset", "backup"] * 2 + ["delete_pvc", "verify"], WAIT_THEN_VERIFY),
        (["write_dataset", "backup"] * 2 + ["delete_pvc", "wait_restored"], WAIT_THEN_VERIFY),
        (
            ["write_dataset", "backup"] * 2 + ["delete_pvc", "verify", "wait_restored"],
            WAIT_THEN_VERIFY,
        ),
        (  # a backup only started has made nothing yet
            ["write_dataset", "backup", "write_dataset", "backup_starts", "delete_pvc"],
            TWO_BACKUPS,
        ),
    ],
)
def test_a_drill_that_proves_nothing_is_rejected_in_one_line(
    steps: list[str], message: str
) -> None:
    error = error_of({**VALID, "steps": steps})
    assert message in error and len(error.splitlines()) == 1


def test_a_backup_that_finishes_in_the_background_counts_as_one() -> None:
    finished = ["write_dataset", "backup", "write_dataset", "backup_starts"]
    finished += ["wait_backup_finished", "delete_pvc", "wait_restored", "verify"]
    assert parse_scenario({**VALID, "steps": finished}, "x.yaml").steps[4].name == (
        "wait_backup_finished"
    )


def test_file_name_must_match(tmp_path: Path) -> None:
    path = tmp_path / "other.yaml"
    path.write_text(yaml.safe_dump(VALID))
    with pytest.raises(ScenarioError, match=r"other.yaml: name"):
        load_scenario_file(path)


def test_unknown_scenario_lists_the_known_ones() -> None:
    with pytest.raises(UsageError, match="pvc-delete"):
        find_scenario("nope")


def test_fault_drills_load_from_their_group_and_declare_an_outcome() -> None:
    faults = {s.name: s for s in load_group("faults")}
    assert {
        "s3-outage-backup",
        "s3-outage-restore",
        "wrong-s3-credentials",
        "wrong-restic-password",
        "mover-killed",
        "empty-repository",
        "corrupt-repository",
    } <= set(faults)
    assert faults["wrong-s3-credentials"].expected_failure == ExpectedFailure(
        "MoverFailed", "access-denied"
    )
    assert faults["s3-outage-restore"].outcome == "recovers"
    assert find_scenario("mover-killed").path == SCENARIOS_DIR / "faults" / "mover-killed.yaml"
    assert not {s.name for s in load_group("all")} & set(faults)


@pytest.mark.parametrize(
    ("extra", "field", "says"),
    [
        ({"outcome": "maybe"}, "outcome", "not one of recovers, fails-loudly"),
        ({"outcome": "fails-loudly"}, "expect_failure.type", "names the failure"),
        ({"expect_failure": {"type": "MoverFailed"}}, "expect_failure", "only a fails-loudly"),
        (
            {"outcome": "fails-loudly", "expect_failure": {"type": "ValueError"}},
            "expect_failure.type",
            "no DrillError",
        ),
        (
            {"outcome": "fails-loudly", "expect_failure": {"type": "MoverFailed", "cause": "x"}},
            "expect_failure.cause",
            "unknown cause 'x'",
        ),
    ],
)
def test_an_outcome_is_checked_in_one_line(extra: dict[str, object], field: str, says: str) -> None:
    message = error_of({**VALID, **extra})
    assert f": {field}: " in message and says in message


def test_faults_are_added_without_touching_the_file() -> None:
    scenario = find_scenario("pvc-delete")
    assert scenario.with_faults("corrupt-repository").faults == ("corrupt-repository",)
    assert scenario.faults == ()
    assert scenario.path == SCENARIOS_DIR / "pvc-delete.yaml"


def test_copies_of_an_app_are_numbered_across_the_list_with_their_tier_and_profile() -> None:
    fleet = [
        {"app": "home-assistant", "copies": 2, "tier": "critical"},
        "jellyfin",
        {"app": "home-assistant", "tier": "non-critical", "profile": "media"},
    ]
    scenario = parse_scenario({**VALID, "apps": fleet}, "f.yaml")
    assert [(i.name, i.tier, i.profile) for i in scenario.instances] == [
        ("home-assistant-1", "critical", ""),
        ("home-assistant-2", "critical", ""),
        ("jellyfin", "", ""),
        ("home-assistant-3", "non-critical", "media"),
    ]
    assert scenario.apps == ("home-assistant", "home-assistant", "jellyfin", "home-assistant")


@pytest.mark.parametrize(
    ("entry", "says"),
    [
        ({"app": "home-assistant", "copies": 0}, "apps[0].copies: a whole number >= 1, got 0"),
        ({"app": "home-assistant", "copies": True}, "apps[0].copies"),
        ({"app": "home-assistant", "tier": "hourly"}, "apps[0].tier: unknown tier 'hourly'"),
        ({"app": "home-assistant", "profile": "nope"}, "apps[0].profile: unknown profile"),
        ({"app": "home-assistant", "count": 2}, "apps[0].count: unknown field"),
        ({"app": "nextcloud"}, "apps[0]: unknown app 'nextcloud'"),
    ],
)
def test_a_wrong_app_entry_is_one_line_naming_it(entry: dict[str, object], says: str) -> None:
    message = error_of({**VALID, "apps": [entry]})
    assert says in message and "\n" not in message


def test_the_fleet_drill_is_the_users_fleet_of_18_apps_on_two_tiers() -> None:
    fleet = find_scenario("fleet-cluster-rebuild")
    tiers = [i.tier for i in fleet.instances]
    assert (len(fleet.instances), tiers.count("critical"), tiers.count("non-critical")) == (
        18,
        8,
        10,
    )
    assert len({i.name for i in fleet.instances}) == 18, "each app has a namespace of its own"
    assert [s.name for s in load_group("fleet")] == ["fleet-cluster-rebuild"]
    assert fleet.runs_alone


def test_a_scenario_names_every_dataset_profile_its_apps_are_written_with() -> None:
    assert find_scenario("pvc-delete").profiles == "smoke"
    assert find_scenario("fleet-cluster-rebuild").profiles == "home-assistant/media/paperless/smoke"

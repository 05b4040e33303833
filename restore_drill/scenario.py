"""Scenarios: files in ``scenarios/*.yaml`` (data, not code), parsed and checked.

A scenario names apps, a dataset, steps, a recovery-time target, the backends it runs on
and its expected outcome: ``recovers`` (the data comes back identical) or ``fails-loudly``
(a named failure, as for the fault drills in ``scenarios/faults/``). ``restore_drill.runner``
plays one. Every mistake in a file is one line naming the file and the field.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from restore_drill import data, errors, fixtures, restic, steps
from restore_drill.clusters import BACKENDS
from restore_drill.errors import ScenarioError, UsageError

log = logging.getLogger(__name__)

SCENARIOS_DIR = Path(__file__).resolve().parent.parent / "scenarios"
# Groups a run can name instead of one scenario: the directory each one reads.
GROUPS = {"all": "", "faults": "faults", "fleet": "fleet"}
FIELDS = {
    "name",
    "description",
    "apps",
    "dataset",
    "steps",
    "target_seconds",
    "backends",
    "faults",
    "outcome",
    "expect_failure",
}
APP_FIELDS = {"app", "copies", "tier", "profile"}
REQUIRED = ("name", "apps", "dataset", "steps", "target_seconds", "backends")
OUTCOMES = ("recovers", "fails-loudly")


@dataclass(frozen=True)
class StepCall:
    name: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ExpectedFailure:
    """How a ``fails-loudly`` drill must fail: the exception's name, the cause a failed
    mover's log gives (``restic`` kinds), and words the failure must say."""

    type: str
    cause: str = ""
    says: tuple[str, ...] = ()

    def describe(self) -> str:
        return f"{self.type} ({self.cause})" if self.cause else self.type


@dataclass(frozen=True)
class AppInstance:
    """One app of a scenario: the fixture it is rendered from, its own name (the fixture's,
    numbered when the scenario runs several copies), and optionally the backup tier whose
    schedule and retention its ReplicationSource gets and its own dataset profile."""

    fixture: str
    name: str
    tier: str = ""
    profile: str = ""


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    instances: tuple[AppInstance, ...]
    profile: str
    size: str
    steps: tuple[StepCall, ...]
    target_seconds: float
    backends: tuple[str, ...]
    faults: tuple[str, ...] = ()
    outcome: str = "recovers"
    expected_failure: ExpectedFailure | None = None
    path: Path | None = None

    @property
    def apps(self) -> tuple[str, ...]:
        """The fixture of each app instance, in order (a fixture run twice is named twice)."""
        return tuple(instance.fixture for instance in self.instances)

    @property
    def profiles(self) -> str:
        """The dataset profile(s) its apps are written with, e.g. ``smoke`` or
        ``home-assistant/media/paperless``."""
        return "/".join(sorted({i.profile or self.profile for i in self.instances}))

    @property
    def runs_alone(self) -> bool:
        """A step of it changes what other drills on the cluster share (see StepSpec)."""
        return any(steps.STEPS[call.name].alone for call in self.steps)

    def with_faults(self, *names: str) -> Scenario:
        return replace(self, faults=(*self.faults, *names))


def _fail(where: str, field_name: str, message: str) -> ScenarioError:
    return ScenarioError(f"{where}: {field_name}: {message}")


def _step_call(item: Any, where: str, index: int) -> StepCall:
    field_name = f"steps[{index}]"
    if isinstance(item, str):
        name, params = item, {}
    elif isinstance(item, dict) and len(item) == 1:
        name, raw = next(iter(item.items()))
        params = dict(raw or {})
    else:
        raise _fail(where, field_name, "a step is a name or {name: {param: value}}")
    spec = steps.STEPS.get(str(name))
    if spec is None:
        raise _fail(
            where, field_name, f"unknown step {name!r} (known: {', '.join(sorted(steps.STEPS))})"
        )
    unknown = sorted(set(params) - spec.params)
    if unknown:
        raise _fail(where, f"{field_name}.{name}", f"unknown parameter(s) {', '.join(unknown)}")
    return StepCall(str(name), params)


def _check_drill_shape(names: list[str], disaster: str, where: str) -> None:
    """A drill that proves something: two backups of different data before the disaster,
    and after it the restore waited for (the RTO clock stops there) and then verified."""
    at = names.index(disaster)
    backups, fresh = 0, False
    for name in names[:at]:
        if name == "write_dataset":
            fresh = True
        elif steps.STEPS[name].backs_up and fresh:
            backups, fresh = backups + 1, False
    if backups < 2:
        raise _fail(
            where,
            "steps",
            f"two backups of different data (write_dataset, backup; twice) must come before "
            f"the disaster ({disaster}), so that the drill can tell which one came back",
        )
    after = names[at + 1 :]
    if "wait_restored" not in after or "verify" not in after[after.index("wait_restored") :]:
        raise _fail(
            where,
            "steps",
            f"the disaster ({disaster}) must be followed by wait_restored, then verify",
        )


def _app_instances(raw: Any, where: str, known_apps: list[str] | None) -> tuple[AppInstance, ...]:
    """``apps``: fixture names, or ``{app, copies, tier, profile}`` for a fleet of copies.
    Copies of one fixture are numbered across the whole list: ``jellyfin-1``, ``jellyfin-2``."""
    if not isinstance(raw, list):
        raise _fail(where, "apps", "a list of app names or {app: NAME, copies: N, ...}")
    known = known_apps if known_apps is not None else fixtures.available_apps()
    tiers = tier_names()
    entries: list[tuple[str, int, str, str]] = []
    for index, item in enumerate(raw):
        field_name = f"apps[{index}]"
        entry = item if isinstance(item, dict) else {"app": item}
        unknown = sorted(set(entry) - APP_FIELDS)
        if unknown:
            raise _fail(where, f"{field_name}.{unknown[0]}", "unknown field")
        app, copies = entry.get("app"), entry.get("copies", 1)
        if app not in known:
            raise _fail(where, field_name, f"unknown app {app!r} (known: {', '.join(known)})")
        if isinstance(copies, bool) or not isinstance(copies, int) or copies < 1:
            raise _fail(where, f"{field_name}.copies", f"a whole number >= 1, got {copies!r}")
        tier, profile = str(entry.get("tier") or ""), str(entry.get("profile") or "")
        if tier and tier not in tiers:
            raise _fail(where, f"{field_name}.tier", f"unknown tier {tier!r} ({', '.join(tiers)})")
        if profile and profile not in data.list_profiles():
            raise _fail(where, f"{field_name}.profile", f"unknown profile {profile!r}")
        entries.append((str(app), copies, tier, profile))
    total = {app: 0 for app, *_ in entries}
    for app, copies, *_ in entries:
        total[app] += copies
    seen = dict.fromkeys(total, 0)
    instances = []
    for app, copies, tier, profile in entries:
        for _ in range(copies):
            seen[app] += 1
            name = app if total[app] == 1 else f"{app}-{seen[app]}"
            instances.append(AppInstance(app, name, tier, profile))
    return tuple(instances)


def tier_names() -> tuple[str, ...]:
    """The backup tiers of the user's design (the lint policy owns them)."""
    from restore_drill.lint.policy import default_policy

    return tuple(tier.name for tier in default_policy().tiers)


def _expected_failure(raw: Any, where: str) -> ExpectedFailure | None:
    outcome = raw.get("outcome", "recovers")
    if outcome not in OUTCOMES:
        raise _fail(where, "outcome", f"{outcome!r} is not one of {', '.join(OUTCOMES)}")
    expected = raw.get("expect_failure")
    if outcome == "recovers":
        if expected is not None:
            raise _fail(where, "expect_failure", "only a fails-loudly scenario expects a failure")
        return None
    if not isinstance(expected, dict) or not expected.get("type"):
        raise _fail(where, "expect_failure.type", "a fails-loudly scenario names the failure")
    unknown = sorted(set(expected) - {"type", "cause", "says"})
    if unknown:
        raise _fail(where, f"expect_failure.{unknown[0]}", "unknown field")
    if not _is_drill_error(str(expected["type"])):
        raise _fail(where, "expect_failure.type", f"{expected['type']!r} is no DrillError")
    cause = str(expected.get("cause") or "")
    if cause and cause not in restic.CAUSES_IN_WORDS:
        known = ", ".join(restic.CAUSES_IN_WORDS)
        raise _fail(where, "expect_failure.cause", f"unknown cause {cause!r} (known: {known})")
    says = expected.get("says") or []
    if isinstance(says, str):
        says = [says]
    return ExpectedFailure(str(expected["type"]), cause, tuple(str(w) for w in says))


def _is_drill_error(name: str) -> bool:
    found = getattr(errors, name, None)
    return isinstance(found, type) and issubclass(found, errors.DrillError)


def parse_scenario(raw: Any, where: str, known_apps: list[str] | None = None) -> Scenario:
    """Validate a scenario document; every error is one line naming ``where`` and the field."""
    if not isinstance(raw, dict):
        raise ScenarioError(f"{where}: a scenario file is a mapping of fields")
    unknown = sorted(set(raw) - FIELDS)
    if unknown:
        raise _fail(where, unknown[0], "unknown field")
    for name in REQUIRED:
        if raw.get(name) in (None, "", []):
            raise _fail(where, name, "missing")
    target = raw["target_seconds"]
    if isinstance(target, bool) or not isinstance(target, int | float) or target <= 0:
        raise _fail(
            where, "target_seconds", f"must be a positive number of seconds, got {target!r}"
        )
    instances = _app_instances(raw["apps"], where, known_apps)
    dataset = raw["dataset"]
    if not isinstance(dataset, dict) or not dataset.get("profile"):
        raise _fail(where, "dataset.profile", "missing")
    if dataset["profile"] not in data.list_profiles():
        raise _fail(where, "dataset.profile", f"unknown profile {dataset['profile']!r}")
    size = str(dataset.get("size") or "1MiB")
    try:
        data.parse_size(size)
    except UsageError as exc:
        raise _fail(where, "dataset.size", str(exc)) from None
    backends = tuple(raw["backends"])
    for index, backend in enumerate(backends):
        if backend not in BACKENDS:
            raise _fail(where, f"backends[{index}]", f"unknown backend {backend!r}")
    calls = tuple(_step_call(item, where, i) for i, item in enumerate(raw["steps"]))
    disasters = [c.name for c in calls if steps.STEPS[c.name].disaster]
    if len(disasters) != 1:
        raise _fail(where, "steps", f"need exactly one disaster step, found {disasters or 'none'}")
    _check_drill_shape([c.name for c in calls], disasters[0], where)
    faults = tuple(raw.get("faults") or ())
    for index, name in enumerate(faults):
        if name not in steps.FAULTS:
            raise _fail(where, f"faults[{index}]", f"unknown fault {name!r}")
    expected = _expected_failure(raw, where)
    return Scenario(
        name=str(raw["name"]),
        description=str(raw.get("description") or ""),
        instances=instances,
        profile=str(dataset["profile"]),
        size=size,
        steps=calls,
        target_seconds=float(target),
        backends=backends,
        faults=faults,
        outcome="fails-loudly" if expected else "recovers",
        expected_failure=expected,
    )


def load_scenario_file(path: Path) -> Scenario:
    try:
        raw = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise ScenarioError(f"{path}: cannot be read as YAML: {exc}".splitlines()[0]) from None
    scenario = parse_scenario(raw, str(path))
    if scenario.name != path.stem:
        raise _fail(str(path), "name", f"{scenario.name!r} differs from the file name")
    return replace(scenario, path=path)


def load_scenarios(directory: Path = SCENARIOS_DIR) -> list[Scenario]:
    return [load_scenario_file(p) for p in sorted(directory.glob("*.yaml"))]


def load_group(group: str, directory: Path = SCENARIOS_DIR) -> list[Scenario]:
    """The scenarios a group name stands for: ``all`` (the disasters), ``faults`` or
    ``fleet``."""
    return load_scenarios(directory / GROUPS[group])


def _scenario_files(directory: Path) -> list[Path]:
    return sorted(p for sub in GROUPS.values() for p in (directory / sub).glob("*.yaml"))


def find_scenario(name: str, directory: Path = SCENARIOS_DIR) -> Scenario:
    files = {p.stem: p for p in _scenario_files(directory)}
    if name not in files:
        known = ", ".join([*GROUPS, *files])
        raise UsageError(f"unknown scenario {name!r} (known: {known})")
    return load_scenario_file(files[name])

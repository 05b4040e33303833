"""The verify step: the restored data judged against what was written, and the backup
that came back named by its dataset and its snapshot."""

from __future__ import annotations

import time

from restore_drill.data import Manifest, Policy, diff_manifests
from restore_drill.errors import MeasurementError, VerificationFailed
from restore_drill.steps.context import Drill
from restore_drill.steps.diagnosis import empty_volume_cause, restore_behind
from restore_drill.steps.registry import step
from restore_drill.steps.workloads import list_all_data


@step("verify", params=("expect",))
def verify(drill: Drill, expect: str = "") -> None:
    """Compare every restored PVC with the dataset written before the backup."""
    started = time.monotonic()
    label = expect or drill.last_dataset
    if label not in drill.datasets:
        named = f" {label!r}" if label else ""
        raise MeasurementError(f"no dataset{named} was written before verify")
    expected = drill.datasets[label]
    check_dataset_written(drill, expected)
    problems: list[str] = []
    summary: dict[str, object] = {}
    listed = list_all_data(drill)
    for app, pvc in drill.volumes():
        key = f"{app.name}/{pvc}"
        policy = Policy.from_profile(drill.profile_of(app))
        actual = listed[key]
        diff = diff_manifests(expected[key], actual, policy)
        came_back = which_dataset(drill, key, actual, policy)
        backed_up = drill.snapshots.get(label, {}).get(key)
        destination = app.fixture.destination_for(pvc)["metadata"]["name"]
        source, restored = restore_behind(drill, app, pvc)
        summary[key] = {
            **diff.as_dict(limit=20),
            "entries": len(actual.entries),
            "bytes": actual.total_bytes,
            "came_back": came_back,
            "snapshot_backed_up": backed_up.as_dict() if backed_up else None,
            "populated_from": source,
            "snapshot_restored": restored,
        }
        if backed_up and restored is None and actual.entries:
            problems.append(
                f"{key}: ReplicationDestination {destination}'s mover status names no "
                "restored snapshot, so the restore cannot be matched to a backup"
            )
        elif backed_up and restored and not backed_up.id.startswith(restored):
            problems.append(
                f"{key}: ReplicationDestination {destination} restored snapshot {restored},"
                f" but the backup of the {label!r} dataset is {backed_up.short_id}"
            )
        if not actual.entries and expected[key].entries:
            problems.append(empty_volume_cause(drill, app, pvc, len(expected[key].entries)))
        elif came_back not in (None, label):
            problems.append(
                f"{key}: the {came_back!r} dataset came back, not {label!r}: the restore "
                "took the wrong backup"
            )
        elif not diff.ok:
            problems.append(f"{key}: {diff.summary(limit=10)}")
    drill.verify = {"dataset": label, "pvcs": summary, "ok": not problems}
    drill.verify_seconds = time.monotonic() - started
    if problems:
        raise VerificationFailed("\n".join(problems))


def which_dataset(drill: Drill, key: str, actual: Manifest, policy: Policy) -> str | None:
    """The dataset written earlier in the drill that the restored volume holds exactly
    (the marker aside), or None: which backup came back."""
    for name, written in drill.datasets.items():
        if key in written:
            diff = diff_manifests(written[key], actual, policy)
            if not (diff.missing or diff.extra or diff.changed):
                return name
    return None


def check_dataset_written(drill: Drill, written: dict[str, Manifest]) -> None:
    """A dataset smaller than the profile and size ask for proves nothing when restored."""
    from restore_drill.data import dataset_floor, parse_size

    profiles = {f"{app.name}/{pvc}": drill.profile_of(app) for app, pvc in drill.volumes()}
    for key, manifest in written.items():
        profile = profiles.get(key, drill.profile)
        files, size = dataset_floor(profile, parse_size(drill.size))
        if manifest.files < files or manifest.total_bytes < size:
            raise MeasurementError(
                f"{key}: the dataset written holds {manifest.files} files, "
                f"{manifest.total_bytes} bytes; profile {profile.get('name')} at "
                f"{drill.size} writes at least {files} files, {size} bytes"
            )

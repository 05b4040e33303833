"""``restore-drill selftest``: the harness shows it can fail, on this cluster.

It plays pvc-delete up to verify, checks that the clean restore passes, then plants each
kind of damage a broken restore could leave and runs the real checks again: each damage
must be caught, and by the check meant for it. The file damages go into the restored
volume through the data agent's pod (``data/damage.py``), one file each, so one verify
run judges them all; the unit tests plant the same damage with the same code in a local
directory, so the checker is guarded without a cluster too.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from restore_drill import steps
from restore_drill.data import Manifest
from restore_drill.errors import (
    DrillError,
    MeasurementError,
    RestoreTimeout,
    VerificationFailed,
)
from restore_drill.runner import RunOptions, clean_up, judge, prepare_drill, run_steps
from restore_drill.scenario import find_scenario
from restore_drill.steps.workloads import MARK, run_agent_job

if TYPE_CHECKING:
    from restore_drill.clusters.base import Cluster
    from restore_drill.objectstore import ObjectStore

SCENARIO = "pvc-delete"
# damage.py's kind -> what the table calls it, and the verify finding that must name it.
FILE_DAMAGES = {
    "flip-byte": ("byte flipped", "changed", "sha256"),
    "truncate": ("file truncated", "changed", "size"),
    "remove": ("file removed", "missing", ""),
    "chmod": ("mode changed", "changed", "mode"),
    "retarget": ("symlink retargeted", "changed", "target"),
    "extra": ("extra file", "extra", ""),
}
EXTRA_FILE = "selftest-extra-file"


@dataclass(frozen=True)
class Row:
    damage: str
    detected: bool
    by: str


def pick_targets(manifest: Manifest) -> dict[str, str]:
    """One path per file damage, each a different entry (SQLite files are left alone: the
    app's readiness check reads them)."""
    files = [
        path
        for path, entry in sorted(manifest.entries.items())
        if entry.get("type") == "file"
        and int(entry.get("size") or 0) >= 2
        and not entry.get("link_group")
        and "sqlite" not in path
        and not path.endswith(("-wal", ".db"))
    ]
    links = [p for p, e in sorted(manifest.entries.items()) if e.get("type") == "symlink"]
    if len(files) < 4 or not links:
        raise MeasurementError("the dataset has too few plain files or no symlink to damage")
    kinds = ["flip-byte", "truncate", "remove", "chmod"]
    return {**dict(zip(kinds, files, strict=False)), "retarget": links[0], "extra": EXTRA_FILE}


def _short(path: str, width: int = 60) -> str:
    return path if len(path) <= width else f"{path[: width // 3]}...{path[-(width * 2 // 3) :]}"


def finding(verdict: dict[str, Any], kind: str, path: str) -> str | None:
    """The verify finding that names ``path`` the way ``kind`` should be caught, or None."""
    _, where, field = FILE_DAMAGES[kind]
    if where == "changed":
        for change in verdict.get("changed") or []:
            if change["path"] == path and change["field"] == field:
                return f"verify: changed {_short(path)}: {field}"
        return None
    return f"verify: {where} {_short(path)}" if path in (verdict.get(where) or []) else None


def _caught(name: str, attempt: Callable[[], None], expected: type[DrillError], words: str) -> Row:
    try:
        attempt()
    except expected as exc:
        text = str(exc)
        line = next((x.strip() for x in text.splitlines() if words in x), "")
        return Row(name, bool(line), f"{type(exc).__name__}: {line[:110]}" if line else text[:110])
    except DrillError as exc:
        return Row(name, False, f"caught by the wrong check: {type(exc).__name__}: {exc}"[:140])
    return Row(name, False, "not detected: the check passed")


def damage_volume(drill: steps.Drill, pairs: dict[str, str], what: str) -> None:
    app = drill.apps[0]
    argv = " ".join(f"{kind} '{path}'" for kind, path in pairs.items())
    run_agent_job(
        drill, app, app.fixture.pvcs[0], what, f"python3 /agent/damage.py --root /data {argv}"
    )


def play(cluster: Cluster, store: ObjectStore, options: RunOptions) -> list[Row]:
    """The drill, the clean verdict, then each damage and whether it was caught."""
    scenario = find_scenario(SCENARIO)
    until_verify = replace(scenario, steps=tuple(c for c in scenario.steps if c.name != "verify"))
    drill = prepare_drill(scenario, cluster, store, options)
    store.create_bucket(drill.bucket)
    failed = True
    try:
        run_steps(until_verify, drill, [])
        judge(scenario, drill)
        verify = steps.STEPS["verify"].run
        try:
            verify(drill)  # the clean restore passes, or nothing below means anything
        except VerificationFailed as exc:
            raise VerificationFailed(
                f"the clean restore failed verify, so no damage was planted: {exc}"
            ) from exc
        rto = drill.rto_seconds or 0.0
        rows = [
            _caught(
                "RTO target below measured",
                lambda: judge(replace(scenario, target_seconds=rto / 2), drill),
                RestoreTimeout,
                "target is",
            ),
            _caught(
                "older snapshot restored",
                lambda: verify(drill, expect="older"),
                VerificationFailed,
                "came back",
            ),
        ]
        app = drill.apps[0]
        key = f"{app.name}/{app.fixture.pvcs[0]}"
        targets = pick_targets(drill.datasets[drill.last_dataset][key])
        damage_volume(drill, targets, "damage")
        files = _caught("file damage", lambda: verify(drill), VerificationFailed, "DIFFERENT")
        verdict = drill.verify["pvcs"][key]
        for kind, path in targets.items():
            by = finding(verdict, kind, path) if files.detected else None
            rows.append(Row(FILE_DAMAGES[kind][0], by is not None, by or files.by))
        run_agent_job(drill, app, app.fixture.pvcs[0], "mark", MARK)
        rows.append(
            _caught("marker left present", lambda: verify(drill), VerificationFailed, "marker")
        )
        damage_volume(drill, {"empty": ""}, "empty")
        rows.append(_caught("empty volume", lambda: verify(drill), VerificationFailed, "EMPTY"))
        failed = not all(row.detected for row in rows)
        return rows
    finally:
        clean_up(cluster, store, drill, keep=options.keep, failed=failed)


def write_table(rows: list[Row], out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    path = out / "selftest.json"
    detected = sum(row.detected for row in rows)
    document = {"detected": detected, "planted": len(rows), "rows": [asdict(r) for r in rows]}
    path.write_text(json.dumps(document, indent=2) + "\n")
    return path


def table(rows: list[Row]) -> str:
    width = max(len(row.damage) for row in rows)
    lines = [f"{'damage'.ljust(width)}  detected  by"]
    lines += [
        f"{r.damage.ljust(width)}  {'yes' if r.detected else 'NO '}       {r.by}" for r in rows
    ]
    detected = sum(row.detected for row in rows)
    lines.append(f"\n{detected} of {len(rows)} detected ({100 * detected // len(rows)}%)")
    return "\n".join(lines)

"""The runner: plays one scenario on a running cluster and returns its verdict.

It executes the steps in order, times each, measures RTO from the start of the disaster
step to restored PVC Bound and app pod Ready (read twice: here and from the cluster's
timestamps), verifies the data beside it, writes result.json, and removes what the drill
made unless ``--keep`` says otherwise.
"""

from __future__ import annotations

import errno
import logging
import secrets
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from restore_drill import data, fixtures, outcome, progress, steps
from restore_drill.errors import (
    DiskFull,
    DrillError,
    MeasurementError,
    RestoreTimeout,
    UsageError,
)
from restore_drill.lint.policy import default_policy
from restore_drill.progress import Sink, ignore
from restore_drill.report import DrillResult, StepTiming, utc_now, write_result
from restore_drill.scenario import Scenario
from restore_drill.steps.clock import check_readings, clock_record

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from restore_drill.clusters.base import Cluster
    from restore_drill.k8s import Kube
    from restore_drill.objectstore import ObjectStore


@dataclass
class RunOptions:
    out_dir: Path
    size: str | None = None
    keep: str = "on-failure"  # never | on-failure | always
    step_timeout: float = 300.0
    progress: Sink = ignore  # the drill's display
    password: str | None = field(default=None, repr=False)  # the restic password (fresh if None)


def placeholder_values(
    *,
    object_store: ObjectStore,
    cluster: Cluster,
    app: str,
    namespace: str,
    bucket: str,
    run_id: str,
    password: str,
) -> dict[str, str]:
    credentials = object_store.credentials
    return {
        "APP": app,
        "NAMESPACE": namespace,
        "BUCKET": bucket,
        "RUN_ID": run_id,
        "STORAGE_CLASS": cluster.storage_class,
        "SNAPSHOT_CLASS": cluster.snapshot_class,
        "S3_ENDPOINT": object_store.cluster_endpoint,
        "RESTIC_PASSWORD": password,
        "AWS_ACCESS_KEY_ID": credentials.access_key,
        "AWS_SECRET_ACCESS_KEY": credentials.secret_key,
        "AWS_DEFAULT_REGION": credentials.region,
        "AGENT_IMAGE": cluster.agent_image,
    }


def prepare_drill(
    scenario: Scenario,
    cluster: Cluster,
    object_store: ObjectStore,
    options: RunOptions,
    *,
    run_id: str | None = None,
    password: str | None = None,
) -> steps.Drill:
    """The drill's state: its run id, bucket, namespaces and each app's rendered fixture
    (``run_id`` and ``password`` are fresh unless given, as a dry run gives them)."""
    run_id = run_id or secrets.token_hex(4)
    bucket = f"rd-{run_id}"
    password = password or secrets.token_urlsafe(24)
    policy = default_policy()
    # Each app's own profile, read once however many copies use it.
    own = {instance.profile for instance in scenario.instances if instance.profile}
    profiles = {name: data.load_profile(name) for name in own}
    apps = []
    for instance in scenario.instances:
        namespace = f"rd-{run_id}-{instance.name}"
        values = placeholder_values(
            object_store=object_store,
            cluster=cluster,
            app=instance.name,
            namespace=namespace,
            bucket=bucket,
            run_id=run_id,
            password=password,
        )
        fixture = fixtures.load_app(instance.fixture, values)
        if instance.tier:
            tier = policy.tier_named(instance.tier)
            fixtures.apply_tier(fixture, tier.name, tier.backup_schedule, tier.retain)
        profile = profiles[instance.profile] if instance.profile else None
        apps.append(steps.AppUnderTest(fixture, namespace, values, instance.name, profile))
    fixtures.check_own_repositories([(app.name, app.fixture) for app in apps])
    return steps.Drill(
        scenario=scenario.name,
        run_id=run_id,
        cluster=cluster,
        object_store=object_store,
        bucket=bucket,
        apps=apps,
        profile=data.load_profile(scenario.profile),
        size=options.size or scenario.size,
        seed=zlib.crc32(run_id.encode()) % 100_000,
        step_timeout=options.step_timeout,
        target_seconds=scenario.target_seconds,
        progress=options.progress,
    )


def run_steps(scenario: Scenario, drill: steps.Drill, timings: list[StepTiming]) -> None:
    with progress.reporting(drill.progress):  # the steps' waits report to it too
        for call in scenario.steps:
            _run_step(call.name, call.params, drill, timings)
            for name in scenario.faults:
                if steps.FAULTS[name].after == call.name:
                    drill.progress(progress.StepStarted(f"fault {name}"))
                    started = time.monotonic()
                    steps.FAULTS[name].run(drill)
                    drill.progress(progress.StepEnded(f"fault {name}", time.monotonic() - started))
                    drill.notes.append(f"fault injected after {call.name}: {name}")


def _run_step(
    name: str, params: dict[str, Any], drill: steps.Drill, timings: list[StepTiming]
) -> None:
    # Named before it is announced: a signal that lands right after the announcement
    # belongs to this step, not to the one before.
    drill.current_step = name
    disaster = steps.STEPS[name].disaster
    started = time.monotonic()
    try:
        drill.progress(progress.StepStarted(name, disaster=disaster))
        steps.STEPS[name].run(drill, **params)
    except BaseException as exc:
        seconds = time.monotonic() - started
        timings.append(StepTiming(name, seconds, ok=False, disaster=disaster))
        interrupted = isinstance(exc, KeyboardInterrupt)
        drill.progress(
            progress.StepEnded(name, seconds, "interrupted" if interrupted else "failed")
        )
        raise
    seconds = time.monotonic() - started
    timings.append(StepTiming(name, seconds, disaster=disaster))
    drill.progress(progress.StepEnded(name, seconds))


def judge(scenario: Scenario, drill: steps.Drill) -> None:
    """Raise MeasurementError when the RTO is missing, not positive or read differently by
    the cluster's timestamps; RestoreTimeout when it is over the target."""
    rto = drill.rto_seconds
    if rto is not None and drill.disaster_server is None and not drill.disaster_record_lost:
        raise MeasurementError(
            "the API server recorded no time for the disaster (no deletionTimestamp or "
            "managed-fields time in its answers): the RTO has only this process's word"
        )
    check_readings(rto, drill.cluster_rto_seconds, drill.cluster_clock_start)
    if rto is not None and rto > scenario.target_seconds:
        raise RestoreTimeout(rto, scenario.target_seconds, "PVC Bound and app pod Ready too late")


def run_drill(
    scenario: Scenario, cluster: Cluster, object_store: ObjectStore, options: RunOptions
) -> DrillResult:
    """Play ``scenario`` on a running cluster; the result (never raises a DrillError)."""
    if cluster.backend not in scenario.backends:
        raise UsageError(f"scenario {scenario.name} does not run on {cluster.backend}")
    started_at = utc_now()
    drill = prepare_drill(scenario, cluster, object_store, options, password=options.password)
    object_store.create_bucket(drill.bucket)
    timings: list[StepTiming] = []
    failure: DrillError | None = None
    try:
        run_steps(scenario, drill, timings)
        judge(scenario, drill)
    except DrillError as exc:
        failure = exc
    except OSError as exc:
        if exc.errno != errno.ENOSPC:
            raise
        # This machine's disk filled (a manifest, a log): the verdict and teardown still come.
        failure = DiskFull(f"this machine's disk filled up during {drill.current_step}: {exc}")
    except KeyboardInterrupt:
        drill.mend()
        _record_interruption(scenario, drill, timings, options, started_at)
        raise
    drill.mend()
    seen, failure = failure, outcome.verdict_failure(scenario, failure)
    result = _result(
        scenario,
        drill,
        timings,
        started_at,
        passed=failure is None,
        rto_seconds=drill.rto_seconds,
        rto_cluster=clock_record(drill),
        rpo_seconds=drill.rpo_seconds,
        verify_seconds=drill.verify_seconds,
        verify=drill.verify,
        versions=_versions(cluster),
        failure=str(failure) if failure else None,
        failure_type=type(failure).__name__ if failure else None,
        outcome_observed=outcome.observed(seen),
        observed_failure=str(seen) if seen is not None and failure is None else None,
    )
    directory = options.out_dir / f"{scenario.name}-{drill.run_id}"
    if failure is not None and options.keep != "never":
        _bundle(cluster, directory / "bundle", drill)
    clean_up(cluster, object_store, drill, keep=options.keep, failed=failure is not None)
    write_result(result, directory)
    return result


def _record_interruption(
    scenario: Scenario,
    drill: steps.Drill,
    timings: list[StepTiming],
    options: RunOptions,
    started_at: str,
) -> None:
    """A signal stopped the drill: say where in result.json, and start removing what the
    drill made without waiting for it (the run's own teardown follows at once)."""
    cluster, object_store = drill.cluster, drill.object_store
    stopped_in = drill.current_step or "before the first step"
    result = _result(
        scenario,
        drill,
        timings,
        started_at,
        passed=False,
        failure=f"interrupted during {stopped_in}",
        failure_type="Interrupted",
        interrupted=stopped_in,
        outcome_observed="interrupted",
    )
    write_result(result, options.out_dir / f"{scenario.name}-{drill.run_id}")
    if options.keep == "always":
        return
    from restore_drill import k8s

    for namespace in sorted(drill.created_namespaces):
        try:
            cluster.assert_may_delete_namespace(namespace, drill.created_namespaces)
            cluster.kube().delete(k8s.NAMESPACE, namespace)
        except DrillError as exc:
            log.warning("interrupted: namespace %s left: %s", namespace, exc)
    try:
        object_store.delete_bucket(drill.bucket)
    except Exception as exc:  # the store may be going away with the run
        log.warning("interrupted: bucket %s left: %s", drill.bucket, type(exc).__name__)


def _result(
    scenario: Scenario,
    drill: steps.Drill,
    timings: list[StepTiming],
    started_at: str,
    **fields: Any,
) -> DrillResult:
    return DrillResult(
        scenario=scenario.name,
        backend=drill.cluster.backend,
        run_id=drill.run_id,
        started_at=started_at,
        rto_target_seconds=scenario.target_seconds,
        dataset=f"{scenario.profiles} {drill.size}",
        steps=timings,
        notes=drill.notes,
        namespaces=sorted(drill.created_namespaces),
        outcome_expected=outcome.expected(scenario),
        **fields,
    )


def _versions(cluster: Cluster) -> dict[str, str]:
    try:
        return {**cluster.versions(), "backend": cluster.backend}
    except DrillError:
        return {"backend": cluster.backend}


def _bundle(cluster: Cluster, dest: Path, drill: steps.Drill) -> None:
    try:
        cluster.collect_bundle(dest, sorted(drill.created_namespaces))
    except DrillError as exc:
        drill.notes.append(f"failure bundle incomplete: {exc}")


def delete_namespaces(kube: Kube, names: list[str], *, timeout: float = 120) -> list[DrillError]:
    """Delete every namespace named, then wait until each is gone; return what failed.
    None is waited for before all are deleted: the namespace controller empties them side
    by side (a fleet's 18 took minutes one after another)."""
    from restore_drill import k8s

    failures: list[DrillError] = []
    deleting: list[str] = []
    for name in names:
        try:
            kube.delete(k8s.NAMESPACE, name)
            deleting.append(name)
        except DrillError as exc:
            failures.append(exc)
    for name in deleting:
        try:
            kube.wait_gone(k8s.NAMESPACE, name, timeout=timeout)
        except DrillError as exc:
            failures.append(exc)
    return failures


def clean_up(
    cluster: Cluster, object_store: ObjectStore, drill: steps.Drill, *, keep: str, failed: bool
) -> None:
    if keep == "always" or (keep == "on-failure" and failed):
        return
    # Namespaces first, and gone, so that no mover still writes into the bucket.
    ours: list[str] = []
    for namespace in sorted(drill.created_namespaces):
        try:
            cluster.assert_may_delete_namespace(namespace, drill.created_namespaces)
            ours.append(namespace)
        except DrillError as exc:
            drill.notes.append(f"clean-up: {exc}")
    try:
        failures = delete_namespaces(cluster.kube(), ours)
    except DrillError as exc:  # no client: the cluster is gone
        failures = [exc]
    drill.notes.extend(f"clean-up: {exc}" for exc in failures)
    try:
        object_store.delete_bucket(drill.bucket)
    except DrillError as exc:
        drill.notes.append(f"clean-up: {exc}")
    except Exception as exc:  # botocore's errors: clean-up must not hide the verdict
        drill.notes.append(f"clean-up: bucket {drill.bucket}: {type(exc).__name__}")

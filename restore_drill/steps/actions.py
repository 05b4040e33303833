"""The steps a scenario file names, in the order a drill usually runs them."""

from __future__ import annotations

import time
from datetime import datetime
from functools import partial

from restore_drill import gitops, k8s, volsync
from restore_drill.addons.together import run_together
from restore_drill.errors import RefusedDestructiveAction
from restore_drill.kinds import Obj, dig
from restore_drill.steps import clock, snapshots
from restore_drill.steps.context import AppUnderTest, Drill
from restore_drill.steps.registry import step
from restore_drill.steps.workloads import (
    MARK,
    AgentTask,
    app_pods,
    ensure_agent_config_map,
    restored_volume,
    run_agent_jobs,
    wait_app_ready,
    write_and_list_all,
)


def _namespace_manifest(app: AppUnderTest) -> list[k8s.Obj]:
    return [m for m in app.fixture.manifests if m["kind"] == "Namespace"]


def sync_app(drill: Drill, app: AppUnderTest) -> None:
    """GitOps: namespace, the harness's agent ConfigMap, then every app manifest."""
    kube = drill.kube()
    gitops.gitops_sync(kube, _namespace_manifest(app))
    ensure_agent_config_map(drill, app)
    gitops.gitops_sync(kube, app.fixture.manifests)


def sync_apps(drill: Drill) -> None:
    """Sync every app at once, as ArgoCD's operation processors do: a fleet's apps do not
    wait for each other's manifests to be applied."""
    for app in drill.apps:
        drill.created_namespaces.add(app.namespace)
    run_together({f"sync {app.name}": partial(sync_app, drill, app) for app in drill.apps})


@step("deploy_app")
def deploy_app(drill: Drill) -> None:
    """Deploy each app as GitOps would; its PVCs start from the first (empty) restore."""
    kube = drill.kube()
    for app in drill.apps:
        existing = kube.find(k8s.NAMESPACE, app.namespace)
        if existing is not None and app.namespace not in drill.created_namespaces:
            raise RefusedDestructiveAction(
                f"namespace {app.namespace} exists and was not created by this run"
            )
    sync_apps(drill)
    wait_restored_quietly(drill)
    wait_first_backups(drill)


def wait_first_backups(drill: Drill) -> None:
    """A new scheduled RS syncs at once (it has no lastSyncTime). Data is written only
    after that first sync ends: a manual tag set while a sync runs is recorded by THAT sync,
    which would then pass for the drill's backup with half the data in it."""
    kube = drill.kube()
    for app, pvc in drill.volumes():
        name = app.fixture.source_for(pvc)["metadata"]["name"]
        kube.wait_for(
            k8s.REPLICATION_SOURCE,
            name,
            app.namespace,
            lambda o: bool(dig(o, "status", "lastSyncTime")),
            timeout=drill.step_timeout,
            what=f"first sync of ReplicationSource {app.namespace}/{name}",
        )


def wait_restored_quietly(drill: Drill) -> None:
    kube = drill.kube()
    for app in drill.apps:
        for pvc in app.fixture.pvcs:
            _wait_bound(kube, app, pvc, drill.remaining())
        wait_app_ready(drill, app, timeout=drill.remaining())


def _wait_bound(kube: k8s.Kube, app: AppUnderTest, pvc: str, timeout: float) -> None:
    kube.wait_for(
        k8s.PVC,
        pvc,
        app.namespace,
        lambda o: dig(o, "status", "phase") == "Bound",
        timeout=timeout,
        what=f"PVC {app.namespace}/{pvc} Bound",
    )


@step("write_dataset", params=("name",))
def write_dataset(drill: Drill, name: str = "dataset") -> None:
    """Write a fresh checksummed dataset into every PVC and keep its manifest."""
    seeds = {
        f"{app.name}/{pvc}": drill.seed + 1000 * len(drill.datasets) + index
        for app in drill.apps
        for index, pvc in enumerate(app.fixture.pvcs)
    }
    drill.datasets[name] = write_and_list_all(drill, seeds)
    drill.last_dataset = name


@step("backup", backs_up=True)
def backup(drill: Drill) -> None:
    """Back every PVC up now (manual triggers, asked all at once, then waited for in turn),
    then hand each RS back to its schedule."""
    kube = drill.kube()
    started = time.time()
    asked = []
    for app, pvc in drill.volumes():
        name = app.fixture.source_for(pvc)["metadata"]["name"]
        prefix = snapshots.repository_prefix(app, pvc, drill.bucket)
        volsync.wait_idle(
            kube, k8s.REPLICATION_SOURCE, name, app.namespace, timeout=drill.step_timeout
        )
        before = snapshots.RepositoryListing(drill.object_store, drill.bucket, prefix)
        tag = drill.next_tag("backup")
        sync = volsync.ask_manual_sync(kube, k8s.REPLICATION_SOURCE, name, app.namespace, tag)
        asked.append((app, pvc, before, sync))
    for app, pvc, before, sync in asked:
        synced = volsync.wait_asked_sync(kube, sync, timeout=drill.step_timeout)
        record_backup(drill, app, pvc, before, synced)
    drill.backup_times.append(started)


def record_backup(
    drill: Drill, app: AppUnderTest, pvc: str, before: snapshots.RepositoryListing, synced: Obj
) -> snapshots.Snapshot:
    """Keep the snapshot a finished backup made as the last dataset's, then hand the RS
    back to its schedule. The bucket itself must hold the new snapshot (against ``before``,
    listed when the backup was asked for), and it must be the mover's."""
    source = app.fixture.source_for(pvc)
    key = f"{app.name}/{pvc}"
    prefix = snapshots.repository_prefix(app, pvc, drill.bucket)
    after = snapshots.RepositoryListing(drill.object_store, drill.bucket, prefix)
    snapshot = after.new_snapshot(before, key)
    snapshots.check_saved(snapshot, synced, key)
    drill.snapshots.setdefault(drill.last_dataset, {})[key] = snapshot
    schedule = dig(source, "spec", "trigger", "schedule")
    if schedule:
        name = source["metadata"]["name"]
        volsync.restore_schedule(
            drill.kube(), k8s.REPLICATION_SOURCE, name, app.namespace, schedule
        )
    return snapshot


@step("keep_backups", params=("last",))
def keep_backups(drill: Drill, last: int = 2) -> None:
    """Add ``retain.last`` to every RS: tier retention (``--keep-hourly``) keeps only the
    newest backup of each hour, so two backups minutes apart would leave only one."""
    kube = drill.kube()
    for app, pvc in drill.volumes():
        name = app.fixture.source_for(pvc)["metadata"]["name"]
        # VolSync's CRD types retain.last as a string (the other counts are integers).
        patch = {"spec": {"restic": {"retain": {"last": str(last)}}}}
        kube.patch(k8s.REPLICATION_SOURCE, name, patch, app.namespace)
    drill.notes.append(
        f"retain.last={last} added for the drill: the tier's hourly/daily retention keeps one"
        " backup per hour/day, so backups minutes apart cannot both be restored"
    )


@step("restore_point")
def restore_point(drill: Drill) -> None:
    """Have every ReplicationDestination restore the newest backup into a new latestImage
    (all asked at once, then waited for in turn)."""
    kube = drill.kube()
    asked = []
    for app, pvc in drill.volumes():
        name = app.fixture.destination_for(pvc)["metadata"]["name"]
        before = volsync.latest_image(kube.find(k8s.REPLICATION_DESTINATION, name, app.namespace))
        tag = drill.next_tag("restore")
        sync = volsync.ask_manual_sync(kube, k8s.REPLICATION_DESTINATION, name, app.namespace, tag)
        asked.append((before, sync))
    for before, sync in asked:
        volsync.wait_asked_sync(kube, sync, timeout=drill.step_timeout)
        volsync.wait_latest_image(
            kube, sync.name, sync.namespace, timeout=drill.step_timeout, not_named=before
        )
        destination = kube.find(k8s.REPLICATION_DESTINATION, sync.name, sync.namespace)
        snapshots.remember_image(drill.images, destination)


@step("write_marker")
def write_marker(drill: Drill) -> None:
    """Write the post-backup marker: a correct restore must not contain it."""
    run_agent_jobs(drill, [AgentTask(app, pvc, "mark", MARK) for app, pvc in drill.volumes()])


def _delete_pods(drill: Drill, app: AppUnderTest) -> None:
    kube = drill.kube()
    for pod in app_pods(kube, app):
        drill.stamp_disaster(kube.delete_answered(k8s.POD, pod["metadata"]["name"], app.namespace))


@step("delete_pvc", disaster=True)
def delete_pvc(drill: Drill) -> None:
    """Delete every PVC, and its app's pods (the Deployment makes new ones).

    A PVC stays Terminating while a pod uses it, so the operator deletes the pod too."""
    drill.mark_disaster()
    kube = drill.kube()
    for app in drill.apps:
        for pvc in app.fixture.pvcs:
            drill.stamp_disaster(kube.delete_answered(k8s.PVC, pvc, app.namespace))
        _delete_pods(drill, app)
        for pvc in app.fixture.pvcs:
            _wait_gone(drill, k8s.PVC, pvc, app.namespace)


@step("delete_app", disaster=True)
def delete_app(drill: Drill) -> None:
    """Delete every object of the app (as from the ArgoCD UI) and wait until all are gone."""
    drill.mark_disaster()
    kube = drill.kube()
    for app in drill.apps:
        objects = [m for m in app.fixture.manifests if m["kind"] != "Namespace"]
        for manifest in objects:
            name = manifest["metadata"]["name"]
            drill.stamp_disaster(kube.delete_answered(k8s.kind_of(manifest), name, app.namespace))
        _delete_pods(drill, app)
        for manifest in objects:
            _wait_gone(drill, k8s.kind_of(manifest), manifest["metadata"]["name"], app.namespace)


def _wait_gone(drill: Drill, kind: k8s.Kind, name: str, namespace: str | None) -> None:
    drill.kube().wait_for(
        kind,
        name,
        namespace,
        lambda obj: obj is None,
        timeout=drill.step_timeout,
        what=f"{kind.kind} {namespace + '/' if namespace else ''}{name} gone",
    )


@step("delete_namespace", disaster=True)
def delete_namespace(drill: Drill) -> None:
    """Delete the app's namespace and wait until it is gone."""
    drill.mark_disaster()
    kube = drill.kube()
    for app in drill.apps:
        drill.cluster.assert_may_delete_namespace(app.namespace, drill.created_namespaces)
        drill.stamp_disaster(kube.delete_answered(k8s.NAMESPACE, app.namespace))
        _wait_gone(drill, k8s.NAMESPACE, app.namespace, None)


@step("rebuild_cluster", disaster=True, alone=True)
def rebuild_cluster(drill: Drill) -> None:
    """Lose the cluster; build a new one with the same addons (the object store stays)."""
    drill.mark_disaster()
    drill.disaster_record_lost = True
    drill.cluster.rebuild()


@step("install_volsync", params=("version",), alone=True)
def install_volsync(drill: Drill, version: str = "default") -> None:
    """Install VolSync at a pinned version: ``default``, ``upgrade_from`` or a number."""
    chosen = drill.cluster.volsync_version_named(version)
    drill.cluster.install_volsync(chosen)


@step("upgrade_volsync", alone=True)
def upgrade_volsync(drill: Drill) -> None:
    """Upgrade VolSync to the default (newest) pinned version."""
    install_volsync(drill, "default")


@step("recreate_app")
def recreate_app(drill: Drill) -> None:
    """GitOps re-sync: apply the app's manifests as they are in git."""
    sync_apps(drill)


@step("wait_restored")
def wait_restored(drill: Drill) -> None:
    """Wait for every PVC Bound and the app pod Ready; the RTO clock stops here."""
    kube = drill.kube()
    bound = ready = 0.0
    for app in drill.apps:
        stamps: list[datetime | None] = []
        for pvc in app.fixture.pvcs:
            _wait_bound(kube, app, pvc, drill.remaining())
            bound = max(bound, time.monotonic())
            stamps.append(clock.bound_at(restored_volume(kube, app, pvc)))
        seen, pod = wait_app_ready(drill, app, timeout=drill.remaining())
        ready = max(ready, seen)
        stamps.append(clock.ready_at(pod))
        # The cluster's stamps: an app restored while the drill waited for another is not
        # counted late, as the time this process saw it would be.
        drill.app_restored[app.name] = clock.latest(stamps)
    drill.pvc_bound, drill.app_ready = bound, ready
    drill.restored_server = clock.latest(drill.app_restored.values())
    if drill.outage_started is not None and drill.fault_cleared is not None:
        after = time.time() - drill.fault_cleared
        drill.notes.append(f"restored {after:.1f}s after the object store came back")
    for app, pvc in drill.volumes():  # the clock has stopped: what follows is not RTO
        settle_destination(drill, app, pvc)


def settle_destination(drill: Drill, app: AppUnderTest, pvc: str) -> None:
    """Let a restore that the GitOps re-sync started finish, and say that it ran.

    Re-applying the RD from git sets ``trigger.manual`` back to its value there, which
    differs from the drill's last tag, so VolSync restores again while the populator may
    still read the previous latestImage (the prime PVC owns that snapshot, so VolSync keeps
    it). Nothing is torn down, and nothing judged, under that running mover.
    """
    kube = drill.kube()
    name = app.fixture.destination_for(pvc)["metadata"]["name"]
    destination = kube.find(k8s.REPLICATION_DESTINATION, name, app.namespace) or {}
    snapshots.remember_image(drill.images, destination)  # e.g. a rebuilt cluster's first
    tag = dig(destination, "spec", "trigger", "manual")
    if not tag or tag == dig(destination, "status", "lastManualSync"):
        return
    before = volsync.latest_image(destination)
    done = volsync.wait_manual_sync(
        kube, k8s.REPLICATION_DESTINATION, name, app.namespace, tag, timeout=drill.step_timeout
    )
    snapshots.remember_image(drill.images, done)
    drill.notes.append(
        f"GitOps re-sync set ReplicationDestination {name}'s trigger back to {tag!r}: VolSync "
        f"restored again after the PVC was populated from {before} (now "
        f"{volsync.latest_image(done)}); the drill waited for it, outside the RTO"
    )


@step("manual_restore_older", disaster=True, params=("previous",))
def manual_restore_older(drill: Drill, previous: int = 1) -> None:
    """The documented point-in-time procedure: scale to 0, delete the PVC, restore an older
    backup through the RD (``previous``), recreate, scale up."""
    drill.mark_disaster()
    kube = drill.kube()
    for app in drill.apps:
        deployment = app.fixture.deployment
        scaled = kube.patch(k8s.DEPLOYMENT, deployment, {"spec": {"replicas": 0}}, app.namespace)
        drill.stamp_disaster(scaled)
        _delete_pods(drill, app)
        for pvc in app.fixture.pvcs:
            drill.stamp_disaster(kube.delete_answered(k8s.PVC, pvc, app.namespace))
            _wait_gone(drill, k8s.PVC, pvc, app.namespace)
            rd = app.fixture.destination_for(pvc)["metadata"]["name"]
            kube.patch(
                k8s.REPLICATION_DESTINATION,
                rd,
                {"spec": {"restic": {"previous": previous}}},
                app.namespace,
            )
        restore_point(drill)
        # Recreate the PVC and scale up: git has replicas 1.
        sync_app(drill, app)

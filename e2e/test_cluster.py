"""The cluster the drills run on, checked before the first drill: a real kind cluster whose
every addon is Ready, at the pinned versions (opt-in with ``--cluster``)."""

from __future__ import annotations

import pytest

from restore_drill.addons import deployment_available, load_addons, statefulset_ready
from restore_drill.backend import Backend
from restore_drill.k8s import DEPLOYMENT, STATEFUL_SET, STORAGE_CLASS, VOLUME_SNAPSHOT_CLASS


@pytest.mark.drill
@pytest.mark.timeout(900)
def test_every_addon_is_ready_at_its_pin(drill_backend: Backend) -> None:
    cluster = drill_backend.cluster
    if cluster.backend != "kind":
        pytest.skip("the pins are what the kind backend installs")
    assert cluster.created_by_this_run
    kube = cluster.kube()
    sc = kube.get(STORAGE_CLASS, "csi-hostpath-sc")
    assert sc["metadata"]["annotations"]["storageclass.kubernetes.io/is-default-class"] == "true"
    vsc = kube.get(VOLUME_SNAPSHOT_CLASS, "csi-hostpath-snapclass")
    annotations = vsc["metadata"]["annotations"]
    assert annotations["snapshot.storage.kubernetes.io/is-default-class"] == "true"
    versions = cluster.versions()
    built = getattr(cluster, "offline", False)
    pinned = load_addons()
    wanted = pinned.kubernetes_version if built else pinned.section("kubernetes")["node_image_tag"]
    assert versions["kubernetes-server"].startswith(wanted)
    assert deployment_available(kube.get(DEPLOYMENT, "snapshot-controller", "kube-system"))
    assert deployment_available(kube.get(DEPLOYMENT, "volsync", "volsync-system"))
    csi_namespace = "kube-system" if built else "default"
    assert statefulset_ready(kube.get(STATEFUL_SET, "csi-hostpathplugin", csi_namespace))

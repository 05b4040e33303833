"""The sim's controllers: what kube-controller-manager, the CSI sidecars, the snapshot-controller,
the kubelet and VolSync do on a real cluster, each as a small list+watch loop (see ``base``).

``CONTROLLERS`` lists the controller classes a sim cluster runs; add a new controller by
appending its class here (each takes a :class:`SimContext`). ``SimCluster`` starts
``all_controllers(ctx)``.
"""

from __future__ import annotations

from restore_drill.clusters.sim.controllers.base import Controller, SimContext
from restore_drill.clusters.sim.controllers.pods import PodController
from restore_drill.clusters.sim.controllers.populator import VolumePopulatorController
from restore_drill.clusters.sim.controllers.protection import ProtectionController
from restore_drill.clusters.sim.controllers.replicationdestination import (
    ReplicationDestinationController,
)
from restore_drill.clusters.sim.controllers.replicationsource import ReplicationSourceController
from restore_drill.clusters.sim.controllers.snapshots import SnapshotController
from restore_drill.clusters.sim.controllers.storage import ProvisionerController
from restore_drill.clusters.sim.controllers.workloads import DeploymentController, JobController

CONTROLLERS: list[type[Controller]] = [
    # storage (sim-storage)
    ProvisionerController,
    ProtectionController,
    SnapshotController,
    DeploymentController,
    JobController,
    PodController,
    # VolSync (sim-volsync)
    ReplicationSourceController,
    ReplicationDestinationController,
    VolumePopulatorController,
]


def all_controllers(ctx: SimContext) -> list[Controller]:
    """One instance of every sim controller, not started yet."""
    return [controller(ctx) for controller in CONTROLLERS]


__all__ = ["CONTROLLERS", "Controller", "SimContext", "all_controllers"]

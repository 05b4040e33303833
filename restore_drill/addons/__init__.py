"""The addons a real cluster needs, at the versions pinned in ``clusters/addons.yaml``.

``pins`` reads that one file and renders the objects the harness applies itself
(StorageClass ``csi-hostpath-sc``, default VolumeSnapshotClass ``csi-hostpath-snapclass``);
``commands`` turns it into exact command lines (kubectl, helm, git, the csi-driver-host-path
deploy script) run as argv lists, never through a shell; ``install`` runs them in order,
each followed by a watch-driven readiness wait.
"""

from __future__ import annotations

from restore_drill.addons.commands import (
    FIELD_MANAGER,
    csi_hostpath_clone_argv,
    csi_hostpath_deploy_argv,
    data_source_validator_argv,
    helm_env,
    helm_repo_argv,
    helm_volsync_argv,
    kubectl,
    recording,
    run_command,
    snapshotter_argv,
    with_controller_args,
)
from restore_drill.addons.install import (
    AddonInstaller,
    Readiness,
    crd_established,
    csi_hostpath_readiness,
    data_source_validator_readiness,
    deployment_available,
    snapshotter_readiness,
    statefulset_ready,
    volsync_readiness,
)
from restore_drill.addons.pins import (
    ADDONS_FILE,
    DEFAULT_CLASS_ANNOTATION,
    DEFAULT_SNAPSHOT_CLASS_ANNOTATION,
    KIND_CONFIG_FILE,
    REPO_ROOT,
    Addons,
    demote_default_class_patch,
    load_addons,
    snapshot_class_manifest,
    storage_class_manifest,
)

__all__ = [
    "ADDONS_FILE",
    "DEFAULT_CLASS_ANNOTATION",
    "DEFAULT_SNAPSHOT_CLASS_ANNOTATION",
    "FIELD_MANAGER",
    "KIND_CONFIG_FILE",
    "REPO_ROOT",
    "AddonInstaller",
    "Addons",
    "Readiness",
    "crd_established",
    "csi_hostpath_clone_argv",
    "csi_hostpath_deploy_argv",
    "csi_hostpath_readiness",
    "data_source_validator_argv",
    "data_source_validator_readiness",
    "demote_default_class_patch",
    "deployment_available",
    "helm_env",
    "helm_repo_argv",
    "helm_volsync_argv",
    "kubectl",
    "load_addons",
    "recording",
    "run_command",
    "snapshot_class_manifest",
    "snapshotter_argv",
    "snapshotter_readiness",
    "statefulset_ready",
    "storage_class_manifest",
    "volsync_readiness",
    "with_controller_args",
]

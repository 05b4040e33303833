"""Every rule ``restore-drill lint`` knows: id, severity, title and fix hint.

docs/lint.md explains each one.
"""

from __future__ import annotations

from restore_drill.lint.findings import Finding, Rule

_RULES = (
    # Input the linter could not read as Kubernetes objects.
    Rule("RD900", "error", "YAML syntax error", "Fix the YAML syntax; the file was skipped."),
    Rule("RD901", "error", "file too large", "Split the file or raise the size limit."),
    Rule("RD902", "error", "binary file with a YAML name", "Remove it or rename it."),
    Rule("RD903", "error", "file is not valid UTF-8", "Re-encode the file as UTF-8."),
    Rule(
        "RD904",
        "error",
        "YAML aliases expand past the limit (YAML bomb)",
        "Remove the nested anchors/aliases; no manifest needs them.",
    ),
    Rule(
        "RD905",
        "error",
        "symlink loop, or symlink out of the repository",
        "Remove the symlink (or vendor what it points to).",
    ),
    Rule(
        "RD906",
        "warning",
        "kustomization not rendered; its files were read as they are",
        "Vendor remote bases and Helm charts or check them separately; the lint saw raw files.",
    ),
    Rule(
        "RD907",
        "warning",
        "Flux variable has no value",
        "Add the variable to spec.postBuild.substitute (or substituteFrom) or give it a default.",
    ),
    Rule(
        "RD908",
        "error",
        "unknown kind or version in the VolSync or snapshot API",
        "Use volsync.backube/v1alpha1 ReplicationSource/ReplicationDestination and "
        "snapshot.storage.k8s.io/v1 snapshot kinds.",
    ),
    # The restore chain: PVC -> ReplicationDestination, ReplicationSource -> PVC.
    Rule(
        "RD001",
        "error",
        "dataSourceRef names a ReplicationDestination that does not exist",
        "Create the ReplicationDestination in the PVC's namespace or fix the name.",
    ),
    Rule(
        "RD002",
        "error",
        "restore reference has the wrong apiGroup, kind or field",
        "Use spec.dataSourceRef {apiGroup: volsync.backube, kind: ReplicationDestination}.",
    ),
    Rule(
        "RD003",
        "error",
        "ReplicationSource backs up a PVC that is not deployed",
        "Point spec.sourcePVC at a PVC rendered in the same namespace.",
    ),
    Rule(
        "RD004",
        "error",
        "ReplicationDestination capacity differs from the PVC it restores",
        "Set spec.restic.capacity to the PVC's storage request.",
    ),
    Rule(
        "RD005",
        "error",
        "ReplicationDestination accessModes differ from the PVC",
        "Set spec.restic.accessModes to the PVC's accessModes.",
    ),
    Rule(
        "RD006",
        "error",
        "ReplicationDestination storage class differs from the PVC",
        "Set spec.restic.storageClassName to the PVC's storage class.",
    ),
    # Coverage: what is backed up, what is mounted.
    Rule(
        "RD010",
        "warning",
        "PVC on a backed-up storage class has no ReplicationSource",
        "Add a ReplicationSource (and a restore path), or label the PVC as not backed up.",
    ),
    Rule(
        "RD011",
        "info",
        "likely cache PVC is not backed up",
        "Nothing to do if it is a cache; otherwise add a ReplicationSource.",
    ),
    Rule(
        "RD012",
        "warning",
        "backed-up PVC is not mounted by any workload",
        "Mount it in the app's workload or drop the ReplicationSource.",
    ),
    Rule(
        "RD014",
        "info",
        "backed-up PVC may be mounted by a chart's workload the lint cannot see",
        "Name the claim in the chart's values (existingClaim / claimName), or vendor the chart.",
    ),
    Rule(
        "RD013",
        "warning",
        "workload volume claim template on a backed-up class is not backed up",
        "Add a ReplicationSource for each claim (<template>-<statefulset>-<ordinal>).",
    ),
    # Snapshots.
    Rule(
        "RD020",
        "error",
        "copyMethod Snapshot has no VolumeSnapshotClass for the CSI driver",
        "Add a VolumeSnapshotClass for the driver (default or named in volumeSnapshotClassName).",
    ),
    Rule(
        "RD021",
        "error",
        "Longhorn VolumeSnapshotClass makes backups, not snapshots",
        "Set parameters.type: snap on the Longhorn VolumeSnapshotClass VolSync uses.",
    ),
    Rule(
        "RD022",
        "warning",
        "default-class annotation is misspelled, so the class is not the default",
        'Use exactly snapshot.storage.kubernetes.io/is-default-class: "true".',
    ),
    # Triggers.
    Rule(
        "RD030",
        "error",
        "scheduled restore starts too soon after its backup",
        "Schedule the ReplicationDestination later, or restore once (trigger.manual).",
    ),
    Rule(
        "RD031",
        "warning",
        "no trigger: syncs continuously, back to back",
        "Add spec.trigger.schedule or spec.trigger.manual.",
    ),
    Rule(
        "RD032",
        "info",
        "ReplicationDestinations keep full-size destination PVCs",
        "Restore once: trigger.manual with cleanupTempPVC: true keeps no PVC between restores.",
    ),
    # Tier policy.
    Rule(
        "RD040",
        "warning",
        "schedule is less frequent than the app's tier",
        "Use the tier's schedule from the policy.",
    ),
    Rule(
        "RD041",
        "warning",
        "retention is below the app's tier",
        "Set spec.restic.retain to at least the tier's retention.",
    ),
    # Repository.
    Rule(
        "RD050",
        "error",
        "repository Secret not found",
        "Add the Secret (or an ExternalSecret whose target is that name) in the namespace.",
    ),
    Rule(
        "RD051",
        "error",
        "repository Secret lacks RESTIC_REPOSITORY or RESTIC_PASSWORD",
        "Add the missing key to the Secret.",
    ),
    Rule(
        "RD052",
        "error",
        "s3: repository without AWS credentials",
        "Add AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY to the Secret.",
    ),
    Rule(
        "RD053",
        "error",
        "two ReplicationSources write the same repository path",
        "Give each source its own path (<bucket>/<app>).",
    ),
    # GitOps.
    Rule(
        "RD060",
        "error",
        "ArgoCD would fight the populator over immutable PVC fields",
        "ignoreDifferences for PersistentVolumeClaim: /spec/dataSourceRef, /spec/dataSource, "
        "/spec/volumeName.",
    ),
    Rule(
        "RD061",
        "error",
        "ArgoCD ignores PVC fields for diffing but not for sync",
        "Add RespectIgnoreDifferences=true to syncPolicy.syncOptions.",
    ),
    Rule(
        "RD062",
        "warning",
        "Flux may re-apply a populated PVC",
        "Annotate the PVC kustomize.toolkit.fluxcd.io/ssa: IfNotPresent.",
    ),
    # Permissions.
    Rule(
        "RD070",
        "error",
        "workload runs as non-root but the movers get no matching permissions",
        "Set spec.restic.moverSecurityContext to the app's user, or annotate the namespace "
        'volsync.backube/privileged-movers: "true".',
    ),
)

RULES: dict[str, Rule] = {rule.id: rule for rule in _RULES}


def finding(rule_id: str, message: str, *, file: str, **where: str | int) -> Finding:
    """A Finding for ``rule_id`` with its catalogue severity and hint."""
    rule = RULES[rule_id]
    return Finding(
        rule=rule.id,
        severity=rule.severity,
        message=message,
        file=file,
        hint=rule.hint,
        kind=str(where.get("kind", "")),
        namespace=str(where.get("namespace", "")),
        name=str(where.get("name", "")),
        app=str(where.get("app", "")),
        line=int(where.get("line", 0)),
    )

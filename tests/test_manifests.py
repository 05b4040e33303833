"""The manifests the harness renders, validated against Kubernetes schemas where they exist."""

from __future__ import annotations

from typing import Any

import jsonschema
import kubernetes_validate
import pytest

from restore_drill.addons import (
    demote_default_class_patch,
    load_addons,
    snapshot_class_manifest,
    storage_class_manifest,
)
from restore_drill.clusters.kind import render_kind_config

KUBERNETES = "1.33"

# No published schema exists for these (CRDs / kind's own config type): the shapes below
# carry the fields and enums of snapshot.storage.k8s.io/v1 VolumeSnapshotClass and of
# kind.x-k8s.io/v1alpha4 Cluster that the harness uses.
VOLUME_SNAPSHOT_CLASS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "driver", "deletionPolicy"],
    "additionalProperties": False,
    "properties": {
        "apiVersion": {"const": "snapshot.storage.k8s.io/v1"},
        "kind": {"const": "VolumeSnapshotClass"},
        "metadata": {"type": "object", "required": ["name"]},
        "driver": {"type": "string", "minLength": 1},
        "deletionPolicy": {"enum": ["Delete", "Retain"]},
        "parameters": {"type": "object", "additionalProperties": {"type": "string"}},
    },
}
KIND_CLUSTER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["kind", "apiVersion", "nodes"],
    "additionalProperties": False,
    "properties": {
        "kind": {"const": "Cluster"},
        "apiVersion": {"const": "kind.x-k8s.io/v1alpha4"},
        "name": {"type": "string", "pattern": "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"},
        "featureGates": {"type": "object", "additionalProperties": {"type": "boolean"}},
        "networking": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "apiServerAddress": {"type": "string"},
                "apiServerPort": {"type": "integer"},
                "ipFamily": {"enum": ["ipv4", "ipv6", "dual"]},
            },
        },
        "nodes": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["role"],
                "additionalProperties": False,
                "properties": {
                    "role": {"enum": ["control-plane", "worker"]},
                    "image": {"type": "string"},
                    "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                    "extraMounts": {"type": "array"},
                    "kubeadmConfigPatches": {"type": "array", "items": {"type": "string"}},
                },
            },
        },
    },
}


def test_storage_class_validates_strictly() -> None:
    kubernetes_validate.validate(storage_class_manifest(load_addons()), KUBERNETES, strict=True)


def test_kubernetes_validate_rejects_a_broken_storage_class() -> None:
    broken = {**storage_class_manifest(load_addons()), "allowVolumeExpansion": "yes"}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES, strict=True)


def test_volume_snapshot_class_has_no_builtin_schema_so_ours_applies() -> None:
    vsc = snapshot_class_manifest(load_addons())
    with pytest.raises(kubernetes_validate.SchemaNotFoundError):
        kubernetes_validate.validate(vsc, KUBERNETES, strict=True)
    jsonschema.validate(vsc, VOLUME_SNAPSHOT_CLASS_SCHEMA)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**vsc, "deletionPolicy": "Keep"}, VOLUME_SNAPSHOT_CLASS_SCHEMA)


def test_kind_config_matches_the_cluster_shape() -> None:
    config = render_kind_config(load_addons(), "restore-drill-kind")
    jsonschema.validate(config, KIND_CLUSTER_SCHEMA)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**config, "nodes": [{"role": "boss"}]}, KIND_CLUSTER_SCHEMA)


def test_demote_patch_is_a_valid_metadata_change() -> None:
    sc = storage_class_manifest(load_addons())
    patched = {**sc, "metadata": {**sc["metadata"], **demote_default_class_patch()["metadata"]}}
    kubernetes_validate.validate(patched, KUBERNETES, strict=True)
    assert (
        patched["metadata"]["annotations"]["storageclass.kubernetes.io/is-default-class"] == "false"
    )

"""Rules over objects of any shape: wrong types everywhere never crash a check."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from restore_drill.kinds import dig
from restore_drill.lint.model import Deployed, Model, text
from restore_drill.lint.policy import default_policy
from restore_drill.lint.rules import run_checks

KINDS = [
    "PersistentVolumeClaim",
    "ReplicationSource",
    "ReplicationDestination",
    "Deployment",
    "StatefulSet",
    "Secret",
    "ExternalSecret",
    "StorageClass",
    "VolumeSnapshotClass",
    "Namespace",
    "ConfigMap",
]
KEYS = [
    "spec",
    "metadata",
    "restic",
    "trigger",
    "schedule",
    "sourcePVC",
    "dataSourceRef",
    "kind",
    "name",
    "namespace",
    "capacity",
    "accessModes",
    "storageClassName",
    "copyMethod",
    "repository",
    "retain",
    "template",
    "volumes",
    "persistentVolumeClaim",
    "claimName",
    "securityContext",
    "runAsUser",
    "stringData",
    "data",
    "annotations",
    "provisioner",
    "driver",
    "parameters",
    "volumeClaimTemplates",
    "replicas",
]
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 5),
    st.sampled_from(
        [
            "Snapshot",
            "0 * * * *",
            "not cron",
            "1Gi",
            "x",
            "ReplicationDestination",
            "volsync.backube",
            "longhorn",
            "ReadWriteOnce",
            "s3:x",
        ]
    ),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(KEYS), inner, max_size=4)
    ),
    max_leaves=12,
)


@st.composite
def objects(draw: st.DrawFn) -> dict[str, Any]:
    body = draw(st.dictionaries(st.sampled_from(KEYS), values, max_size=4))
    body["kind"] = draw(st.sampled_from(KINDS))
    body["apiVersion"] = draw(st.sampled_from(["v1", "volsync.backube/v1alpha1", 3]))
    return body


@settings(max_examples=60, deadline=None)
@given(st.lists(objects(), max_size=6))
def test_checks_survive_any_shape(bodies: list[dict[str, Any]]) -> None:
    model = Model([Deployed(body, "f.yaml", "app") for body in bodies])
    for finding in run_checks(model, default_policy()):
        assert finding.rule.startswith("RD") and finding.message


def test_accessors_answer_absent_for_wrong_types() -> None:
    obj = Deployed({"kind": "PersistentVolumeClaim", "metadata": ["x"], "spec": "oops"}, "f", "a")
    assert (obj.name, obj.namespace, obj.spec, obj.labels) == ("", "", {}, {})
    assert dig({"a": [1]}, "a", "b") is None
    assert (text(None), text(True), text(3), text([1])) == ("", "true", "3", "")

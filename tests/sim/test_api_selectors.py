"""Label and field selectors of the sim API server."""

from __future__ import annotations

import pytest

from restore_drill.clusters.sim.api.selectors import field_matcher, label_matcher
from restore_drill.clusters.sim.api.status import ApiError


def labelled(**labels: str) -> dict[str, object]:
    return {"metadata": {"name": "x", "labels": labels}}


@pytest.mark.parametrize(
    ("selector", "matches"),
    [
        ("app=web", True),
        ("app==web", True),
        ("app=db", False),
        ("app!=db", True),
        ("missing!=x", True),
        ("app in (web, db)", True),
        ("app notin (web)", False),
        ("missing notin (a)", True),
        ("tier", True),
        ("!tier", False),
        ("!missing", True),
        ("app=web,tier in (front,back)", True),
        ("app=web,tier=back", False),
        ("", True),
    ],
)
def test_label_selectors(selector: str, matches: bool) -> None:
    assert label_matcher(selector)(labelled(app="web", tier="front")) is matches


def test_bad_label_selector_is_400() -> None:
    with pytest.raises(ApiError) as caught:
        label_matcher("app in web)")
    assert caught.value.code == 400


def test_field_selectors_per_kind() -> None:
    pod = {
        "metadata": {"name": "p", "namespace": "n"},
        "status": {"phase": "Running"},
        "spec": {"nodeName": "sim"},
    }
    assert field_matcher("status.phase=Running,spec.nodeName=sim", "Pod")(pod)
    assert not field_matcher("status.phase!=Running", "Pod")(pod)
    assert field_matcher("metadata.namespace==n", "Pod")(pod)
    event = {
        "metadata": {"name": "e"},
        "involvedObject": {"kind": "Pod", "name": "p"},
        "source": {"component": "sim"},
    }
    assert field_matcher("involvedObject.kind=Pod,source=sim", "Event")(event)
    with pytest.raises(ApiError, match=r"field label not supported: status\.phase"):
        field_matcher("status.phase=Bound", "PersistentVolumeClaim")

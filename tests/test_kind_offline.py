"""restore_drill.clusters.kind_offline: the offline cluster's config and pod network."""

from __future__ import annotations

import ipaddress
import json

import pytest
import yaml

from restore_drill.addons import KIND_CONFIG_FILE, load_addons
from restore_drill.clusters import kind_offline
from restore_drill.clusters.kind import render_kind_config
from restore_drill.errors import ImageMissing, UsageError


def test_overlay_disables_kindnetd_and_keeps_the_base_config() -> None:
    base = render_kind_config(load_addons(), "drill-a")
    merged = kind_offline.merge_config(
        base, kind_offline.load_config_overlay(kind_offline.KIND_OFFLINE_OVERLAY)
    )
    assert merged["networking"]["disableDefaultCNI"] is True
    assert merged["networking"]["apiServerAddress"] == "127.0.0.1"
    assert merged["name"] == "drill-a"
    patch = yaml.safe_load(merged["kubeadmConfigPatches"][0])
    assert patch == {
        "kind": "KubeletConfiguration",
        "cgroupDriver": "cgroupfs",
        "failCgroupV1": False,
    }
    assert (
        yaml.safe_load(KIND_CONFIG_FILE.read_text())["networking"].get("disableDefaultCNI") is None
    ), "users' clusters keep kindnetd"


def test_merge_appends_lists_and_merges_mappings() -> None:
    merged = kind_offline.merge_config({"a": {"x": 1}, "l": [1]}, {"a": {"y": 2}, "l": [2]})
    assert merged == {"a": {"x": 1, "y": 2}, "l": [1, 2]}


def test_cni_conflist_uses_the_nodes_pod_cidr() -> None:
    cidr = str(ipaddress.ip_network("fd00:1::/64"))  # any CIDR: it is passed through
    config = json.loads(kind_offline.cni_conflist(cidr))
    bridge = config["plugins"][0]
    assert bridge["type"] == "bridge"
    assert bridge["ipam"]["ranges"] == [[{"subnet": cidr}]]
    assert [p["type"] for p in config["plugins"]] == ["bridge", "portmap"]


def test_node_ready_reads_the_ready_condition() -> None:
    ready = {"status": {"conditions": [{"type": "Ready", "status": "True"}]}}
    not_ready = {"status": {"conditions": [{"type": "Ready", "status": "False"}]}}
    assert kind_offline.node_ready(ready)
    assert not kind_offline.node_ready(not_ready)
    assert not kind_offline.node_ready(None)
    assert kind_offline.has_pod_cidr({"spec": {"podCIDR": "x"}})
    assert not kind_offline.has_pod_cidr({"spec": {}})


def test_image_source_choice(monkeypatch: pytest.MonkeyPatch) -> None:
    addons = load_addons()
    monkeypatch.setattr(kind_offline, "docker_label", lambda image, label: None)
    assert kind_offline.choose_images(addons, "auto") == "pulled"
    assert kind_offline.choose_images(addons, "pulled") == "pulled"
    with pytest.raises(ImageMissing, match="images build"):
        kind_offline.choose_images(addons, "built")
    monkeypatch.setattr(kind_offline, "docker_label", lambda image, label: "key")
    assert kind_offline.choose_images(addons, "auto") == "built"
    with pytest.raises(UsageError, match="unknown image source"):
        kind_offline.choose_images(addons, "nope")

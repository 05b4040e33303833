"""Every Go module the offline image set is built from is pinned once, in
clusters/addons.yaml: each wrapper module under images/ must require exactly that version."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from restore_drill.addons import load_addons
from restore_drill.images.pins import IMAGES_DIR, Offline

OFFLINE = Offline(load_addons())


def required_version(go_mod: Path, module: str) -> str | None:
    pattern = re.compile(rf"^\s*(?:require\s+)?{re.escape(module)}\s+(\S+)", re.MULTILINE)
    found = pattern.search(go_mod.read_text(encoding="utf-8"))
    return found.group(1) if found else None


@pytest.mark.parametrize("name", sorted(OFFLINE.spec["modules"]))
def test_wrapper_module_requires_the_pinned_version(name: str) -> None:
    module = OFFLINE.module(name)
    if not module.dir:
        pytest.skip(f"{name} supplies files only (read from the module cache)")
    go_mod = module.path / "go.mod"
    assert required_version(go_mod, module.module) == module.version, go_mod


@pytest.mark.parametrize("volsync", OFFLINE.volsync_versions)
def test_volsync_and_its_restic_are_pinned(volsync: str) -> None:
    go_mod = IMAGES_DIR / f"volsync-{volsync}" / "go.mod"
    assert required_version(go_mod, "github.com/backube/volsync") == f"v{volsync}"
    restic = OFFLINE.restic_version(volsync)
    restic_mod = IMAGES_DIR / f"restic-{restic.lstrip('v')}" / "go.mod"
    assert required_version(restic_mod, "github.com/restic/restic") == restic


def test_kubernetes_wrapper_matches_the_cluster_version() -> None:
    assert OFFLINE.module("kubernetes").version == load_addons().kubernetes_version


def test_a_changed_pin_is_caught(tmp_path: Path) -> None:
    go_mod = tmp_path / "go.mod"
    go_mod.write_text("module x\n\nrequire k8s.io/kubernetes v1.33.2\n")
    assert required_version(go_mod, "k8s.io/kubernetes") != OFFLINE.module("kubernetes").version

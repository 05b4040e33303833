"""The offline CSI hostpath driver (images/csi-hostpath) passes csi-sanity.

Both binaries are built as ``restore-drill images build`` builds them (cached per
version); the driver runs on this host on a unix socket in a temp directory, without
kubelet registration, and csi-sanity from kubernetes-csi/csi-test checks it. Every spec
for a capability the driver claims must pass; the others are skipped by csi-sanity itself.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from restore_drill.addons import load_addons
from restore_drill.images.pins import Offline
from restore_drill.images.recipes import go_builds
from restore_drill.images.steps import run_steps

BUILD_TIMEOUT = 1500  # a cold build on two busy cores takes minutes
SANITY_TIMEOUT = 300
SOCKET_WAIT = 30

pytestmark = [
    pytest.mark.timeout(BUILD_TIMEOUT + SANITY_TIMEOUT + 120),
    pytest.mark.skipif(
        shutil.which("go") is None, reason="needs go to build the driver and csi-sanity"
    ),
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root: the driver bind-mounts and chowns"),
]


@pytest.fixture(scope="module")
def binaries() -> tuple[Path, Path]:
    """The driver and csi-sanity as ``restore-drill images build`` makes them (cached)."""
    builds = go_builds(Offline(load_addons()))
    driver, sanity = builds["csi-hostpath"], builds["csi-sanity"]
    run_steps([driver, sanity], say=lambda line: None)
    return driver.out_dir / "csi-hostpath", sanity.out_dir / "csi-sanity"


def _tail(path: Path, lines: int = 40) -> str:
    if not path.exists():
        return ""
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def _junit_counts(report: Path) -> dict[str, int]:
    counts = {"passed": 0, "failed": 0, "skipped": 0}
    for case in ET.parse(report).getroot().iter("testcase"):
        if case.find("failure") is not None or case.find("error") is not None:
            counts["failed"] += 1
        elif case.find("skipped") is not None:
            counts["skipped"] += 1
        else:
            counts["passed"] += 1
    return counts


def test_driver_passes_csi_sanity(binaries: tuple[Path, Path], tmp_path: Path) -> None:
    driver_bin, sanity_bin = binaries
    socket = tmp_path / "csi.sock"
    data = tmp_path / "data"
    data.mkdir()
    driver_log, sanity_log = tmp_path / "driver.log", tmp_path / "sanity.log"
    report = tmp_path / "junit.xml"

    with driver_log.open("wb") as log:
        driver = subprocess.Popen(
            [
                str(driver_bin),
                f"--endpoint=unix://{socket}",
                "--nodeid=sanity-node",
                f"--datadir={data}",
                "--registration-dir=",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + SOCKET_WAIT
        while not socket.exists():
            assert driver.poll() is None, f"driver exited:\n{_tail(driver_log)}"
            assert time.monotonic() < deadline, (
                f"no socket in {SOCKET_WAIT} s:\n{_tail(driver_log)}"
            )
            time.sleep(0.1)

        with sanity_log.open("wb") as out:
            sanity = subprocess.run(
                [
                    str(sanity_bin),
                    f"-csi.endpoint=unix://{socket}",
                    "-csi.testvolumeaccesstype=mount",
                    # csi-sanity creates and removes these itself: they must not exist yet.
                    f"-csi.mountdir={tmp_path / 'target'}",
                    f"-csi.stagingdir={tmp_path / 'staging'}",
                    f"-ginkgo.junit-report={report}",
                    "-ginkgo.no-color",
                    f"-ginkgo.timeout={SANITY_TIMEOUT}s",
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
                timeout=SANITY_TIMEOUT + 30,
                check=False,
            )
    finally:
        driver.send_signal(signal.SIGTERM)
        try:
            driver_exit = driver.wait(timeout=40)
        except subprocess.TimeoutExpired:
            driver.kill()
            driver_exit = driver.wait()

    failure = f"csi-sanity output:\n{_tail(sanity_log)}\n\ndriver log:\n{_tail(driver_log, 20)}"
    assert report.exists(), failure
    counts = _junit_counts(report)
    assert sanity.returncode == 0, f"{counts}\n{failure}"
    assert counts["failed"] == 0, f"{counts}\n{failure}"
    assert counts["passed"] > 0, f"{counts}\n{failure}"

    # The driver logged each RPC on one line, and shut down cleanly on SIGTERM.
    log_text = driver_log.read_text(errors="replace")
    assert re.search(r"method=CreateSnapshot .*result=OK", log_text), _tail(driver_log)
    assert driver_exit == 0, _tail(driver_log)
    assert not socket.exists(), "the driver left its socket behind"

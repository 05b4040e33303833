"""The offline CSI hostpath driver (images/csi-hostpath) passes csi-sanity.

Both binaries are built from their Go modules (reused from the cache while newer than
their sources); the driver runs on this host on a unix socket in a temp directory, without
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

ROOT = Path(__file__).resolve().parents[2]
DRIVER_MODULE = ROOT / "images" / "csi-hostpath"
SANITY_MODULE = ROOT / "images" / "csi-sanity"
SANITY_PACKAGE = "github.com/kubernetes-csi/csi-test/v5/cmd/csi-sanity"
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


def _go_cache() -> Path:
    explicit = os.environ.get("RESTORE_DRILL_CACHE")
    if explicit:
        return Path(explicit) / "go"
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "restore-drill" / "go"


def _sanity_version() -> str:
    go_mod = (SANITY_MODULE / "go.mod").read_text()
    found = re.search(r"github\.com/kubernetes-csi/csi-test/v5 (v\S+)", go_mod)
    assert found, "images/csi-sanity/go.mod does not require csi-test/v5"
    return found.group(1)


def _newest_source(module: Path) -> float:
    files = [p for p in module.rglob("*") if p.suffix == ".go" or p.name in ("go.mod", "go.sum")]
    return max(p.stat().st_mtime for p in files)


def _build(module: Path, package: str, out: Path) -> Path:
    """``go build`` unless ``out`` is newer than every source of the module."""
    if out.exists() and out.stat().st_mtime > _newest_source(module):
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f".{out.name}.{os.getpid()}")
    done = subprocess.run(
        ["go", "build", "-trimpath", "-ldflags", "-s -w", "-o", str(partial), package],
        cwd=module,
        env={**os.environ, "CGO_ENABLED": "0"},
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, f"go build in {module} failed:\n{done.stderr[-3000:]}"
    partial.replace(out)  # atomic, for a concurrent run reading the old one
    return out


@pytest.fixture(scope="module")
def binaries() -> tuple[Path, Path]:
    cache = _go_cache()
    driver = _build(DRIVER_MODULE, ".", cache / "csi-hostpath" / "csi-hostpath")
    sanity = _build(
        SANITY_MODULE, SANITY_PACKAGE, cache / f"csi-sanity-{_sanity_version()}" / "csi-sanity"
    )
    return driver, sanity


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

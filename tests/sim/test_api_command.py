"""``restore-drill sim serve``: a foreground API server that Ctrl-C stops."""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from restore_drill.commands import sim
from restore_drill.errors import UsageError
from restore_drill.k8s import NAMESPACE, Kube

SERVE = (
    "import argparse, sys\n"
    "from restore_drill.commands import sim\n"
    "parser = argparse.ArgumentParser()\n"
    "sim.add_arguments(parser)\n"
    "sys.exit(sim.run(parser.parse_args(sys.argv[1:])))\n"
)


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    sim.add_arguments(parser)
    return parser.parse_args(argv)


def test_serve_prints_the_url_writes_a_kubeconfig_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    process = subprocess.Popen(
        [sys.executable, "-c", SERVE, "serve", "--kubeconfig", str(kubeconfig), "--api-only"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        assert first.startswith("sim API server listening on http://127.0.0.1:")
        kube = Kube(kubeconfig)
        assert "default" in {n["metadata"]["name"] for n in kube.list(NAMESPACE)}
        kube.close()
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err
    assert "stopping" in out


def test_serve_refuses_the_users_kubeconfig() -> None:
    with pytest.raises(UsageError, match="refusing"):
        sim.run(parse("serve", "--kubeconfig", str(Path.home() / ".kube" / "config")))


def test_serve_needs_a_kubeconfig_path() -> None:
    with pytest.raises(SystemExit):
        parse("serve")

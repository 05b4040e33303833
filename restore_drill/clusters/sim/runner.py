"""The process side of the sim's kubelet: containers run as local processes.

Each container's ``command + args`` runs as a child process in its own session (so the whole
process group can be signalled), through :mod:`restore_drill.clusters.sim.launch` where mount
namespaces are available (root on Linux), else with mountPaths rewritten to host paths.
Images are never pulled. ``python3`` resolves to the host python running the sim
(``sys.executable``): a ``python3`` link to it is put first on the container's PATH.
stdout and stderr go to run_dir/pods/<namespace>/<pod>/<container>.log, which the API
server's ``pods/log`` serves through :func:`read_log`.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from restore_drill.clusters.sim.launch import namespaces_available, rewrite

GRACE_CAP = 3.0  # seconds: terminationGracePeriodSeconds is honoured up to this


@dataclass
class Mount:
    host: str
    target: str
    read_only: bool = False


@dataclass
class ContainerSpec:
    name: str
    argv: list[str]
    env: dict[str, str]
    workdir: str = "/"
    mounts: list[Mount] = field(default_factory=list)


@dataclass
class Running:
    process: subprocess.Popen[bytes]
    exit_code: int | None = None
    started_at: str = ""
    done: threading.Event = field(default_factory=threading.Event)


def read_log(pods_dir: Path, namespace: str, pod: str, container: str) -> str:
    """The captured output of a container (empty when it never ran)."""
    path = pods_dir / namespace / pod / f"{container}.log"
    try:
        return path.read_text(errors="replace")
    except FileNotFoundError:
        return ""


class PodRunner:
    """Runs, probes and stops the processes of the sim's pods."""

    def __init__(self, pods_dir: Path) -> None:
        self.pods_dir = pods_dir
        self._lock = threading.Lock()
        self._running: dict[tuple[str, str, str], Running] = {}
        self.isolated = namespaces_available()
        self._bin = pods_dir / ".bin"

    def pod_dir(self, namespace: str, pod: str) -> Path:
        return self.pods_dir / namespace / pod

    def _argv(self, namespace: str, pod: str, spec: ContainerSpec, argv: list[str]) -> list[str]:
        if not self.isolated:
            table = {m.target: m.host for m in spec.mounts}
            return [rewrite(a, table) for a in argv]
        launcher = [
            sys.executable,
            "-m",
            "restore_drill.clusters.sim.launch",
            "--root",
            str(self.pod_dir(namespace, pod) / f"root-{spec.name}"),
            "--workdir",
            spec.workdir,
        ]
        for mount in spec.mounts:
            launcher += ["--bind", f"{mount.host}:{mount.target}{':ro' if mount.read_only else ''}"]
        return [*launcher, "--", *argv]

    def _env(self, spec: ContainerSpec) -> dict[str, str]:
        self._bin.mkdir(parents=True, exist_ok=True)
        link = self._bin / "python3"
        if not link.is_symlink():
            link.symlink_to(sys.executable)
        env = {
            "PATH": f"{self._bin}:{os.environ.get('PATH', '/usr/bin:/bin')}",
            "HOME": "/root",
            "HOSTNAME": "sim-node",
            **spec.env,
        }
        if not self.isolated:
            table = {m.target: m.host for m in spec.mounts}
            env = {k: rewrite(v, table) for k, v in env.items()}
        return env

    def _cwd(self, spec: ContainerSpec) -> str | None:
        if self.isolated:
            return None
        return rewrite(spec.workdir, {m.target: m.host for m in spec.mounts}) or None

    def start(
        self,
        namespace: str,
        pod: str,
        spec: ContainerSpec,
        started_at: str,
        on_exit: Callable[[], None],
    ) -> None:
        """Start a container's process; ``on_exit`` is called (from a thread) when it ends."""
        directory = self.pod_dir(namespace, pod)
        directory.mkdir(parents=True, exist_ok=True)
        with (directory / f"{spec.name}.log").open("ab") as log:
            try:
                process = subprocess.Popen(
                    self._argv(namespace, pod, spec, spec.argv),
                    env=self._env(spec),
                    cwd=self._cwd(spec),
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    start_new_session=True,
                )
            except OSError as error:  # the command does not exist: exit code 127, as a shell
                log.write(f"{error}\n".encode())
                process = subprocess.Popen(
                    [sys.executable, "-c", "raise SystemExit(127)"], start_new_session=True
                )
        running = Running(process, started_at=started_at)
        with self._lock:
            self._running[(namespace, pod, spec.name)] = running

        def wait() -> None:
            code = process.wait()
            running.exit_code = code if code >= 0 else 128 - code  # killed: 128 + signal
            running.done.set()
            on_exit()

        threading.Thread(target=wait, name=f"wait-{pod}-{spec.name}", daemon=True).start()

    def state(self, namespace: str, pod: str, container: str) -> Running | None:
        with self._lock:
            return self._running.get((namespace, pod, container))

    def probe(
        self, namespace: str, pod: str, spec: ContainerSpec, command: list[str], timeout: float = 5
    ) -> bool:
        """Run an exec probe with the container's mounts; True when it exits 0."""
        try:
            result = subprocess.run(
                self._argv(namespace, pod, spec, command),
                env=self._env(spec),
                cwd=self._cwd(spec),
                capture_output=True,
                timeout=timeout,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired):
            return False
        return result.returncode == 0

    def stop(self, namespace: str, pod: str, grace: float = GRACE_CAP) -> None:
        """SIGTERM the pod's processes, SIGKILL what still runs after ``grace`` (capped)."""
        with self._lock:
            keys = [k for k in self._running if k[:2] == (namespace, pod)]
            targets = [self._running.pop(k) for k in keys]
        for running in targets:
            _signal(running, signal.SIGTERM)
        for running in targets:
            if not running.done.wait(min(grace, GRACE_CAP)):
                _signal(running, signal.SIGKILL)
                running.done.wait(2)

    def stop_all(self) -> None:
        with self._lock:
            pods = {k[:2] for k in self._running}
        for namespace, pod in pods:
            self.stop(namespace, pod, grace=1)


def _signal(running: Running, sig: signal.Signals) -> None:
    if running.done.is_set():
        return
    try:
        os.killpg(running.process.pid, sig)
    except ProcessLookupError:
        pass

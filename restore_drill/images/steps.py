"""One build step at a time, cached and logged: ``go build`` of a wrapper module,
``debootstrap`` into a Docker base image, ``docker build`` of an image.

Each step knows its inputs' fingerprint; a step whose fingerprint matches what was built
before is skipped. Output goes to a log file per step under the cache directory; a failure
raises :class:`ImageBuildFailed` with the log's last lines.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from restore_drill.errors import ImageBuildFailed
from restore_drill.images.cache import cache_dir, fingerprint

KEY_LABEL = "restore-drill.key"
HOW_LABEL = "restore-drill.built-from"
HEARTBEAT_SECONDS = 30.0

Say = Callable[[str], None]


def log_dir() -> Path:
    path = cache_dir() / "logs"
    path.mkdir(parents=True, exist_ok=True)
    return path


def run_logged(
    argv: Sequence[str | Path],
    log: Path,
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = 3600,
    stdin: bytes | None = None,
) -> None:
    """Run ``argv`` (no shell) appending its output to ``log``; raise with the log's tail."""
    words = [str(a) for a in argv]
    with log.open("ab") as out:
        out.write(f"\n$ {' '.join(words)}\n".encode())
        out.flush()
        try:
            done = subprocess.run(
                words,
                cwd=cwd,
                env={**os.environ, **(env or {})},
                input=stdin,
                stdout=out,
                stderr=subprocess.STDOUT,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise ImageBuildFailed(
                f"{Path(words[0]).name} ran past {timeout:.0f}s (log: {log})"
            ) from None
        except FileNotFoundError:
            raise ImageBuildFailed(
                f"{words[0]} is not installed (needed to build images)"
            ) from None
    if done.returncode != 0:
        tail = log.read_text(errors="replace").splitlines()[-15:]
        raise ImageBuildFailed(
            f"{Path(words[0]).name} exited {done.returncode} (log: {log}):\n" + "\n".join(tail)
        )


def docker_label(image: str, label: str) -> str | None:
    """The image's label value, '' when unlabelled, None when the image is absent (or
    there is no docker CLI to ask)."""
    if shutil.which("docker") is None:
        return None
    done = subprocess.run(
        [
            "docker",
            "image",
            "inspect",
            "--format",
            f'{{{{index .Config.Labels "{label}"}}}}',
            image,
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    if done.returncode != 0:
        return None
    value = done.stdout.strip()
    return "" if value == "<no value>" else value


class Heartbeat:
    """Says every ``HEARTBEAT_SECONDS`` that a long step is still running."""

    def __init__(self, say: Say, what: str) -> None:
        self.say, self.what = say, what
        self.started = time.monotonic()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, daemon=True)

    def _beat(self) -> None:
        while not self._stop.wait(HEARTBEAT_SECONDS):
            self.say(f"    ... {self.what}: {time.monotonic() - self.started:.0f}s")

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started


@dataclass
class Step:
    """One cached build step: ``key`` fingerprints its inputs; ``build`` makes the output."""

    name: str
    version: str
    how: str  # one line for `images list`: what it is built from

    def key(self) -> str:
        raise NotImplementedError

    def is_current(self) -> bool:
        raise NotImplementedError

    def build(self, log: Path) -> None:
        raise NotImplementedError

    @property
    def log(self) -> Path:
        return log_dir() / f"{self.name}-{self.version}.log"


@dataclass
class GoBinaries(Step):
    """``go build`` of ``packages`` in the wrapper module ``module_dir`` (images/<name>/)."""

    module_dir: Path = Path()
    packages: Sequence[str] = ()
    ldflags: str = "-s -w"
    tags: str = ""
    cgo: bool = False
    env: Mapping[str, str] = field(default_factory=dict)
    outputs: Sequence[str] = ()  # binary names expected in out_dir
    install: Sequence[str] = ()  # outputs also copied to <cache>/bin (kind, kubectl, helm)

    @property
    def out_dir(self) -> Path:
        return cache_dir() / "go" / f"{self.name}-{self.version}"

    def key(self) -> str:
        return fingerprint(
            self.module_dir,
            self.ldflags,
            self.tags,
            str(self.cgo),
            repr(sorted(self.env.items())),
            repr(list(self.packages)),
            go_version(),
        )

    def _stamp(self) -> Path:
        return self.out_dir / ".key"

    def is_current(self) -> bool:
        stamp = self._stamp()
        return (
            stamp.is_file()
            and stamp.read_text() == self.key()
            and all((self.out_dir / name).is_file() for name in self.outputs)
            and all(_same_file(self.out_dir / n, cache_dir() / "bin" / n) for n in self.install)
        )

    def build(self, log: Path) -> None:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        env = {"CGO_ENABLED": "1" if self.cgo else "0", **self.env}
        # One package: name the binary; several: go names each after its directory.
        single = len(self.packages) == 1 and len(self.outputs) == 1
        out = self.out_dir / self.outputs[0] if single else f"{self.out_dir}/"
        argv = ["go", "build", "-trimpath", "-tags", self.tags, "-ldflags", self.ldflags, "-o", out]
        run_logged([*argv, *self.packages], log, cwd=self.module_dir, env=env)
        missing = [name for name in self.outputs if not (self.out_dir / name).is_file()]
        if missing:
            raise ImageBuildFailed(f"go build of {self.name} made no {', '.join(missing)}")
        bin_dir = cache_dir() / "bin"
        bin_dir.mkdir(parents=True, exist_ok=True)
        for name in self.install:
            shutil.copy2(self.out_dir / name, bin_dir / name)
        self._stamp().write_text(self.key())


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.stat().st_size == b.stat().st_size and a.read_bytes() == b.read_bytes()
    except OSError:
        return False


@dataclass
class PauseBinary(Step):
    """Kubernetes' pause, from ``build/pause/linux/pause.c`` in the kubernetes module."""

    source: Path = Path()

    @property
    def binary(self) -> Path:
        return cache_dir() / "go" / f"pause-{self.version}" / "pause"

    def key(self) -> str:
        return fingerprint(self.source, self.version)

    def is_current(self) -> bool:
        stamp = self.binary.with_suffix(".key")
        return self.binary.is_file() and stamp.is_file() and stamp.read_text() == self.key()

    def build(self, log: Path) -> None:
        self.binary.parent.mkdir(parents=True, exist_ok=True)
        run_logged(
            [
                "gcc",
                "-Os",
                "-Wall",
                "-Werror",
                "-static",
                f"-DVERSION=v{self.version}",
                "-o",
                self.binary,
                self.source,
            ],
            log,
        )
        run_logged(["strip", self.binary], log)
        self.binary.with_suffix(".key").write_text(self.key())


_GO_VERSION: list[str] = []


def go_version() -> str:
    if not _GO_VERSION:
        done = subprocess.run(
            ["go", "env", "GOVERSION"], capture_output=True, text=True, check=False
        )
        _GO_VERSION.append(done.stdout.strip() or "go-missing")
    return _GO_VERSION[0]


@dataclass
class DebianImage(Step):
    """A Docker image made by ``debootstrap --variant=minbase`` with ``packages``."""

    image: str = ""
    suite: str = "bookworm"
    packages: Sequence[str] = ()
    mirror: str = "http://deb.debian.org/debian"
    excludes: Sequence[str] = ()  # paths left out of the image (caches, docs)

    def key(self) -> str:
        return fingerprint(
            self.suite, self.mirror, ",".join(sorted(self.packages)), ",".join(self.excludes)
        )

    def is_current(self) -> bool:
        return docker_label(self.image, KEY_LABEL) == self.key()

    def build(self, log: Path) -> None:
        with tempfile.TemporaryDirectory(prefix="rootfs-", dir=cache_dir()) as tmp:
            root = Path(tmp) / "root"
            run_logged(
                [
                    "debootstrap",
                    "--variant=minbase",
                    f"--include={','.join(self.packages)}",
                    self.suite,
                    root,
                    self.mirror,
                ],
                log,
                timeout=1800,
            )
            tarball = Path(tmp) / "root.tar"
            excludes = [f"--exclude={pattern}" for pattern in self.excludes]
            run_logged(["tar", "-C", root, *excludes, "-cf", tarball, "."], log)
            path = "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
            argv = ["docker", "import", *change_flags(self, path)]
            run_logged([*argv, tarball, self.image], log)


def change_flags(step: Step, *changes: str) -> list[str]:
    """``--change`` flags for ``docker import``/``commit``, with the step's key and origin
    labels that ``is_current`` and ``images list`` read."""
    labels = (f"LABEL {KEY_LABEL}={step.key()}", f'LABEL {HOW_LABEL}="{step.how}"')
    return [flag for change in (*changes, *labels) for flag in ("--change", change)]


@dataclass
class DockerImage(Step):
    """``docker build`` of ``dockerfile_dir``/Dockerfile in a staged context.

    ``stage`` maps a path inside the context to the file or directory copied there.
    ``tags`` are every name the image carries (the first is its name in listings).
    """

    tags: Sequence[str] = ()
    dockerfile_dir: Path = Path()
    stage: Mapping[str, Path] = field(default_factory=dict)
    build_args: Mapping[str, str] = field(default_factory=dict)
    inputs: Sequence[str] = ()  # extra strings that change the image (e.g. a base's key)

    def key(self) -> str:
        staged = [self.stage[k] for k in sorted(self.stage)]
        return fingerprint(
            self.dockerfile_dir, staged, repr(sorted(self.build_args.items())), *self.inputs
        )

    def is_current(self) -> bool:
        key = self.key()
        return all(docker_label(tag, KEY_LABEL) == key for tag in self.tags)

    def build(self, log: Path) -> None:
        with tempfile.TemporaryDirectory(prefix="context-", dir=cache_dir()) as tmp:
            context = Path(tmp)
            for inner, source in self.stage.items():
                target = context / inner
                target.parent.mkdir(parents=True, exist_ok=True)
                if source.is_dir():
                    shutil.copytree(source, target, symlinks=True)
                else:
                    shutil.copy2(source, target)
                    if inner.startswith("bin/"):  # here, not in the Dockerfile: one layer
                        target.chmod(0o755)
            argv: list[str | Path] = [
                "docker",
                "build",
                "--pull=false",
                "-f",
                self.dockerfile_dir / "Dockerfile",
            ]
            for tag in self.tags:
                argv += ["-t", tag]
            for name, value in {**self.build_args}.items():
                argv += ["--build-arg", f"{name}={value}"]
            argv += ["--label", f"{KEY_LABEL}={self.key()}", "--label", f"{HOW_LABEL}={self.how}"]
            run_logged([*argv, context], log, env={"DOCKER_BUILDKIT": "0"})


def run_steps(steps: Sequence[Step], say: Say, *, force: bool = False) -> list[tuple[Step, str]]:
    """Build every step that is not current, in order; return (step, outcome) pairs."""
    outcomes: list[tuple[Step, str]] = []
    total = len(steps)
    for number, step in enumerate(steps, start=1):
        label = f"[{number}/{total}] {step.name} {step.version}"
        if not force and step.is_current():
            say(f"images: {label}: cached")
            outcomes.append((step, "cached"))
            continue
        say(f"images: {label}: building ({step.how}; log {step.log})")
        step.log.write_text("")
        with Heartbeat(say, f"{step.name} {step.version}") as beat:
            step.build(step.log)
        say(f"images: {label}: built in {beat.elapsed:.0f}s")
        outcomes.append((step, f"built in {beat.elapsed:.0f}s"))
    return outcomes

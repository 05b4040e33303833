"""Running external tools, and the exact command lines that install each pinned addon."""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from restore_drill.addons.pins import Addons
from restore_drill.errors import BackendUnavailable, CommandFailed, UsageError
from restore_drill.images.tools import TOOLS, tool
from restore_drill.kinds import dig

log = logging.getLogger(__name__)

FIELD_MANAGER = "restore-drill"


# --- running tools ------------------------------------------------------------------------

# ``run --dry-run`` records each command here instead of running it; the recorder answers
# with the output the caller reads (restore_drill.dryrun).
Recorder = Callable[[list[str], Mapping[str, str], "Path | None", "str | None"], str]
_RECORDER: ContextVar[Recorder | None] = ContextVar("restore_drill_recorder", default=None)


@contextmanager
def recording(recorder: Recorder) -> Iterator[None]:
    """Within this block ``run_command`` runs nothing: it hands each command to ``recorder``."""
    token = _RECORDER.set(recorder)
    try:
        yield
    finally:
        _RECORDER.reset(token)


def recording_active() -> bool:
    """Whether commands are being recorded (``run --dry-run``), not run."""
    return _RECORDER.get() is not None


def run_command(
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = 600,
    secrets: Iterable[str] = (),
    stdin: str | None = None,
    log_path: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``argv`` (no shell) with ``os.environ`` plus ``env``; raise :class:`CommandFailed`.

    ``secrets`` are scrubbed from anything this function logs, writes or raises, in case a
    tool echoes them back. ``log_path`` keeps the whole output (also of a command that
    failed or ran out of time), and errors name it.
    """
    argv = [str(arg) for arg in argv]
    recorder = _RECORDER.get()
    if recorder is not None:
        stdout = recorder(argv, env or {}, cwd, stdin)
        return subprocess.CompletedProcess(argv, 0, stdout=stdout, stderr="")
    if argv and argv[0] in TOOLS:
        argv[0] = tool(argv[0])  # the pinned build when `images build` made one
    hidden = [s for s in secrets if s]

    def scrub(text: str) -> str:
        for secret in hidden:
            text = text.replace(secret, "***")
        return text

    program = Path(argv[0]).name if Path(argv[0]).name in TOOLS else argv[0]
    if shutil.which(argv[0]) is None and not Path(argv[0]).is_file():
        raise BackendUnavailable(f"{program} is not installed (not on PATH)")
    log.info("running: %s", scrub(" ".join(argv)))
    see = f" (output: {log_path})" if log_path else ""

    def keep(stdout: str | bytes | None, stderr: str | bytes | None) -> None:
        if log_path is None:
            return
        parts = [
            p.decode(errors="replace") if isinstance(p, bytes) else p or ""
            for p in (stdout, stderr)
        ]
        log_path.parent.mkdir(parents=True, exist_ok=True)
        log_path.write_text(scrub(f"$ {' '.join(argv)}\n{parts[0]}\n--- stderr ---\n{parts[1]}"))

    try:
        done = _run_in_own_group(argv, {**os.environ, **(env or {})}, cwd, stdin, timeout)
    except subprocess.TimeoutExpired as exc:
        keep(exc.stdout, exc.stderr)
        raise CommandFailed(
            f"{Path(program).name} ran past its {timeout:.0f}s timeout: {scrub(' '.join(argv))}"
            + see,
            program=program,
            exit_code=None,
        ) from exc
    keep(done.stdout, done.stderr)
    if done.returncode != 0:
        tail = scrub((done.stderr or done.stdout or "").strip())[-1500:]
        raise CommandFailed(
            f"{Path(program).name} exited {done.returncode}: {scrub(' '.join(argv[1:]))}{see}"
            f"\n{tail}",
            program=program,
            exit_code=done.returncode,
        )
    return done


def _run_in_own_group(
    argv: list[str], env: dict[str, str], cwd: Path | None, stdin: str | None, timeout: float
) -> subprocess.CompletedProcess[str]:
    """Run a tool in a process group of its own, and end the whole group with it when it
    runs out of time or this process is stopped: what the tool started (kind's docker
    calls, a shell's children) must not outlive the run."""
    process = subprocess.Popen(
        argv,
        env=env,
        cwd=cwd,
        stdin=subprocess.PIPE if stdin is not None else None,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = process.communicate(stdin, timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(process)
        stdout, stderr = process.communicate()
        raise subprocess.TimeoutExpired(argv, timeout, stdout, stderr) from None
    except BaseException:  # a signal (KeyboardInterrupt, Terminated) or any error
        _kill_group(process)
        process.wait()
        raise
    return subprocess.CompletedProcess(argv, process.returncode, stdout, stderr)


def _kill_group(process: subprocess.Popen[str]) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:  # the group is gone already
        pass


# --- command lines ----------------------------------------------------------------------------


def kubectl(kubeconfig: Path, *args: str) -> list[str]:
    return ["kubectl", "--kubeconfig", str(kubeconfig), *args]


def _kustomize_url(repository: str, path: str, ref: str) -> str:
    return f"{repository.rstrip('/')}/{path}?ref={ref}"


def _raw_url(repository: str, ref: str, path: str) -> str:
    owner_repo = repository.rstrip("/").removeprefix("https://github.com/")
    return f"https://raw.githubusercontent.com/{owner_repo}/{ref}/{path}"


def snapshotter_argv(addons: Addons, kubeconfig: Path) -> list[list[str]]:
    """VolumeSnapshot CRDs applied, then the snapshot-controller rendered (its flags are
    set before it is applied), as kustomizations at the tag."""
    snap = addons.section("snapshotter")
    repo, tag = str(snap["repository"]), str(snap["version"])
    # Server-side apply: CRDs are too large for client-side apply's annotation.
    apply = ["apply", "--server-side", f"--field-manager={FIELD_MANAGER}", "--force-conflicts"]
    return [
        kubectl(kubeconfig, *apply, "-k", _kustomize_url(repo, str(snap["crds_path"]), tag)),
        kubectl(kubeconfig, "kustomize", _kustomize_url(repo, str(snap["controller_path"]), tag)),
    ]


def with_controller_args(objects: list[dict[str, Any]], addons: Addons) -> list[dict[str, Any]]:
    """The snapshot-controller's objects with ``controller_args`` from clusters/addons.yaml
    in its container's args: each replaces upstream's value of the same flag, if any."""
    snap = addons.section("snapshotter")
    wanted = [str(arg) for arg in snap.get("controller_args") or []]
    names = {arg.split("=", 1)[0] for arg in wanted}
    name = str(snap["controller_deployment"])
    found = False
    for obj in objects:
        if obj.get("kind") != "Deployment" or dig(obj, "metadata", "name") != name:
            continue
        for container in dig(obj, "spec", "template", "spec", "containers") or []:
            if container.get("name") == name:
                kept = [a for a in container.get("args") or [] if a.split("=", 1)[0] not in names]
                container["args"] = [*kept, *wanted]
                found = True
    if wanted and objects and not found:  # none: a dry run, which renders nothing
        raise UsageError(f"no container {name!r} in Deployment {name!r} to give {wanted}")
    return objects


def data_source_validator_argv(addons: Addons, kubeconfig: Path) -> list[list[str]]:
    dsv = addons.section("data_source_validator")
    if not dsv.get("enabled", False):
        return []
    repo, tag = str(dsv["repository"]), str(dsv["version"])
    apply = ["apply", "--server-side", f"--field-manager={FIELD_MANAGER}", "--force-conflicts"]
    return [
        kubectl(kubeconfig, *apply, "-f", _raw_url(repo, tag, str(m))) for m in dsv["manifests"]
    ]


def csi_hostpath_clone_argv(addons: Addons, checkout: Path) -> list[str]:
    hp = addons.section("csi_hostpath")
    return [
        "git",
        "clone",
        "--depth",
        "1",
        "--branch",
        str(hp["version"]),
        str(hp["repository"]),
        str(checkout),
    ]


def csi_hostpath_deploy_argv(addons: Addons, checkout: Path) -> list[str]:
    return [str(checkout / str(addons.section("csi_hostpath")["deploy_script"]))]


def helm_env(run_dir: Path, kubeconfig: Path) -> dict[str, str]:
    """Helm's repository list and cache inside the run directory, never the user's."""
    helm_home = run_dir / "helm"
    return {
        "KUBECONFIG": str(kubeconfig),
        "HELM_REPOSITORY_CONFIG": str(helm_home / "repositories.yaml"),
        "HELM_REPOSITORY_CACHE": str(helm_home / "cache"),
        "HELM_CONFIG_HOME": str(helm_home / "config"),
        "HELM_CACHE_HOME": str(helm_home / "cache-home"),
        "HELM_DATA_HOME": str(helm_home / "data"),
    }


def helm_repo_argv(addons: Addons) -> list[list[str]]:
    vs = addons.section("volsync")
    name, url = str(vs["chart_repository_name"]), str(vs["chart_repository_url"])
    return [["helm", "repo", "add", "--force-update", name, url], ["helm", "repo", "update", name]]


def helm_volsync_argv(
    addons: Addons,
    kubeconfig: Path,
    version: str,
    chart_dir: Path | None = None,
    values: Path | None = None,
) -> list[str]:
    """``helm upgrade --install`` of the VolSync chart at a pinned ``version``: from the
    chart repository, or from ``chart_dir`` (the release's own chart, offline)."""
    vs = addons.section("volsync")
    addons.check_volsync_version(version)
    chart = (
        [str(chart_dir), "--values", str(values)]
        if chart_dir and values
        else [f"{vs['chart_repository_name']}/{vs['chart']}", "--version", version]
    )
    return [
        "helm",
        "upgrade",
        "--install",
        str(vs["release"]),
        *chart,
        "--namespace",
        str(vs["namespace"]),
        "--create-namespace",
        # No --wait: helm polls every 2 s; the installer waits with a watch for the rollout
        # (install.deployment_available), and for the CRDs.
        "--timeout",
        "10m",
        "--kubeconfig",
        str(kubeconfig),
    ]

"""The kind node image, assembled as ``kind build node-image`` lays one out: the Debian
node root filesystem, kind's own node files (entrypoint, kubelet unit, from the kind
module the CLI is built from), the Kubernetes binaries, the CNI plugins, the runc wrapper,
and the control-plane images preloaded into the node's containerd."""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from restore_drill.errors import ImageBuildFailed
from restore_drill.images.cache import cache_dir, fingerprint
from restore_drill.images.modules import module_dir
from restore_drill.images.steps import (
    KEY_LABEL,
    DockerImage,
    Step,
    change_flags,
    docker_label,
    run_logged,
)

NODE_DIR = Path(__file__).resolve().parents[2] / "images" / "node"

# What kind's base image has and `docker run` of the build container replaced.
COMMIT_CHANGES = (
    'ENTRYPOINT [ "/usr/local/bin/entrypoint", "/sbin/init" ]',
    "CMD []",
    "ENV container=docker",
)  # STOPSIGNAL carries over from the Dockerfile (Docker 20.10 rejects it in a commit)
CONTAINERD_READY = (
    "for i in $(seq 100); do ctr version >/dev/null 2>&1 && exit 0; sleep 0.2; done; "
    "cat /tmp/containerd.log; exit 1"
)
CONTAINERD_STOP = (
    "pkill -x containerd; for i in $(seq 100); do pgrep -x containerd >/dev/null || exit 0; "
    "sleep 0.2; done; exit 1"
)


@dataclass
class NodeImage(Step):
    """``restore-drill/node:<kubernetes version>`` with ``preload`` in its containerd."""

    image: str = ""
    rootfs_image: str = ""
    kind_module: tuple[str, str] = ("", "")
    stage: Mapping[str, Path] = field(default_factory=dict)
    preload: Sequence[DockerImage] = ()
    inputs: Sequence[str] = ()
    pause_image: str = ""

    def key(self) -> str:
        staged = [self.stage[k] for k in sorted(self.stage)]
        preloaded = sorted(f"{tag}={image.key()}" for image in self.preload for tag in image.tags)
        return fingerprint(NODE_DIR, staged, *self.kind_module, *preloaded, *self.inputs)

    def is_current(self) -> bool:
        return docker_label(self.image, KEY_LABEL) == self.key()

    def build(self, log: Path) -> None:
        interim = f"{self.image}-build"
        with tempfile.TemporaryDirectory(prefix="node-", dir=cache_dir()) as tmp:
            context = Path(tmp)
            self._stage(context)
            run_logged(
                [
                    "docker",
                    "build",
                    "--pull=false",
                    "-f",
                    NODE_DIR / "Dockerfile",
                    "--build-arg",
                    f"BASE={self.rootfs_image}",
                    "--build-arg",
                    f"KUBE_VERSION={self.version}",
                    "--build-arg",
                    f"PAUSE_IMAGE={self.pause_image}",
                    "-t",
                    interim,
                    context,
                ],
                log,
                env={"DOCKER_BUILDKIT": "0"},
            )
        try:
            self._preload(interim, log)
        finally:
            subprocess.run(["docker", "rmi", "-f", interim], capture_output=True, check=False)

    def _stage(self, context: Path) -> None:
        import shutil

        kind_files = module_dir(*self.kind_module) / "images" / "base" / "files"
        shutil.copytree(kind_files, context / "kind")
        shutil.copytree(NODE_DIR / "files", context / "files")
        for inner, source in self.stage.items():
            target = context / inner
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
        # Module cache files are read-only; a chmod in the Dockerfile would copy each
        # binary into a second layer, so modes are set here.
        for path in context.rglob("*"):
            path.chmod(path.stat().st_mode | 0o200)
        for path in (context / "bin").iterdir():
            path.chmod(0o755)

    def _preload(self, interim: str, log: Path) -> None:
        """Import the images into the node's containerd, as kind's node-image build does."""
        container = f"restore-drill-node-build-{self.key()}"
        subprocess.run(["docker", "rm", "-f", container], capture_output=True, check=False)
        # No /var volume here: the content store must land in the image's own layer.
        run_logged(
            [
                "docker",
                "run",
                "-d",
                "--pull",
                "never",
                "--privileged",
                "--name",
                container,
                "--entrypoint",
                "sleep",
                interim,
                "infinity",
            ],
            log,
        )
        try:
            run_logged(
                [
                    "docker",
                    "exec",
                    "-d",
                    container,
                    "sh",
                    "-c",
                    "containerd >/tmp/containerd.log 2>&1",
                ],
                log,
            )
            run_logged(["docker", "exec", container, "sh", "-c", CONTAINERD_READY], log)
            refs = [tag for image in self.preload for tag in image.tags]
            self._import(container, refs, log)
            run_logged(["docker", "exec", container, "sh", "-c", CONTAINERD_STOP], log)
            run_logged(
                [
                    "docker",
                    "exec",
                    container,
                    "rm",
                    "-rf",
                    "/tmp/containerd.log",
                    "/run/containerd",
                ],
                log,
            )
            argv = ["docker", "commit", *change_flags(self, *COMMIT_CHANGES)]
            run_logged([*argv, container, self.image], log)
        finally:
            subprocess.run(["docker", "rm", "-f", container], capture_output=True, check=False)

    @staticmethod
    def _import(container: str, refs: list[str], log: Path) -> None:
        # --no-unpack: nested overlayfs cannot unpack here; the CRI plugin unpacks on first
        # use, onto the node's /var volume. (--compress-blobs took 15x longer and kept both.)
        importer = [
            "docker",
            "exec",
            "-i",
            container,
            "ctr",
            "--namespace=k8s.io",
            "images",
            "import",
            "--all-platforms",
            "--no-unpack",
            "-",
        ]
        with log.open("ab") as out:
            out.write(f"\n$ docker save {' '.join(refs)} | {' '.join(importer)}\n".encode())
            out.flush()
            save = subprocess.Popen(["docker", "save", *refs], stdout=subprocess.PIPE)
            done = subprocess.run(importer, stdin=save.stdout, stdout=out, stderr=out, check=False)
            if save.stdout is not None:
                save.stdout.close()
            saved = save.wait()
        if saved != 0 or done.returncode != 0:
            raise ImageBuildFailed(
                f"preloading {len(refs)} images into the node failed (log: {log})"
            )

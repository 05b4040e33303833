"""What each image of the offline set is made of, from the pins in ``clusters/addons.yaml``.

The build order is the list order: Debian bases, then Go binaries, then images (a node
image last, with the control-plane images preloaded). Every image of an upstream
component carries the upstream name and tag, so upstream manifests and charts run as
they are; stand-ins (our CSI driver, MinIO from a pseudo-version, the agent) carry
``restore-drill/`` names.
"""

from __future__ import annotations

from pathlib import Path

from restore_drill.images.modules import module_dir
from restore_drill.images.pins import IMAGES_DIR, K8S_COMPONENTS, Offline, volsync_image
from restore_drill.images.steps import DebianImage, DockerImage, GoBinaries, PauseBinary, Step

BASE_PACKAGES = (
    "ca-certificates",
    "iptables",
    "nftables",
    "conntrack",
    "ipset",
    "python3",
    "tar",
    "util-linux",
    "mount",
    "bash",
    "procps",
    "attr",
    "acl",
    "kmod",
)
NODE_PACKAGES = (
    "systemd",
    "systemd-sysv",
    "dbus",
    "containerd",
    "runc",
    "iptables",
    "nftables",
    "conntrack",
    "ethtool",
    "socat",
    "iproute2",
    "kmod",
    "libseccomp2",
    "ca-certificates",
    "procps",
    "util-linux",
    "mount",
    "bash",
    "pigz",
    "ebtables",
    "findutils",
    "gnupg",
    "rsync",
    "curl",
    "jq",
)
# Dead weight in a node image: apt caches, docs, translations.
NODE_EXCLUDES = (
    "./var/cache/apt/archives/*.deb",
    "./var/cache/apt/*.bin",
    "./var/lib/apt/lists/*",
    "./usr/share/doc/*",
    "./usr/share/man/*",
    "./usr/share/info/*",
    "./usr/share/locale/*",
)

K8S_BINARIES = ("kubelet", "kubeadm", "kubectl", *K8S_COMPONENTS)
CNI_PLUGINS = {
    "bridge": "plugins/main/bridge",
    "loopback": "plugins/main/loopback",
    "host-local": "plugins/ipam/host-local",
    "portmap": "plugins/meta/portmap",
    "ptp": "plugins/main/ptp",
}


def k8s_ldflags(version: str) -> str:
    """Kubernetes' version stamp: unstamped binaries say v0.0.0-master and kubeadm refuses."""
    minor = version.lstrip("v").split(".")[1]
    flags = ["-s", "-w"]
    for package in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version"):
        flags += [
            f"-X {package}.gitVersion={version}",
            f"-X {package}.gitMajor=1",
            f"-X {package}.gitMinor={minor}",
        ]
    base = "k8s.io/component-base/version"
    flags += [
        f"-X {base}.gitTreeState=clean",
        f"-X {base}.gitCommit={'0' * 40}",
        f"-X {base}.buildDate=1970-01-01T00:00:00Z",
    ]
    return " ".join(flags)


def _go(
    offline: Offline, name: str, packages: list[str], outputs: list[str], **kw: object
) -> GoBinaries:
    module = offline.module(name)
    return GoBinaries(
        name=module.dir,
        version=module.version,
        how=f"go build {module.module}@{module.version}",
        module_dir=module.path,
        packages=packages,
        outputs=outputs,
        **kw,  # type: ignore[arg-type]
    )


def bases(offline: Offline) -> list[Step]:
    how = f"debootstrap {offline.suite} minbase"
    return [
        DebianImage(
            name="debian-base",
            version=offline.suite,
            how=how,
            image=offline.base_image,
            suite=offline.suite,
            packages=BASE_PACKAGES,
            mirror=offline.mirror,
        ),
        DebianImage(
            name="node-rootfs",
            version=offline.suite,
            how=how,
            image=offline.node_rootfs_image,
            suite=offline.suite,
            packages=NODE_PACKAGES,
            mirror=offline.mirror,
            excludes=NODE_EXCLUDES,
        ),
    ]


def go_builds(offline: Offline) -> dict[str, GoBinaries]:
    k8s = offline.module("kubernetes")
    cni = offline.module("cni_plugins")
    snap = offline.module("external_snapshotter")
    prov = offline.module("external_provisioner")
    helm = offline.module("helm")
    builds = {
        "runc-wrapper": GoBinaries(
            name="runc-wrapper",
            version="local",
            how="go build images/runc-wrapper",
            module_dir=IMAGES_DIR / "runc-wrapper",
            packages=["."],
            outputs=["runc-wrapper"],
            install=("runc-wrapper",),
        ),
        "kubernetes": _go(
            offline,
            "kubernetes",
            [f"{k8s.module}/cmd/{b}" for b in K8S_BINARIES],
            list(K8S_BINARIES),
            ldflags=k8s_ldflags(k8s.version),
            install=("kubectl",),
        ),
        "kind": _go(offline, "kind", ["sigs.k8s.io/kind"], ["kind"], install=("kind",)),
        "actionlint": _go(
            offline,
            "actionlint",
            ["github.com/rhysd/actionlint/cmd/actionlint"],
            ["actionlint"],
            install=("actionlint",),
        ),
        "helm": _go(
            offline,
            "helm",
            ["helm.sh/helm/v3/cmd/helm"],
            ["helm"],
            ldflags=f"-s -w -X helm.sh/helm/v3/internal/version.version={helm.version}"
            " -X helm.sh/helm/v3/internal/version.gitTreeState=clean",
            install=("helm",),
        ),
        "etcd": _go(offline, "etcd", ["."], ["etcd"]),
        "coredns": _go(offline, "coredns", ["github.com/coredns/coredns"], ["coredns"]),
        "cni": _go(
            offline,
            "cni_plugins",
            [f"{cni.module}/{p}" for p in CNI_PLUGINS.values()],
            list(CNI_PLUGINS),
            ldflags=f"-s -w -X {cni.module}/pkg/utils/buildversion.BuildVersion={cni.version}",
        ),
        "external-snapshotter": _go(
            offline,
            "external_snapshotter",
            [f"{snap.module}/cmd/snapshot-controller", f"{snap.module}/cmd/csi-snapshotter"],
            ["snapshot-controller", "csi-snapshotter"],
            ldflags=f"-s -w -X main.version={snap.version}",
        ),
        "external-provisioner": _go(
            offline,
            "external_provisioner",
            [f"{prov.module}/cmd/csi-provisioner"],
            ["csi-provisioner"],
            ldflags=f"-s -w -X main.version={prov.version}",
        ),
        "csi-hostpath": GoBinaries(
            name="csi-hostpath",
            version=str(offline.spec["csi_driver"]["version"]),
            how="go build images/csi-hostpath (ours)",
            module_dir=IMAGES_DIR / "csi-hostpath",
            packages=["."],
            outputs=["csi-hostpath"],
            ldflags=f"-s -w -X main.version={offline.spec['csi_driver']['version']}",
        ),
        "minio": _go(offline, "minio", ["github.com/minio/minio"], ["minio"]),
        # Not in an image: `make test` runs it against our CSI driver.
        "csi-sanity": _go(
            offline,
            "csi_test",
            ["github.com/kubernetes-csi/csi-test/v5/cmd/csi-sanity"],
            ["csi-sanity"],
        ),
        "kube-rbac-proxy": _go(
            offline,
            "kube_rbac_proxy",
            ["github.com/brancz/kube-rbac-proxy/cmd/kube-rbac-proxy"],
            ["kube-rbac-proxy"],
            ldflags="-s -w -X k8s.io/component-base/version.gitVersion="
            + offline.module("kube_rbac_proxy").version,
        ),
    }
    for version in offline.volsync_versions:
        restic = offline.restic_version(version)
        builds[f"volsync-{version}"] = GoBinaries(
            name="volsync",
            version=f"v{version}",
            how=f"go build github.com/backube/volsync@v{version}",
            module_dir=IMAGES_DIR / f"volsync-{version}",
            packages=[volsync_main(version)],
            outputs=["manager"],
            ldflags=f"-s -w -X=main.volsyncVersion=v{version}",
        )
        builds[f"restic-{restic}"] = GoBinaries(
            name="restic",
            version=restic,
            how=f"go build github.com/restic/restic@{restic}",
            module_dir=IMAGES_DIR / f"restic-{restic.lstrip('v')}",
            packages=["github.com/restic/restic/cmd/restic"],
            outputs=["restic"],
            ldflags=f"-s -w -X main.version={restic.lstrip('v')}",
            tags=str(offline.spec["volsync"][version].get("restic_tags", "")),
            env={"GONOSUMDB": "github.com/restic/restic"},
        )
    return builds


def volsync_main(version: str) -> str:
    """The manager's ``package main``: ``cmd/`` from 0.12 on, the module root before."""
    major, minor = (int(x) for x in version.split(".")[:2])
    return (
        "github.com/backube/volsync/cmd"
        if (major, minor) >= (0, 12)
        else "github.com/backube/volsync"
    )


def _image(  # noqa: PLR0917 (one call per image: positional reads as a table row)
    name: str,
    version: str,
    tags: list[str],
    dockerfile: str,
    stage: dict[str, Path],
    how: str,
    inputs: tuple[str, ...] = (),
    args: dict[str, str] | None = None,
) -> DockerImage:
    return DockerImage(
        name=name,
        version=version,
        how=how,
        tags=tags,
        dockerfile_dir=IMAGES_DIR / dockerfile,
        stage=stage,
        build_args=args or {},
        inputs=inputs,
    )


def pause_step(offline: Offline) -> PauseBinary:
    k8s = offline.module("kubernetes")
    source = module_dir(k8s.module, k8s.version) / "build" / "pause" / "linux" / "pause.c"
    return PauseBinary(
        name="pause",
        version=offline.pause,
        how=f"gcc -static pause.c from {k8s.module}@{k8s.version}",
        source=source,
    )


# Images holding one Go binary: (step name, build, Dockerfile dir under images/, on the
# Debian base?). The step name is also the binary's name and its key in the image tables.
ONE_BINARY_IMAGES = (
    ("etcd", "etcd", "etcd", False),
    ("coredns", "coredns", "coredns", False),
    (
        "snapshot-controller",
        "external-snapshotter",
        "external-snapshotter/snapshot-controller",
        False,
    ),
    ("csi-snapshotter", "external-snapshotter", "external-snapshotter/csi-snapshotter", False),
    ("csi-provisioner", "external-provisioner", "external-provisioner", False),
    ("csi-hostpath", "csi-hostpath", "csi-hostpath", True),
    ("kube-rbac-proxy", "kube-rbac-proxy", "kube-rbac-proxy", False),
    ("minio", "minio", "minio", True),
)


def images(
    offline: Offline, builds: dict[str, GoBinaries], pause: PauseBinary, base_key: str
) -> list[DockerImage]:
    """Every image but the node's, in build order."""
    k8s = builds["kubernetes"]
    base = (base_key,)
    names = {**offline.control_plane_images(), **offline.addon_images()}
    names["minio"] = offline.minio_image
    steps = [
        _image(
            c,
            k8s.version,
            [names[c]],
            "control-plane",
            {f"bin/{c}": k8s.out_dir / c},
            k8s.how,
            args={"COMPONENT": c},
        )
        for c in ("kube-apiserver", "kube-controller-manager", "kube-scheduler")
    ]
    steps.append(
        _image(
            "kube-proxy",
            k8s.version,
            [names["kube-proxy"]],
            "kube-proxy",
            {
                "bin/kube-proxy": k8s.out_dir / "kube-proxy",
                "bin/iptables-mode": IMAGES_DIR / "kube-proxy" / "iptables-mode",
            },
            k8s.how,
            base,
        )
    )
    steps.append(
        _image(
            "pause",
            offline.pause,
            [names["pause"]],
            "pause",
            {"bin/pause": pause.binary},
            pause.how,
        )
    )
    for name, build, dockerfile, on_base in ONE_BINARY_IMAGES:
        go = builds[build]
        steps.append(
            _image(
                name,
                go.version,
                [names[name]],
                dockerfile,
                {f"bin/{name}": go.out_dir / name},
                go.how,
                base if on_base else (),
            )
        )
    for version in offline.volsync_versions:
        manager = builds[f"volsync-{version}"]
        restic = builds[f"restic-{offline.restic_version(version)}"]
        scripts = module_dir("github.com/backube/volsync", f"v{version}") / "mover-restic"
        stage = {
            "bin/manager": manager.out_dir / "manager",
            "bin/restic": restic.out_dir / "restic",
            "mover-restic": scripts,
        }
        steps.append(
            _image(
                "volsync",
                f"v{version}",
                [volsync_image(version)],
                "volsync",
                stage,
                f"{manager.how} + {restic.how}",
                base,
                {"version_arg": f"v{version}"},
            )
        )
    steps.append(
        _image(
            "agent",
            offline.suite,
            [offline.agent_image],
            "agent",
            {},
            f"Debian {offline.suite} python3",
            base,
        )
    )
    return steps

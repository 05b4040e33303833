"""``restore-drill cluster up|down``: a kind cluster with every addon and the object store,
for a person to look at or to drill against; ``down`` removes only what ``up`` made."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from restore_drill.errors import RefusedDestructiveAction, UsageError

STATE_FILE = "cluster-up.json"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=("up", "down"))
    parser.add_argument("--name", default="restore-drill", help="kind cluster name")
    parser.add_argument(
        "--dir",
        type=Path,
        default=Path("runs") / "clusters",
        help="where each cluster's kubeconfig, S3 keys and state are kept",
    )
    parser.add_argument(
        "--kubeconfig",
        type=Path,
        default=None,
        help="also copy the cluster's kubeconfig here (never ~/.kube/config unless named)",
    )
    add_images_argument(parser)
    parser.add_argument("--volsync", default=None, help="VolSync version (default: the pin)")


def add_images_argument(parser: argparse.ArgumentParser) -> None:
    """``--images``, for every command that makes a kind cluster."""
    parser.add_argument(
        "--images",
        default="auto",
        choices=("auto", "built", "pulled"),
        help="built: the offline image set (restore-drill images build); pulled: registries;"
        " auto: built when it is here",
    )


def _up(args: argparse.Namespace, home: Path) -> int:
    from restore_drill.backend import start_backend
    from restore_drill.clusters.kind import validate_cluster_name
    from restore_drill.objectstore import MinioContainer

    validate_cluster_name(args.name)
    if (home / STATE_FILE).exists():
        raise UsageError(f"{home} already holds cluster {args.name}: 'cluster down' it first")
    options: dict[str, object] = {"name": args.name, "images": args.images}
    if args.volsync:
        options["volsync_version"] = args.volsync
    backend = start_backend("kind", home, **options)
    cluster, store = backend.cluster, backend.object_store
    if not isinstance(store, MinioContainer):  # the kind backend always starts MinIO
        raise UsageError(f"cluster up made a {store.kind} object store, not MinIO")
    state = {
        "name": cluster.name,
        "created_cluster": cluster.created_by_this_run,
        "minio_container": store.settings.name,
        "kubeconfig": str(cluster.kubeconfig),
    }
    (home / STATE_FILE).write_text(json.dumps(state, indent=2), encoding="utf-8")
    keys = home / "s3.env"
    keys.write_text(
        "".join(
            f"{k}={v}\n"
            for k, v in {
                "AWS_ACCESS_KEY_ID": store.credentials.access_key,
                "AWS_SECRET_ACCESS_KEY": store.credentials.secret_key,
                "AWS_DEFAULT_REGION": store.credentials.region,
            }.items()
        ),
        encoding="utf-8",
    )
    keys.chmod(0o600)
    if args.kubeconfig:
        args.kubeconfig.write_bytes(cluster.kubeconfig.read_bytes())
        args.kubeconfig.chmod(0o600)
    versions = cluster.versions()
    print(
        f"cluster {cluster.name} is up (Kubernetes {versions.get('kubernetes-server')}, "
        f"VolSync {versions.get('volsync')})"
    )
    print(f"  kubeconfig:  {args.kubeconfig or cluster.kubeconfig}")
    print(f"  S3 (here):   {store.host_endpoint}")
    print(f"  S3 (nodes):  {store.cluster_endpoint}")
    print(f"  S3 keys:     {keys} (mode 0600)")
    print(f"  down with:   restore-drill cluster down --name {cluster.name}")
    cluster.close_client()
    return 0


def _down(args: argparse.Namespace, home: Path) -> int:
    from restore_drill.addons import run_command
    from restore_drill.clusters.kind import kind_delete_argv
    from restore_drill.objectstore.minio import remove_container

    state_path = home / STATE_FILE
    if not state_path.exists():
        raise RefusedDestructiveAction(
            f"no {STATE_FILE} in {home}: cluster {args.name} was not made by 'cluster up' here"
        )
    state = json.loads(state_path.read_text(encoding="utf-8"))
    if state.get("created_cluster"):
        run_command(kind_delete_argv(state["name"], Path(state["kubeconfig"])), timeout=300)
    remove_container(state["minio_container"])
    for name in (STATE_FILE, "s3.env"):
        (home / name).unlink(missing_ok=True)
    print(f"cluster {state['name']} and MinIO {state['minio_container']} removed")
    return 0


def run(args: argparse.Namespace) -> int:
    home = args.dir / args.name
    home.mkdir(parents=True, exist_ok=True)
    os.chmod(home, 0o700)
    return _up(args, home) if args.action == "up" else _down(args, home)

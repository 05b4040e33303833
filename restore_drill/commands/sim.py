"""``restore-drill sim serve``: run the sim cluster (or only its API server) in the foreground."""

from __future__ import annotations

import argparse
import importlib
import threading
from pathlib import Path
from typing import Any

NAME = "sim"
HELP = "Run the local simulated cluster (no Docker needed) in the foreground."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="sim_action", metavar="ACTION", required=True)
    serve = actions.add_parser(
        "serve",
        help="serve the sim cluster until Ctrl-C",
        description="Serve the sim Kubernetes API (plain HTTP on 127.0.0.1, no auth) and write "
        "a kubeconfig for it. Everything is in memory: stopping it loses the cluster.",
    )
    serve.add_argument(
        "--kubeconfig",
        type=Path,
        required=True,
        help="where to write the kubeconfig (never ~/.kube/config)",
    )
    serve.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: random)")
    serve.add_argument(
        "--api-only",
        action="store_true",
        help="serve only the API server, without the sim controllers",
    )
    serve.add_argument(
        "--run-dir",
        type=Path,
        default=None,
        help="directory for volumes and logs of the full sim cluster",
    )


def _cluster_class() -> Any | None:
    """The full sim cluster (API server + controllers) when that module exists."""
    try:
        module = importlib.import_module("restore_drill.clusters.sim.cluster")
    except ModuleNotFoundError as exc:
        if exc.name == "restore_drill.clusters.sim.cluster":
            return None
        raise
    return getattr(module, "SimCluster", None)


def run(args: argparse.Namespace) -> int:
    if args.sim_action == "serve":
        return _serve(args)
    return 2


def _serve(args: argparse.Namespace) -> int:
    from restore_drill.clusters.sim.api import SimApiServer

    kubeconfig = Path(args.kubeconfig).expanduser().resolve()
    if kubeconfig == (Path.home() / ".kube" / "config").resolve():
        from restore_drill.errors import UsageError

        raise UsageError("refusing to write ~/.kube/config: give a kubeconfig path of its own")
    cluster_class = None if args.api_only else _cluster_class()
    if cluster_class is not None and hasattr(cluster_class, "serve"):
        # The full cluster knows how to serve itself (API server + controllers).
        return int(cluster_class.serve(kubeconfig=kubeconfig, port=args.port, run_dir=args.run_dir))
    server = SimApiServer(port=args.port).start()
    try:
        server.write_kubeconfig(kubeconfig)
        print(f"sim API server listening on {server.url}", flush=True)
        print(f"kubeconfig: {kubeconfig}", flush=True)
        if not args.api_only:
            print("(API server only: the sim controllers are not available here)", flush=True)
        print("press Ctrl-C to stop (the cluster is lost when it stops)", flush=True)
        threading.Event().wait()
    except KeyboardInterrupt:
        print("stopping", flush=True)
    finally:
        server.stop()
    return 0

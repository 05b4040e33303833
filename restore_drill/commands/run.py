"""``restore-drill run SCENARIO|all``: play drills on a backend and write their results.

Exit status: 0 when every drill passed, 1 when any failed, 2 on a usage error.
"""

from __future__ import annotations

import argparse
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait
from functools import partial
from pathlib import Path

from restore_drill import room
from restore_drill.backend import (
    KEEP_CHOICES,
    Backend,
    keep_cluster,
    on_own_backend,
    start_backend,
)
from restore_drill.clusters import CHOICES, choose_backend
from restore_drill.commands.clean import leftovers_notice
from restore_drill.commands.cluster import add_images_argument
from restore_drill.commands.progress import shown
from restore_drill.commands.side_by_side import Stoppable, first_crash, run_side_by_side
from restore_drill.errors import Terminated, UsageError
from restore_drill.progress import Sink
from restore_drill.report import (
    TABLE_HEADER,
    DrillResult,
    append_history,
    new_run_dir,
    remove_if_empty,
    table_rows,
    write_reports,
)
from restore_drill.runner import RunOptions, run_drill
from restore_drill.scenario import GROUPS, Scenario, find_scenario, load_group


def add_drill_arguments(parser: argparse.ArgumentParser, *, kept_when: str) -> None:
    """Where a drill runs and what it keeps: shared by ``run`` and ``selftest``."""
    parser.add_argument(
        "--cluster",
        default="auto",
        choices=CHOICES,
        help="where to drill: a new kind cluster, a cluster you name (existing), or auto (kind)",
    )
    parser.add_argument("--out", type=Path, default=Path("runs"), help="results directory")
    parser.add_argument(
        "--keep",
        default="on-failure",
        choices=KEEP_CHOICES,
        help=f"keep the cluster and its MinIO after the run (default: {kept_when})",
    )
    parser.add_argument("--size", default=None, help="dataset size per PVC, e.g. 4MiB")
    parser.add_argument("--kubeconfig", default=None, help="existing backend only")
    parser.add_argument("--context", default=None, help="existing backend only")
    parser.add_argument(
        "--allow-existing", action="store_true", help="opt in to --cluster existing"
    )
    parser.add_argument(
        "--agent-image",
        default=None,
        help="existing backend only: the image of the data agent and the stand-in apps, for "
        "a cluster that pulls from a mirror (default: the one pinned in clusters/addons.yaml)",
    )
    add_images_argument(parser)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "scenario", help="scenario name, or 'all' (the disasters) or 'faults' (the fault drills)"
    )
    add_drill_arguments(parser, kept_when="when a drill failed")
    parser.add_argument(
        "--jobs",
        type=_jobs,
        default=1,
        help="drills run side by side on the run's cluster, each in its own namespaces; on "
        "kind, those that rebuild the cluster, reinstall VolSync or stop the store run at the "
        "same time on a cluster and store of their own (default 1: one after another)",
    )
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="print every command and manifest a kind run would run, in order; run none",
    )


def _jobs(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of drills, 1 or more")
    return int(text)


def _scenarios(name: str, backend: str) -> list[Scenario]:
    if name not in GROUPS:
        scenario = find_scenario(name)
        if backend not in scenario.backends:
            raise UsageError(f"scenario {name} does not run on {backend} ({scenario.backends})")
        return [scenario]
    return [s for s in load_group(name) if backend in s.backends]


def _named(name: str) -> list[Scenario]:
    return load_group(name) if name in GROUPS else [find_scenario(name)]


def backend_options(args: argparse.Namespace, backend: str) -> dict[str, object]:
    if backend != "existing":
        if args.kubeconfig or args.context or args.allow_existing or args.agent_image:
            raise UsageError(
                "--kubeconfig/--context/--allow-existing/--agent-image go with --cluster existing"
            )
        # The nightly workflow's matrix picks the VolSync version this way (kind only).
        version = os.environ.get("RESTORE_DRILL_VOLSYNC_VERSION", "")
        return {"images": args.images, **({"volsync_version": version} if version else {})}
    if args.images != "auto":
        raise UsageError("--images goes with --cluster kind")
    if not (args.kubeconfig and args.allow_existing):
        raise UsageError("--cluster existing needs --kubeconfig and --allow-existing")
    return {
        "kubeconfig": args.kubeconfig,
        "context": args.context,
        "allow_existing": True,
        **({"agent_image": args.agent_image} if args.agent_image else {}),
    }


def _short_failure(result: DrillResult, lines: int = 6, width: int = 160) -> str:
    """The failure for the terminal: a few short lines (result.json has all of it)."""
    if not result.failure:
        return ""
    text = [line[:width] for line in str(result.failure).splitlines()[:lines]]
    return f" - {result.failure_type}: " + "\n    ".join(text)


def print_table(results: list[DrillResult]) -> None:
    rows = [TABLE_HEADER, *table_rows(results)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(TABLE_HEADER))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))


def _dry_run(args: argparse.Namespace) -> int:
    """The kind run's commands and manifests, printed; nothing is probed, made or run."""
    if args.cluster == "existing":
        raise UsageError("--dry-run lists what a kind run does: use it with --cluster kind")
    from restore_drill.addons import load_addons
    from restore_drill.clusters.kind_offline import choose_images
    from restore_drill.dryrun import dry_run

    options = backend_options(args, "kind")
    images = choose_images(load_addons(), str(options["images"]))
    listing = dry_run(
        _scenarios(args.scenario, "kind"),
        images=images,
        volsync_version=str(options.get("volsync_version") or "") or None,
        keep=args.keep,
    )
    print(listing, end="")
    return 0


def open_run(out: Path, prefix: str) -> Path:
    """Name what earlier runs left behind, then make this run's directory under ``out``."""
    notice = leftovers_notice(out)
    if notice:
        print(notice, flush=True)
    return new_run_dir(out, prefix)


def start_in(run_dir: Path, backend: str, options: dict[str, object]) -> Backend:
    """Start the run's backend in ``run_dir``; a run that cannot start leaves no directory."""
    try:
        return start_backend(backend, run_dir / "backend", **options)
    except BaseException:
        remove_if_empty(run_dir)
        raise


def start_run(
    backend: str, out: Path, prefix: str, options: dict[str, object]
) -> tuple[Backend, Path]:
    run_dir = open_run(out, prefix)
    return start_in(run_dir, backend, options), run_dir


def _on_run_cluster(
    started: Backend,
    run_dir: Path,
    args: argparse.Namespace,
    scenarios: list[Scenario],
    *,
    together: list[Scenario],
    stop: threading.Event,
) -> list[DrillResult]:
    """The drills on the run's own cluster: ``together`` side by side, then the rest."""
    results: list[DrillResult] = []
    interrupted = False
    live = False if args.jobs > 1 else None  # None: a status line when stdout is a TTY
    drill = partial(_drill, started=started, run_dir=run_dir, args=args, live=live)
    try:
        results += run_side_by_side(together, args.jobs, drill, stop=stop)
        results += [drill(s) for s in scenarios if s not in together]
    except KeyboardInterrupt:
        interrupted = True  # a stopped run leaves nothing behind unless told to keep it
        raise
    finally:
        failed = not results or any(not r.passed for r in results)
        keep = args.keep == "always" if interrupted else keep_cluster(args.keep, failed=failed)
        started.close(keep_cluster=keep)
    return results


_history = threading.Lock()  # drills side by side append to one history file


def _drill(
    scenario: Scenario,
    wrap: Callable[[Sink], Sink] | None = None,
    *,
    started: Backend,
    run_dir: Path,
    args: argparse.Namespace,
    live: bool | None,
) -> DrillResult:
    """One drill with its display (its events passed through ``wrap``), then its verdict."""
    with shown(scenario, args.size or scenario.size, live=live) as display:
        result = run_drill(
            scenario,
            started.cluster,
            started.object_store,
            RunOptions(
                out_dir=run_dir,
                size=args.size,
                keep=args.keep,
                progress=wrap(display) if wrap else display,
            ),
        )
    with _history:
        append_history(result, args.out)
    print(f"drill {scenario.name}: {result.verdict}{_short_failure(result)}", flush=True)
    return result


def _on_own_cluster(
    scenario: Scenario,
    stop: threading.Event,
    *,
    backend: str,
    run_dir: Path,
    args: argparse.Namespace,
) -> DrillResult:
    """A drill that changes what others share (the cluster, VolSync, the store) on a kind
    cluster and object store of its own, started and closed in the drill's thread. It
    stops when ``stop`` is set; its crash sets it."""
    wrap = partial(Stoppable, stop=stop)
    try:
        return on_own_backend(
            backend,
            run_dir / f"backend-{scenario.name}",
            args.keep,
            lambda started: _drill(
                scenario, wrap, started=started, run_dir=run_dir, args=args, live=False
            ),
            **backend_options(args, backend),
        )
    except BaseException:
        stop.set()
        raise


def run(args: argparse.Namespace) -> int:
    # Mistyped input is named before anything is probed or started.
    if args.scenario not in GROUPS:
        find_scenario(args.scenario)
    if args.size:
        from restore_drill.data import parse_size

        parse_size(args.size, "--size")
        room.check_fits_pvcs(
            {app for s in _named(args.scenario) for app in s.apps}, args.size, "--size"
        )
    if args.dry_run:
        return _dry_run(args)
    backend, why = choose_backend(args.cluster)
    print(f"restore-drill: backend {backend} ({why})", flush=True)
    scenarios = _scenarios(args.scenario, backend)
    side_by_side = args.jobs > 1
    together = [s for s in scenarios if side_by_side and not s.runs_alone]
    # Each on a cluster of its own, at the same time as the shared ones (kind only).
    own = [s for s in scenarios if side_by_side and backend == "kind" and s.runs_alone]
    if backend == "kind":
        written = [room.data_per_pvc(s.apps, args.size or s.size) for s in scenarios]
        # Drills side by side hold their data on the machine at the same time.
        written.append(
            [
                size
                for s in together + own
                for size in room.data_per_pvc(s.apps, args.size or s.size)
            ]
        )
        room.check_fits_disk(max(written, key=sum))
    options = backend_options(args, backend)  # checks its input: before anything is made
    run_dir = open_run(args.out, "run")
    results: list[DrillResult] = []
    stop = threading.Event()
    with ThreadPoolExecutor(max_workers=len(own) or 1, thread_name_prefix="cluster") as pool:
        elsewhere = [
            pool.submit(_on_own_cluster, s, stop, backend=backend, run_dir=run_dir, args=args)
            for s in own
        ]
        try:
            here = [s for s in scenarios if s not in own]
            if here:  # a run of drills that each need their own cluster makes no other
                started = start_in(run_dir, backend, options)
                results += _on_run_cluster(
                    started, run_dir, args, here, together=together, stop=stop
                )
            results += [future.result() for future in elsewhere]
        except Terminated as stopped:
            stop.set()  # the drills on clusters of their own stop at their next step
            wait(elsewhere)
            crash = first_crash(elsewhere)  # stopped by their crash: name it, not the stop
            if crash is None or isinstance(crash, Terminated):
                raise
            raise crash from stopped
        except BaseException:
            stop.set()
            raise
    paths = write_reports(results, run_dir, history_dir=args.out)
    write_reports(results, args.out)  # the latest run's report at a stable path
    print()
    print_table(results)
    print(f"\nresults: {run_dir} (report: {paths['html']})")
    return 0 if results and all(r.passed for r in results) else 1

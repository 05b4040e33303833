"""pytest plugin (entry point ``pytest11``): drill options, the ``drill`` marker, fixtures.

Thin on purpose: drills run through :mod:`restore_drill.runner`, exactly as
``restore-drill run`` does. Drills are opt-in: a test marked ``drill`` is skipped unless
``--cluster`` is given. A drill's verdict goes into the test's report (JUnit properties).
"""

from __future__ import annotations

import contextlib
import io
import os
import secrets
import sys
import threading
from collections.abc import Callable, Generator, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import TextIO

import pytest
from _pytest._io import TerminalWriter

from restore_drill.backend import KEEP_CHOICES, Backend, keep_cluster
from restore_drill.clusters import CHOICES, choose_backend
from restore_drill.commands.progress import shown
from restore_drill.commands.side_by_side import Stoppable
from restore_drill.errors import UsageError
from restore_drill.progress import Sink, ignore
from restore_drill.report import DrillResult
from restore_drill.runner import RunOptions, run_drill
from restore_drill.scenario import GROUPS, Scenario, load_group

last_result_key = pytest.StashKey[DrillResult]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("restore-drill", "restore drills (VolSync restore tests)")
    group.addoption(
        "--cluster",
        choices=CHOICES,
        default=None,
        help="run drills on this backend (drills are skipped without it)",
    )
    group.addoption(
        "--scenario",
        action="append",
        default=[],
        help="only this scenario (repeatable); default: every scenario",
    )
    group.addoption(
        "--keep",
        choices=KEEP_CHOICES,
        default="on-failure",
        help="keep the cluster, its MinIO and the drills' namespaces (as for restore-drill run)",
    )
    group.addoption("--drill-size", default=None, help="dataset size per PVC, e.g. 2MiB")
    group.addoption(
        "--drill-jobs",
        type=int,
        default=1,
        help="drills run side by side on the session's cluster, each in its own namespaces "
        "(those that rebuild the cluster, reinstall VolSync or take the store down run alone, "
        "after them); default 1",
    )
    group.addoption(
        "--drill-quiet",
        action="store_true",
        help="no progress lines from the drills (by default each drill prints its steps, "
        "with their durations, to the terminal as it runs)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "drill(scenario): a restore drill on a cluster backend")
    cluster = config.getoption("--cluster", None)
    if config.getoption("--scenario", None) and not cluster:
        raise pytest.UsageError("--scenario needs --cluster (drills are opt-in)")
    if config.getoption("--drill-size", None) and not cluster:
        raise pytest.UsageError("--drill-size needs --cluster (drills are opt-in)")
    size = config.getoption("--drill-size", None)
    if size:
        from restore_drill.data import parse_size

        try:
            parse_size(size)
        except UsageError as exc:
            raise pytest.UsageError(f"--drill-size: {exc}") from None
    if config.getoption("--drill-jobs", 1) < 1:
        raise pytest.UsageError("--drill-jobs: at least 1")
    if cluster:
        selected_scenarios(config)  # unknown names are a usage error before collection
    config.stash[terminal_key] = _Terminal(config)  # here, where the capture is paused


def pytest_unconfigure(config: pytest.Config) -> None:
    terminal = config.stash.get(terminal_key, None)
    if terminal is not None:
        terminal.close()


def selected_scenarios(config: pytest.Config) -> list[Scenario]:
    wanted = config.getoption("--scenario") or []
    scenarios = [scenario for group in GROUPS for scenario in load_group(group)]
    unknown = sorted(set(wanted) - {s.name for s in scenarios})
    if unknown:
        raise pytest.UsageError(f"--scenario: unknown {', '.join(unknown)}")
    chosen = [s for s in scenarios if not wanted or s.name in wanted]
    # Those that change what the others share come last: the side-by-side ones are done
    # before the first of them starts.
    return sorted(chosen, key=lambda s: s.runs_alone)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--cluster", None):
        return
    opt_in = pytest.mark.skip(reason="drills are opt-in: pass --cluster auto|kind|existing")
    for item in items:
        if item.get_closest_marker("drill"):
            item.add_marker(opt_in)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "drill_scenario" in metafunc.fixturenames:
        scenarios = selected_scenarios(metafunc.config)
        metafunc.parametrize("drill_scenario", scenarios, ids=[s.name for s in scenarios])


@pytest.fixture(scope="session")
def drill_backend(request: pytest.FixtureRequest) -> Iterator[Backend]:
    """One cluster + object store for the session's drills (scenarios use own namespaces)."""
    requested = request.config.getoption("--cluster")
    if not requested:
        pytest.skip("drills are opt-in: pass --cluster auto|kind|existing")
    backend_name, _why = choose_backend(requested)
    # Under runs/, not pytest's temporary directory: a kept or killed session's record must
    # outlive pytest's clean-up of old temporary directories, where `restore-drill clean`
    # finds it.
    from restore_drill.commands.run import start_run

    backend, _run_dir = start_run(backend_name, request.config.rootpath / "runs", "pytest", {})
    yield backend
    failed = request.session.testsfailed > 0
    backend.close(keep_cluster=keep_cluster(request.config.getoption("--keep"), failed=failed))


def drill_options(config: pytest.Config, out_dir: Path, password: str) -> RunOptions:
    """A drill's options from the session's: its size, --keep and the known password."""
    return RunOptions(
        out_dir=out_dir,
        size=config.getoption("--drill-size"),
        keep=config.getoption("--keep"),
        password=password,
    )


class _Terminal:
    """Where the drills' lines go: the output as it was before pytest's capture (a copy
    of its file descriptor, taken while the capture is paused), so that lines from any
    thread show as they come, between the test results. An in-process pytest (pytester)
    has no descriptor to copy: its terminal writer is used instead."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.file: TextIO | None = None
        self.width_seen = 0  # pytest's line as the last line here left it
        try:
            fd = os.dup(sys.stdout.fileno())
        except (AttributeError, OSError, io.UnsupportedOperation):
            return
        self.file = os.fdopen(fd, "w", encoding="utf-8", errors="replace", buffering=1)

    @property
    def writer(self) -> TerminalWriter:
        return self.config.get_terminal_writer()  # the reporter's, there once configured

    def write(self, text: str, /) -> int:
        # A line of its own, not after a test file's name or the results' dots that
        # pytest wrote since the last line here.
        width = self.writer.width_of_current_line
        if width and width != self.width_seen:
            text = "\n" + text
        self.width_seen = width
        if self.file is None:
            self.writer.write(text)
        else:
            self.file.write(text)
        return len(text)

    def flush(self) -> None:
        (self.writer if self.file is None else self.file).flush()

    def isatty(self) -> bool:
        return False  # plain lines: pytest's own output shares the screen

    def close(self) -> None:
        if self.file is not None:
            self.file.close()


terminal_key = pytest.StashKey[_Terminal]()


def run_shown(
    config: pytest.Config,
    scenario: Scenario,
    backend: Backend,
    options: RunOptions,
    wrap: Callable[[Sink], Sink] | None = None,
) -> DrillResult:
    """:func:`run_drill`, its progress on the terminal unless ``--drill-quiet``; its
    events pass through ``wrap`` (a side-by-side drill's stop)."""
    with contextlib.ExitStack() as stack:
        sink: Sink = ignore
        if not config.getoption("--drill-quiet"):
            size = options.size or scenario.size
            terminal = config.stash[terminal_key]
            sink = stack.enter_context(shown(scenario, size, terminal, live=False))
        progress = wrap(sink) if wrap else sink
        return run_drill(
            scenario, backend.cluster, backend.object_store, replace(options, progress=progress)
        )


class SideBySide:
    """The session's drills that share the cluster, started together on first request
    (``--drill-jobs`` at a time); each drill's test waits for its own result."""

    def __init__(
        self,
        config: pytest.Config,
        backend: Backend,
        planned: dict[str, tuple[Scenario, RunOptions]],
        jobs: int,
    ) -> None:
        self.stop = threading.Event()
        self.pool = ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="drill")
        self.futures = {
            name: self.pool.submit(
                run_shown, config, scenario, backend, options, partial(Stoppable, stop=self.stop)
            )
            for name, (scenario, options) in planned.items()
        }

    def result(self, scenario: Scenario) -> DrillResult | None:
        """The drill's result, once it ends; None for a drill that runs alone."""
        future = self.futures.get(scenario.name)
        return None if future is None else future.result()

    def close(self) -> None:
        """Wait for the drills; those still running (the session was stopped) end at their
        next event and tear down."""
        self.stop.set()
        self.pool.shutdown(wait=True, cancel_futures=True)


@pytest.fixture(scope="session")
def side_by_side(
    request: pytest.FixtureRequest,
    drill_backend: Backend,
    drill_password: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[SideBySide]:
    config = request.config
    jobs = config.getoption("--drill-jobs")
    # The drills this session runs: a -k or a test id that picks some must not start others.
    collected = {
        str(getattr(item.callspec.params["drill_scenario"], "name", ""))
        for item in request.session.items
        if isinstance(item, pytest.Function)
        and hasattr(item, "callspec")
        and "drill_scenario" in item.callspec.params
    }
    planned = {
        scenario.name: (
            scenario,
            drill_options(
                config, tmp_path_factory.mktemp(f"drill-{scenario.name}"), drill_password
            ),
        )
        for scenario in selected_scenarios(config)
        if jobs > 1
        and scenario.name in collected
        and not scenario.runs_alone
        and drill_backend.cluster.backend in scenario.backends
    }
    together = SideBySide(config, drill_backend, planned, jobs)
    yield together
    together.close()


@pytest.fixture(scope="session")
def drill_password() -> str:
    """The restic password of the session's drills: known, so a test can look for it."""
    return secrets.token_urlsafe(24)


@pytest.fixture
def drill_out(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    return tmp_path


def remember(item: pytest.Item, result: DrillResult) -> None:
    """Keep a drill's result on its test item; its report carries the verdict."""
    item.stash[last_result_key] = result


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    result = item.stash.get(last_result_key, None)
    if result is not None and report.when == "call":
        # The item's properties reach every later report, the JUnit writer's among them.
        for name in (
            "scenario",
            "verdict",
            "rto_seconds",
            "rto_target_seconds",
            "rpo_seconds",
            "outcome_expected",
            "outcome_observed",
        ):
            item.user_properties.append((name, getattr(result, name)))
        report.user_properties = list(item.user_properties)
    return report

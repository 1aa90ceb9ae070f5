"""Running the one graph as a cluster of processes on this machine, so that both cores work.

Every stage holds the GIL, so a second worker thread gains nothing; a second process does.
Bytewax runs a cluster as N processes each started with the same graph, its `process_id` and
every process's address; items cross processes over Bytewax's exchange as they cross workers.

Who does what. This process is process 0 and the only one that opens an embedded ClickHouse
(chdb allows one engine per data directory per process): the ClickHouse sink lists its
partitions only here (`FlowSpec.clickhouse_owner`), so every row reaches it over the exchange,
while the inputs, decoding, the market stage and the account shards are spread over all
processes. Migrations, run registration, accounts and result reads happen here before and after
the flow. Against a ClickHouse server every process writes its own rows.

The other processes come from multiprocessing's fork server with a copy of the spec: a fresh
interpreter started once (no inherited threads, engines or Kafka clients, unlike a plain fork
of this process) that has imported the flow's modules already, so a process starts in
milliseconds instead of the seconds its imports take (3-13 s on the loaded 2-core machine,
which would eat a short run's gain). `warm_up` starts it early, beside this process's own
preparation. What cannot cross a process boundary is bridged: the stop event (set here:
every process's inputs end), progress counts (added up here), Prometheus metrics (written to
files of the run, added to this process's own: sinks/cluster_metrics.py) and a child's failure
(its one-line cause). A child that fails stops the run: the others are
killed and the run raises `ClusterError`; a child whose parent dies exits on its own.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import socket
import sys
import threading
import types
from collections.abc import Iterator
from multiprocessing import forkserver, get_context
from multiprocessing.context import ForkServerContext
from multiprocessing.process import BaseProcess
from multiprocessing.queues import SimpleQueue
from multiprocessing.sharedctypes import Synchronized
from multiprocessing.synchronize import Event as ProcessEvent
from typing import NoReturn

from bytewax.run import cli_main

from flows.stages.graph import FlowSpec, build_flow
from sinks.cluster_metrics import write_here
from sinks.metrics import CLUSTER

# How long the owner's Bytewax run may take to notice a dead peer before this process exits.
_PEER_LOSS_GRACE_SECONDS = 15.0


class ClusterError(RuntimeError):
    """A process of the cluster failed; the message says which and why, in one line."""


def free_ports(count: int) -> list[int]:
    """Loopback ports free right now (bound to port 0 together, so they are distinct)."""
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def _context() -> ForkServerContext:
    context = get_context("forkserver")
    # The setup module imports this one and flows.runs.live, in prometheus_client's multiprocess
    # mode (see there).
    context.set_forkserver_preload(["flows.runs.fork_server_setup"])
    return context


@contextlib.contextmanager
def _main_module_hidden() -> Iterator[None]:
    """Start a child without telling it this process's main module.

    multiprocessing makes every child import the parent's main script again (so that functions
    defined there can be unpickled); for `strikeflow`, a benchmark or pytest that is seconds
    of imports per process on a loaded machine, and nothing of the main module crosses here
    (the child's target and plan live in flows). The fork server's `__main__` preload that
    would avoid it is broken in Python 3.11 (it looks for a 'main_path' key that
    get_preparation_data never writes).
    """
    main = sys.modules["__main__"]
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        sys.modules["__main__"] = main


def warm_up(processes: int) -> None:
    """Start the fork server (and its imports) now if a cluster will run, so that its start-up
    overlaps this process's migrations and run registration. Returns at once."""
    if processes > 1:
        _context()
        forkserver.ensure_running()


def run_flow(spec: FlowSpec, *, workers: int = 1, processes: int = 1) -> None:
    """Run the graph of `spec` to its end in `processes` processes of `workers` threads each."""
    if processes < 1 or workers < 1:
        raise ValueError("processes and workers must be at least 1")
    if processes == 1:
        cli_main(build_flow(spec), workers_per_process=workers)  # type: ignore[no-untyped-call]
        return
    _Cluster(spec, workers, processes).run()


@dataclasses.dataclass(frozen=True)
class _ChildPlan:
    """What another process needs to build its copy of the graph (everything picklable)."""

    spec: FlowSpec
    workers: int
    process_id: int
    addresses: list[str]
    parent_pid: int
    counts_progress: bool
    watches_broker: bool
    metrics_directory: str


class _Cluster:
    def __init__(self, spec: FlowSpec, workers: int, processes: int):
        self.spec = spec
        self.workers = workers
        self.context = _context()
        self.addresses = [f"127.0.0.1:{port}" for port in free_ports(processes)]
        self.stop: ProcessEvent = self.context.Event()
        self.progress: Synchronized[int] = self.context.Value("q", 0)
        self.errors: SimpleQueue[str] = self.context.SimpleQueue()
        self.children: list[BaseProcess] = []
        self.failure: str | None = None
        self._finished = threading.Event()
        self._bridge_thread = threading.Thread(
            target=self._bridge, name="cluster-bridge", daemon=True
        )

    def _plan(self, process_id: int, metrics_directory: str) -> _ChildPlan:
        # Only data crosses: the local stop event, progress callback, sink failure record and
        # broker watch are made again in the child.
        spec = dataclasses.replace(
            self.spec,
            clickhouse_owner=not self.spec.settings.embedded_clickhouse,
            progress=None,
            flow_latency=None,
            stop=None,
            sink_failures=None,
            watch=None,
        )
        return _ChildPlan(
            spec,
            self.workers,
            process_id,
            self.addresses,
            os.getpid(),
            self.spec.progress is not None,
            self.spec.watch is not None,
            metrics_directory,
        )

    def run(self) -> None:
        # The other processes write their metrics there; this one adds them to its own.
        with CLUSTER.children_write_to() as metrics_directory:
            self._run(str(metrics_directory))

    def _run(self, metrics_directory: str) -> None:
        for process_id in range(1, len(self.addresses)):
            plan = self._plan(process_id, metrics_directory)
            child = self.context.Process(
                target=_child_main,
                args=(plan, self.stop, self.progress, self.errors),
                name=f"strikeflow-process-{process_id}",
            )
            with _main_module_hidden():
                child.start()
            self.children.append(child)
        self._bridge_thread.start()
        try:
            cli_main(  # type: ignore[no-untyped-call]
                build_flow(self.spec),
                workers_per_process=self.workers,
                process_id=0,
                addresses=self.addresses,
            )
        except BaseException as error:  # a peer's loss surfaces here as a Rust panic
            self._finish(kill=True)
            raise ClusterError(self.failure or f"process 0 failed: {error}") from error
        self._finish(kill=False)
        if self.failure is not None:
            raise ClusterError(self.failure)

    def _bridge(self) -> None:
        """Stop, progress and failures between this process and the children, until the end."""
        stop = self.spec.stop
        reported = 0
        while not self._finished.wait(0.1):
            if stop is not None and stop.is_set() and not self.stop.is_set():
                self.stop.set()
            reported = self._forward_progress(reported)
            failed = [c for c in self.children if c.exitcode not in (None, 0)]
            if failed and self.failure is None:
                self.failure = self._cause(failed[0])
                print(f"strikeflow: {self.failure}; stopping", file=sys.stderr, flush=True)
                self._kill_children()
                # The owner's run normally panics on the lost peer; if it waits instead (a
                # child that died before it connected), leave rather than hang.
                if not self._finished.wait(_PEER_LOSS_GRACE_SECONDS):
                    os._exit(1)
        self._forward_progress(reported)

    def _forward_progress(self, reported: int) -> int:
        if self.spec.progress is None:
            return reported
        total = int(self.progress.value)
        if total > reported:
            self.spec.progress(total - reported)
        return total

    def _cause(self, child: BaseProcess) -> str:
        message = self.errors.get() if not self.errors.empty() else None
        return f"{child.name} exited with status {child.exitcode}" + (
            f": {message}" if message else ""
        )

    def _kill_children(self) -> None:
        for child in self.children:
            if child.exitcode is None:
                child.kill()
        for child in self.children:
            child.join(5)

    def _finish(self, *, kill: bool) -> None:
        """Wait for the children (briefly after a failure here: a child's own error is the
        better explanation of a lost peer), kill stragglers, note the first child's failure."""
        for child in self.children:
            child.join(3 if kill else 30)
        failed = [c for c in self.children if c.exitcode not in (None, 0)]
        if failed and self.failure is None:
            self.failure = self._cause(failed[0])
        self._kill_children()  # only those still running: a straggler cannot hold the run
        self._finished.set()
        self._bridge_thread.join()  # its last round forwards the children's last progress


def _child_main(
    plan: _ChildPlan,
    cluster_stop: ProcessEvent,
    progress: Synchronized[int],
    errors: SimpleQueue[str],
) -> None:
    """Another process of the cluster (forked by the fork server): its copy of the graph, as
    process `plan.process_id`."""
    from flows.runs.shutdown import stop_on_signals

    try:
        write_here(plan.metrics_directory)  # before anything is counted
    except RuntimeError as error:
        _exit_with(errors, error)
    # Bytewax's Rust side prints to fd 1 (e.g. "worker 1: error connecting to worker 0 ...;
    # retrying" while process 0 starts listening); stdout belongs to the command's output
    # (`--json`), so everything this process says goes to stderr.
    sys.stdout.flush()
    os.dup2(2, 1)
    spec = plan.spec
    stop = stop_on_signals(f"process {plan.process_id}")
    spec.stop = stop
    threading.Thread(
        target=_follow, args=(cluster_stop, stop, plan.parent_pid), daemon=True
    ).start()
    if plan.counts_progress:

        def count(messages: int) -> None:
            with progress.get_lock():
                progress.value += messages

        spec.progress = count
    if plan.watches_broker:
        from flows.runs.live import broker_watch

        spec.watch = broker_watch(spec.settings, stop)
    try:
        cli_main(  # type: ignore[no-untyped-call]
            build_flow(spec),
            workers_per_process=plan.workers,
            process_id=plan.process_id,
            addresses=plan.addresses,
        )
    except BaseException as error:
        _exit_with(errors, error)


def _exit_with(errors: SimpleQueue[str], error: BaseException) -> NoReturn:
    """Leave this process with status 1, its cause in one line for process 0."""
    lines = str(error).strip().splitlines()
    errors.put(f"{type(error).__name__}: {lines[0] if lines else ''}"[:500])
    sys.stderr.flush()
    os._exit(1)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's (a reused pid): not ours to judge
        return True
    return True


def _follow(cluster_stop: ProcessEvent, stop: threading.Event, parent_pid: int) -> None:
    """Set the local stop when the cluster stops; leave at once if the parent is gone (the
    fork server, not the cluster's first process, is this process's parent)."""
    while True:
        if cluster_stop.wait(0.5):
            stop.set()
            return
        if not _alive(parent_pid):
            with contextlib.suppress(Exception):
                print("strikeflow: the parent process is gone; exiting", file=sys.stderr)
            os._exit(1)


def describe(processes: int, workers: int) -> str:
    """'2 processes x 1 worker', for the console."""
    return (
        f"{processes} process{'es' if processes > 1 else ''} x "
        f"{workers} worker{'s' if workers > 1 else ''}"
    )

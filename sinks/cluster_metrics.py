"""The metrics of every process of a cluster (flows/runs/cluster.py), added up in process 0.

Process 0, the command that was started (`strikeflow serve/demo/backtest --processes N`), keeps
its own metrics in memory, as a process alone does. The other processes write theirs to files
in a directory of the run (prometheus_client's multiprocess mode), and `ClusterMetrics`, which
stands for the strikeflow metrics in prometheus_client's default registry, adds them to process
0's own at every scrape: wherever that registry is served (the API's `/metrics`, Bytewax's
endpoint), the figures are the cluster's. Counters and histograms are summed; a gauge is
combined by its `multiprocess_mode` (sinks/metrics.py says which and why).

Why process 0 is not in multiprocess mode itself: prometheus_client picks where values live once,
when it is imported, from PROMETHEUS_MULTIPROC_DIR. Process 0 has often imported it before it
knows it will start a cluster (the API, a test, a benchmark) and may start several clusters in
its life, and a variable set in its environment would leak into everything it starts later.
The other processes come from the cluster's fork server, which sets the variable before its
imports (flows/runs/fork_server_setup.py); each points it at its run's directory as it starts
(`write_here`).

When a run ends its directory is removed, and its processes' counters and histograms are kept
in memory here, so process 0's totals never go backwards as they would after a restart. Their
gauges are dropped with them: they describe processes that are gone.
"""

from __future__ import annotations

import contextlib
import glob
import logging
import operator
import os
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from prometheus_client import values
from prometheus_client.metrics_core import Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import CollectorRegistry

log = logging.getLogger(__name__)

MULTIPROCESS_DIRECTORY = "PROMETHEUS_MULTIPROC_DIR"

# How each process's sample of a gauge joins the others', by the gauge's multiprocess_mode.
# Modes left out ('all', 'mostrecent') cannot take process 0's in-memory value (no pid label,
# no timestamp): tests/sinks/test_cluster_metrics.py keeps sinks/metrics.py off them.
GAUGE_MODES: dict[str, Callable[[float, float], float]] = {
    "sum": operator.add,
    "livesum": operator.add,
    "max": max,
    "livemax": max,
    "min": min,
    "livemin": min,
}

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def add_up(own: Metric, other: Metric) -> Metric:
    """`own` with the samples of the same metric from other processes: summed, or for a gauge
    combined by its mode. Files carry no `_created` sample, so process 0's stands."""
    if own.type == "gauge":
        combine = GAUGE_MODES[getattr(other, "_multiprocess_mode", "sum")]
    else:
        combine = operator.add
    found: Samples = {}
    for sample in own.samples:
        found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    for sample in other.samples:
        key = (sample.name, tuple(sorted(sample.labels.items())))
        found[key] = combine(found[key], sample.value) if key in found else sample.value
    merged = Metric(own.name, own.documentation, own.type, own.unit)
    for (name, labels), value in found.items():
        merged.add_sample(name, dict(labels), value)
    return merged


def read_directory(directory: Path) -> dict[str, Metric]:
    """The metrics of the processes that write into `directory`, by name, added up."""
    # A process creates its file empty and sizes it right after: an empty one has nothing yet.
    files = [f for f in glob.glob(os.path.join(directory, "*.db")) if os.path.getsize(f) > 0]
    merged = MultiProcessCollector.merge(files)  # type: ignore[no-untyped-call]
    return {metric.name: metric for metric in merged}


class ClusterMetrics:
    """A collector: the metrics of `own` (this process's registry), plus those of the other
    processes of every cluster run this process has started (`children_write_to`).

    Only metrics that `own` defines are read from the files: the processes also write metrics
    of their libraries there (Bytewax's Kafka lag gauge), which the default registry already
    holds for process 0 and must not list twice."""

    def __init__(self, own: CollectorRegistry):
        self.own = own
        self._lock = threading.Lock()
        self._directories: set[Path] = set()
        self._finished: dict[str, Metric] = {}

    def describe(self) -> Iterable[Metric]:
        return self.own.collect()

    def collect(self) -> Iterable[Metric]:
        with self._lock:  # a finishing run waits to remove its directory until this is read
            others = [read_directory(directory) for directory in sorted(self._directories)]
            others.append(self._finished)
            merged = []
            for metric in self.own.collect():
                for found in others:
                    if metric.name in found:
                        metric = add_up(metric, found[metric.name])
                merged.append(metric)
        return merged

    @contextlib.contextmanager
    def children_write_to(self) -> Iterator[Path]:
        """A fresh directory for the other processes of one cluster run, counted in while the
        run lasts; afterwards their counters and histograms are kept and the directory is
        removed."""
        directory = Path(tempfile.mkdtemp(prefix="strikeflow-metrics-"))
        with self._lock:
            self._directories.add(directory)
        try:
            yield directory
        finally:
            with self._lock:
                self._directories.discard(directory)
                try:
                    self._keep_finished(read_directory(directory))
                except Exception:  # counts lost must not hide how the run ended
                    log.exception("the other processes' last metrics could not be read")
            shutil.rmtree(directory, ignore_errors=True)

    def _keep_finished(self, found: dict[str, Metric]) -> None:
        defined = {metric.name for metric in self.own.collect()}
        for name, metric in found.items():
            if metric.type != "gauge" and name in defined:
                kept = self._finished.get(name)
                self._finished[name] = metric if kept is None else add_up(kept, metric)


def write_here(directory: str) -> None:
    """In another process of a cluster, before it counts anything: write its metrics into its
    run's `directory` (prometheus_client reopens its files there when it sees a new pid)."""
    if not getattr(values.ValueClass, "_multiprocess", False):
        raise RuntimeError(
            "prometheus_client was imported before PROMETHEUS_MULTIPROC_DIR was set in the fork "
            "server: this process's metrics would be lost"
        )
    os.environ[MULTIPROCESS_DIRECTORY] = directory

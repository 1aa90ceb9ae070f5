"""Adding up a cluster's metrics in its first process (sinks/cluster_metrics.py).

The other processes here are real interpreters started with PROMETHEUS_MULTIPROC_DIR set to
the run's directory, as the fork server's children have it, and counting through the real
sinks.metrics. This process plays process 0: its own metrics live in memory, in a registry of
this test (the module-wide one is shared with the other tests of the session).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.metrics_core import Metric

from sinks import metrics
from sinks.cluster_metrics import (
    GAUGE_MODES,
    ClusterMetrics,
    add_up,
    read_directory,
    write_here,
)
from tests.paths import REPO

CHILD = """
import sys
from prometheus_client import Gauge
from sinks.metrics import CONSUMER_LAG, DECISION_DELAY, TICKS_IN

partition, ticks, lag, also_on_0 = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
TICKS_IN.labels(f"ticks:{partition}").inc(ticks)
if also_on_0:
    TICKS_IN.labels("ticks:0").inc(also_on_0)
DECISION_DELAY.observe(0.03)
CONSUMER_LAG.labels("ticks", partition).set(lag)
Gauge("a_library_lag", "A library's own metric, which process 0 serves by itself.").set(1)
"""


def count_in_another_process(
    directory: Path, partition: str, ticks: int, lag: int, also_on_0: int = 0
) -> None:
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(directory)}
    args = [partition, str(ticks), str(lag), str(also_on_0)]
    done = subprocess.run(
        [sys.executable, "-c", CHILD, *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr


class ProcessZero:
    """Process 0's own metrics (same names as sinks.metrics) and its ClusterMetrics, served
    from a registry of their own."""

    def __init__(self) -> None:
        own = CollectorRegistry()
        self.ticks = Counter("strikeflow_ticks_in", "Ticks.", ["channel"], registry=own)
        self.delay = Histogram(
            "strikeflow_decision_delay_seconds",
            "Delay.",
            buckets=metrics.DELAY_BUCKETS,
            registry=own,
        )
        self.lag = Gauge(
            "strikeflow_consumer_lag_messages",
            "Lag.",
            ["topic", "partition"],
            registry=own,
            multiprocess_mode="livesum",
        )
        self.cluster = ClusterMetrics(own)
        self.served = CollectorRegistry()
        self.served.register(self.cluster)

    def value(self, name: str, **labels: str) -> float | None:
        return self.served.get_sample_value(name, labels)


def test_the_first_process_serves_the_sum_of_every_process_while_the_run_lasts() -> None:
    zero = ProcessZero()
    zero.ticks.labels("ticks:0").inc(5)
    zero.delay.observe(0.3)
    zero.lag.labels("ticks", "0").set(4)
    with zero.cluster.children_write_to() as directory:
        count_in_another_process(directory, "1", ticks=2, lag=7)
        count_in_another_process(directory, "2", ticks=3, lag=0, also_on_0=1)

        assert zero.value("strikeflow_ticks_in_total", channel="ticks:0") == 6
        assert zero.value("strikeflow_ticks_in_total", channel="ticks:1") == 2
        assert zero.value("strikeflow_ticks_in_total", channel="ticks:2") == 3
        # Buckets are added bound by bound, and stay cumulative.
        assert zero.value("strikeflow_decision_delay_seconds_bucket", le="0.05") == 2
        assert zero.value("strikeflow_decision_delay_seconds_bucket", le="0.25") == 2
        assert zero.value("strikeflow_decision_delay_seconds_bucket", le="0.5") == 3
        assert zero.value("strikeflow_decision_delay_seconds_bucket", le="+Inf") == 3
        assert zero.value("strikeflow_decision_delay_seconds_count") == 3
        assert zero.value("strikeflow_decision_delay_seconds_sum") == pytest.approx(0.36)
        # Each partition's lag is its owner's.
        assert zero.value("strikeflow_consumer_lag_messages", topic="ticks", partition="0") == 4
        assert zero.value("strikeflow_consumer_lag_messages", topic="ticks", partition="1") == 7
        assert zero.value("strikeflow_consumer_lag_messages", topic="ticks", partition="2") == 0
        # What process 0 does not define itself is not read from the files (no duplicates).
        assert zero.value("a_library_lag") is None
        names = [metric.name for metric in zero.served.collect()]
        assert len(names) == len(set(names)) == 3
    assert "PROMETHEUS_MULTIPROC_DIR" not in os.environ


def test_after_the_run_its_counts_stay_and_its_gauges_and_files_go() -> None:
    zero = ProcessZero()
    zero.lag.labels("ticks", "0").set(4)
    for _run in range(2):
        with zero.cluster.children_write_to() as directory:
            count_in_another_process(directory, "1", ticks=2, lag=7)
        assert not directory.exists()
        assert zero.value("strikeflow_consumer_lag_messages", topic="ticks", partition="1") is None
    # Two runs' counts: totals never go backwards while process 0 lives.
    assert zero.value("strikeflow_ticks_in_total", channel="ticks:1") == 4
    assert zero.value("strikeflow_decision_delay_seconds_count") == 2
    assert zero.value("strikeflow_consumer_lag_messages", topic="ticks", partition="0") == 4


def gauge(name: str, value: float, mode: str | None = None) -> Metric:
    metric = Metric(name, "A gauge.", "gauge")
    metric.add_sample(name, {"table": "fills"}, value)
    if mode is not None:
        metric._multiprocess_mode = mode  # type: ignore[attr-defined]  # as files give it
    return metric


@pytest.mark.parametrize(
    ("mode", "expected"), [("livesum", 10.0), ("sum", 10.0), ("max", 7.0), ("livemin", 3.0)]
)
def test_a_gauge_joins_the_others_by_its_mode(mode: str, expected: float) -> None:
    (sample,) = add_up(gauge("queue", 3.0), gauge("queue", 7.0, mode)).samples
    assert sample.value == expected


def test_every_gauge_of_the_pipeline_has_a_mode_that_adds_up_with_process_zero() -> None:
    gauges = [value for value in vars(metrics).values() if isinstance(value, Gauge)]
    assert gauges
    for found in gauges:
        assert found._multiprocess_mode in GAUGE_MODES, found


def test_a_process_whose_metrics_would_be_lost_says_so(tmp_path: Path) -> None:
    """This pytest process imported prometheus_client without the variable, as a fork server
    that missed its setup would have: refused, and the environment left alone."""
    with pytest.raises(RuntimeError, match="PROMETHEUS_MULTIPROC_DIR"):
        write_here(str(tmp_path))
    assert "PROMETHEUS_MULTIPROC_DIR" not in os.environ


def test_an_unreadable_file_at_the_end_of_a_run_does_not_hide_how_the_run_ended() -> None:
    """A file a killed process left unreadable: the run's own error is what the caller sees."""
    zero = ProcessZero()
    used: list[Path] = []

    def failing_run() -> None:
        with zero.cluster.children_write_to() as directory:
            used.append(directory)
            # Its header says 1 MiB is used, of 16 bytes.
            (directory / "counter_4242.db").write_bytes((1 << 20).to_bytes(4, "little") * 4)
            with pytest.raises(RuntimeError, match="corrupted"):
                read_directory(directory)
            raise ValueError("the run's own failure")

    with pytest.raises(ValueError, match="the run's own failure"):
        failing_run()
    assert not used[0].exists()

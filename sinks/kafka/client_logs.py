"""librdkafka's log lines, said once and then periodically instead of ~90 times a second.

With the broker down every Kafka client logs "Connect to ... failed: Connection refused" for
every connection attempt of every partition's consumer, straight to stderr. Clients given
`client_log_config()` log through the Python logger `strikeflow.kafka` instead, whose filter
lets a line through the first time and then once per interval, with the number it held back.
"""

from __future__ import annotations

import logging
import re
import sys
import threading
import time

LOGGER_NAME = "strikeflow.kafka"
_VARYING = re.compile(r"\d+|\[thrd:[^\]]*\]|\(after [^)]*\)")


class RepeatFilter(logging.Filter):
    """Passes a record whose text (numbers and thread names aside) is new, or was last passed
    `interval` seconds ago; a passed repeat says how many like it were held back."""

    def __init__(self, interval: float):
        super().__init__()
        self.interval = interval
        self._lock = threading.Lock()
        self._last: dict[str, tuple[float, int]] = {}  # key: (time passed, held back since)

    def filter(self, record: logging.LogRecord) -> bool:
        key = _VARYING.sub("#", record.getMessage())[:200]
        now = time.monotonic()  # wall-clock ok: pacing log lines, never trading logic
        with self._lock:
            passed, held = self._last.get(key, (-float("inf"), 0))
            if now - passed < self.interval:
                self._last[key] = (passed, held + 1)
                return False
            self._last[key] = (now, 0)
        if held:
            text = record.getMessage()
            record.msg = f"{text} ({held} more like this in the last {now - passed:.0f} s)"
            record.args = ()
        return True


_configured = threading.Lock()


def kafka_logger(interval: float = 30.0) -> logging.Logger:
    """The logger Kafka clients log through: to stderr, repeats held back for `interval` s."""
    logger = logging.getLogger(LOGGER_NAME)
    with _configured:
        if not logger.handlers:
            handler = logging.StreamHandler(sys.stderr)
            handler.setFormatter(logging.Formatter("kafka: %(message)s"))
            logger.addHandler(handler)
            logger.propagate = False
            logger.setLevel(logging.WARNING)
        repeats = [f for f in logger.filters if isinstance(f, RepeatFilter)]
        if repeats:
            repeats[0].interval = interval
        else:
            logger.addFilter(RepeatFilter(interval))
    return logger


def client_log_config(interval: float = 30.0) -> dict[str, object]:
    """Client settings that route librdkafka's logs through `kafka_logger`."""
    return {"logger": kafka_logger(interval), "log.connection.close": False}

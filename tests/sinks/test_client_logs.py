"""librdkafka's repeated lines: said once, then once per interval with the count held back."""

from __future__ import annotations

import logging

from sinks.kafka.client_logs import RepeatFilter


def record(text: str) -> logging.LogRecord:
    return logging.LogRecord("strikeflow.kafka", logging.ERROR, __file__, 1, text, (), None)


def test_a_repeated_line_passes_once_then_with_the_count_it_held_back() -> None:
    repeats = RepeatFilter(interval=3600)
    line = "FAIL [thrd:127.0.0.1:{n}/bootstrap]: Connect to 127.0.0.1:9092 failed (after {n}ms)"
    first = record(line.format(n=1))
    assert repeats.filter(first)
    assert not any(repeats.filter(record(line.format(n=i))) for i in range(2, 100))
    assert repeats.filter(record("another message"))
    repeats.interval = 0.0
    late = record(line.format(n=100))
    assert repeats.filter(late)
    assert "(98 more like this in the last" in late.getMessage()

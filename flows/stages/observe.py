"""Counting what passes through the flow for Prometheus (sinks/metrics.py), without changing it.

Each function is the inspector of an `op.inspect` step in flows/stages/graph.py: it reads the
batch that passes and leaves it as it is, so the flow's outputs do not depend on whether anyone
scrapes. The wall clock appears here only, in gauges and histograms, never in a row.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from flows.accounts.state import Outputs
from flows.trading.ticks import HEARTBEAT
from schemas.common import wall_clock_ms
from sinks.metrics import (
    DEAD_LETTERS,
    DECISION_DELAY,
    DECISIONS,
    FILLS,
    TICKS_IN,
    WATERMARK_DELAY,
    seconds_behind,
)


def market(_step: str, item: tuple[str, Any]) -> None:
    """Usable ticks (heartbeats left out), dead letters, and how far behind the wall clock each
    channel's watermark is after its batch."""
    channel, (output, *_) = item
    ticks = int(np.count_nonzero(output.update.ticks.codes != HEARTBEAT))
    if ticks:
        TICKS_IN.labels(channel).inc(ticks)
    if output.update.watermark is not None:
        behind = seconds_behind(output.update.watermark, wall_clock_ms())
        WATERMARK_DELAY.labels(channel).set(behind)
    for letter in output.dead:
        DEAD_LETTERS.labels(letter.topic).inc()


def accounts(_step: str, item: tuple[str, Outputs]) -> None:
    """Decisions by verdict, fills, and each decision's delay behind its tick's event time."""
    shard, outputs = item
    if outputs.decisions:
        now = wall_clock_ms()
        approved = 0
        for decision in outputs.decisions:
            approved += decision.approved
            DECISION_DELAY.observe(seconds_behind(decision.ts, now))
        if approved:
            DECISIONS.labels(shard, "approved").inc(approved)
        if approved < len(outputs.decisions):
            DECISIONS.labels(shard, "rejected").inc(len(outputs.decisions) - approved)
    if outputs.fills:
        FILLS.labels(shard).inc(len(outputs.fills))


def control_dead(_step: str, letter: Any) -> None:
    DEAD_LETTERS.labels(letter.topic).inc()

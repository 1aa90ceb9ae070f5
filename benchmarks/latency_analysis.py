"""Latencies from what the feed and the consumer noted: each decision matched to its tick, and
the decisions that never arrived counted as later than any that did."""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np
from latency_roles import latency_ticks

EARLY_SECONDS = 10  # the first seconds of the measured window, before the broker slows down


def expected_decisions(args: argparse.Namespace) -> tuple[int, int]:
    """Signals the strategy gives on the measured ticks (all of them, and the first
    EARLY_SECONDS): each is one decision (a position change of one leg), so decisions that
    have not arrived are counted, not silently left out."""
    from flows.trading.strategies import new_strategy_state, strategy_step
    from schemas.config import MovingAverageCross

    symbols = tuple(args.symbols.split(","))
    ticks = latency_ticks(symbols, args.rate, args.warmup + args.duration)
    first = int(args.rate * args.warmup)
    early_end = first + EARLY_SECONDS * args.rate
    if args.ticks_only:
        total = len(ticks["ts"]) - first
        return total, min(total, EARLY_SECONDS * args.rate)
    fast, slow = (int(v) for v in args.strategy.split(","))
    config = MovingAverageCross(fast=fast, slow=slow)
    mids = (ticks["bid"] + ticks["ask"]) * 0.5
    total = early = 0
    for code in range(len(symbols)):
        rows = np.flatnonzero(ticks["codes"] == code)
        _, signals = strategy_step(
            config, new_strategy_state(config), ticks["ts"][rows], mids[rows]
        )
        at = rows[[signal.index for signal in signals]]
        total += int(np.count_nonzero(at >= first))
        early += int(np.count_nonzero((at >= first) & (at < early_end)))
    return total, early


def match(feed: Any, decisions: Any) -> tuple[np.ndarray, np.ndarray, int, int]:
    """Each decision's latency in ms and its tick's produce() time, for the ticks of the
    measured window; and how many decisions named no produced tick, or a warm-up tick."""
    produced: dict[tuple[int, int], int] = dict(
        zip(
            zip(feed["partition"].tolist(), feed["offset"].tolist(), strict=True),
            feed["produced_ns"].tolist(),
            strict=True,
        )
    )
    measure_from = int(feed["measure_from_ns"])
    latencies, sent_times, unmatched, warm = [], [], 0, 0
    for p, o, at in zip(
        decisions["partition"].tolist(),
        decisions["offset"].tolist(),
        decisions["arrival_ns"].tolist(),
        strict=True,
    ):
        sent = produced.get((p, o))
        if sent is None:
            unmatched += 1
        elif sent < measure_from:
            warm += 1
        else:
            latencies.append((at - sent) / 1e6)
            sent_times.append(sent)
    return np.array(latencies), np.array(sent_times, dtype=np.int64), unmatched, warm


def analyse(feed: Any, decisions: Any, expected: tuple[int, int] = (0, 0)) -> dict[str, Any]:
    values, sent_at, unmatched, warm = match(feed, decisions)
    measure_from = int(feed["measure_from_ns"])
    measured_ticks = int(np.count_nonzero(feed["produced_ns"] >= measure_from))
    span = (feed["produced_ns"].max() - measure_from) / 1e9 if len(values) else float("nan")

    second = (sent_at - measure_from) // 1_000_000_000
    early = second < EARLY_SECONDS
    # Decisions that never arrived count as later than any that did (censored: +inf).
    missing = max(expected[0] - len(values), 0)
    missing_early = max(expected[1] - int(early.sum()), 0)
    censored = np.concatenate([values, np.full(missing, np.inf)])
    censored_early = np.concatenate([values[early], np.full(missing_early, np.inf)])

    def pct(q: float, where: Any = None, chosen: Any = None) -> float:
        if chosen is None:
            chosen = values if where is None else values[where]
        if not len(chosen):
            return float("nan")
        return float(np.percentile(chosen, q, method="inverted_cdf"))

    timeline = [round(pct(99, second == k), 1) for k in range(int(second.max(initial=-1)) + 1)]

    acked = (feed["acked_ns"] - feed["produced_ns"]) / 1e6
    return {
        "ack_p50": float(np.percentile(acked, 50)),
        "ack_p99": float(np.percentile(acked, 99)),
        "ack_max": float(acked.max()),
        "decisions": len(values),
        "expected": expected[0],
        "missing": missing,
        "missing_early": missing_early,
        "warmup_decisions": warm,
        "unmatched": unmatched,
        "ticks": int(feed["ticks"]),
        "measured_ticks": measured_ticks,
        "tick_rate": measured_ticks / span if span else float("nan"),
        "decision_rate": len(values) / span if span else float("nan"),
        "feed_lag_p99_ms": float(feed["lag_p99_ms"]),
        "p50": pct(50, chosen=censored),
        "p90": pct(90, chosen=censored),
        "p99": pct(99, chosen=censored),
        "p999": pct(99.9, chosen=censored),
        "max": float(censored.max()) if len(censored) else float("nan"),
        "arrived_p99": pct(99),
        "arrived_max": float(values.max()) if len(values) else float("nan"),
        "early_p50": pct(50, chosen=censored_early),
        "early_p99": pct(99, chosen=censored_early),
        "early_max": float(values[early].max()) if early.any() else float("nan"),
        "p99_by_second": timeline,
        "mean": float(values.mean()) if len(values) else float("nan"),
    }

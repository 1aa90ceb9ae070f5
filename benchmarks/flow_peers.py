"""Benchmark: strikeflow against backtrader and backtesting.py on the same moving-average cross.

Run from the repository root (the peers are installed for this run only):

    UV_PYTHON_DOWNLOADS=never python3 -m uv run --with backtrader --with backtesting \\
        python benchmarks/flow_peers.py

The series: the first `--bars` ticks of one simulated AAPL session (the same as
benchmarks/flow_throughput.py), as bars of one tick each: open = high = low = close = mid.
The rule, for every engine: long 100 shares when SMA(50) of the mid crosses above SMA(200),
flat when it crosses below; a market order fills on the signal bar's close (backtesting.py
`trade_on_close=True`, backtrader `cheat_on_close`). Measured, median of `--runs` runs each,
interleaved, in one process:
- strikeflow end to end: `run_backtest` over a Parquet file of the ticks (reading it, the
  Bytewax flow with 1 worker, orchestrator, paper fills and accounting, every ClickHouse
  write, the run's metrics); its fills are read back from ClickHouse `paper_fills`;
- strikeflow's signal core alone: `flows.trading.strategies.strategy_step` over the mids in the
  flow's micro-batches (5,000 ticks), no execution;
- backtesting.py: `Backtest(...).run()` with `self.I(SMA)` (a pandas rolling mean) and
  `backtesting.lib.crossover`;
- backtrader: building Cerebro over `PandasDirectData` and `run()` with `bt.ind.SMA` and
  `bt.ind.CrossOver`, `stdstats=False`.
Then the round trips (entry bar, exit bar) of every engine are compared with strikeflow's.
"""

from __future__ import annotations

import argparse
import gc
import math
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from common import (
    FAST,
    SLOW,
    bench_settings,
    load_average,
    ma_config,
    machine_line,
    tick_series,
    write_parquet,
)
from peer_engines import (
    QUANTITY,
    Trips,
    backtesting_py,
    backtrader_run,
    bars_frame,
    pair,
)

from flows.runs.backtest import Source, run_backtest
from flows.trading.indicators import price_units
from flows.trading.strategies import new_strategy_state, strategy_step
from schemas.common import Direction
from schemas.config import MovingAverageCross
from schemas.settings import Settings
from sinks.clickhouse.client import connect

COMMAND = (
    "UV_PYTHON_DOWNLOADS=never python3 -m uv run --with backtrader --with backtesting "
    "python benchmarks/flow_peers.py"
)


@dataclass
class Engine:
    name: str
    what: str
    run: Callable[[], Trips]
    seconds: list[float] = field(default_factory=list)
    trips: Trips = field(default_factory=list)
    note: str = ""
    error: str = ""


def strikeflow_signals(ts: np.ndarray, mid: np.ndarray, chunk: int) -> Trips:
    config = MovingAverageCross(fast=FAST, slow=SLOW)
    state = new_strategy_state(config)
    entries, exits = [], []
    for start in range(0, len(mid), chunk):
        state, signals = strategy_step(
            config, state, ts[start : start + chunk], mid[start : start + chunk]
        )
        for signal in signals:
            (entries if signal.direction == Direction.LONG else exits).append(start + signal.index)
    return pair(entries, exits)


def strikeflow_fills(settings: Settings, run_id: str) -> tuple[Trips, list[tuple[Any, ...]]]:
    """Round trips from the run's fills: a fill's id ends in `:<partition>:<offset>:<leg>` and
    a file's offsets are its row numbers, i.e. the bar indices."""
    client = connect(settings.dsn, settings.clickhouse_database)
    try:
        rows = client.query(
            "SELECT fill_id, side, price, quantity, commission, slippage FROM paper_fills FINAL "
            "WHERE run_id = {run:String} ORDER BY ts, fill_id",
            parameters={"run": run_id},
        ).result_rows
    finally:
        client.close()
    entries, exits = [], []
    for fill_id, side, *_ in rows:
        _, _partition, offset, _leg = str(fill_id).rsplit(":", 3)
        (entries if side == "buy" else exits).append(int(offset))
    return pair(entries, exits), [tuple(row) for row in rows]


# --- the cross rules, exactly ---------------------------------------------------------------


def exact_relation(mid: np.ndarray) -> np.ndarray:
    """sign(SMA(fast) − SMA(slow)) at every bar, exactly (int64 window sums, as strikeflow)."""
    units = price_units(mid).astype(np.int64)
    sums = np.concatenate([[0], np.cumsum(units)])
    relation = np.zeros(len(mid), dtype=np.int64)
    at = np.arange(SLOW - 1, len(mid))
    fast = sums[at + 1] - sums[at + 1 - FAST]
    slow = sums[at + 1] - sums[at + 1 - SLOW]
    relation[at] = np.sign(fast * SLOW - slow * FAST)
    return relation


def explain(trips: Trips, reference: Trips, relation: np.ndarray) -> tuple[int, int, int]:
    """(round trips equal to one of strikeflow's; round trips in only one of the two lists;
    of those, how many have an exact tie of the two averages, fast SMA == slow SMA, at their
    entry or exit bar or the bar before it, where float arithmetic and the engines' cross
    rules can disagree)."""
    mine, ours = set(trips), set(reference)
    matched = len(ours & mine)
    unmatched = ours ^ mine

    def tied(bar: int | None) -> bool:
        return bar is not None and (relation[bar] == 0 or (bar > 0 and relation[bar - 1] == 0))

    near_tie = sum(1 for entry, exit_ in unmatched if tied(entry) or tied(exit_))
    return matched, len(unmatched), near_tie


def rule_trips(relation: np.ndarray, rule: str) -> Trips:
    """The position machine driven by a peer's cross rule, on the exact SMA relation:
    'strict' (backtesting.py's crossover: below at the previous bar, above now) or 'nonzero'
    (backtrader's CrossOver: the last non-zero difference before this bar was below)."""
    entries: list[int] = []
    exits: list[int] = []
    long = False
    previous = int(relation[SLOW - 1])  # the first bar with both averages
    last_nonzero = previous
    for bar in range(SLOW, len(relation)):
        now = int(relation[bar])
        before = previous if rule == "strict" else last_nonzero
        if now > 0 and before < 0 and not long:
            entries.append(bar)
            long = True
        elif now < 0 and before > 0 and long:
            exits.append(bar)
            long = False
        previous = now
        if now != 0:
            last_nonzero = now
    return pair(entries, exits)


def round_trip_pnl(trips: Trips, buy: np.ndarray, sell: np.ndarray) -> float:
    return float(
        sum((sell[exit_] - buy[entry]) * QUANTITY for entry, exit_ in trips if exit_ is not None)
    )


def peer_engines(frame: pd.DataFrame) -> tuple[list[Engine], list[str]]:
    """backtesting.py and backtrader, where installed (an engine with an error otherwise)."""
    engines: list[Engine] = []
    versions: list[str] = []
    try:
        import backtesting

        what = "Backtest(trade_on_close=True).run(), pandas rolling SMA, lib.crossover"
        engines.append(Engine("backtesting.py", what, backtesting_py(frame)))
        versions.append(f"backtesting {backtesting.__version__}")
    except ImportError as error:
        engines.append(Engine("backtesting.py", "", list, error=f"not installed ({error})"))
    try:
        import backtrader

        what = "Cerebro(stdstats=False), PandasDirectData, coc, bt.ind.SMA + CrossOver"
        engines.append(Engine("backtrader", what, backtrader_run(frame)))
        versions.append(f"backtrader {backtrader.__version__}")
    except ImportError as error:
        engines.append(Engine("backtrader", "", list, error=f"not installed ({error})"))
    return engines, versions


def time_engines(engines: list[Engine], runs: int) -> None:
    """Warm every engine up (keeping its trades), then time them interleaved."""
    for engine in engines:
        if not engine.error:
            trips = engine.run()
            if trips:
                engine.trips = trips
    for _ in range(runs):
        for engine in engines:
            if engine.error:
                continue
            gc.collect()
            start = time.perf_counter()
            engine.run()
            engine.seconds.append(time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    load_before = load_average()
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    ticks = tick_series(args.bars)
    mid = (ticks.bid + ticks.ask) * 0.5

    with bench_settings("strikeflow-bench-peers-") as settings:
        file = Path(settings.data_dir) / "ticks.parquet"
        write_parquet(ticks, file)
        config = ma_config(["AAPL"])
        run_ids: list[str] = []

        def strikeflow_e2e() -> Trips:
            run_ids.append(f"bench-peers-{len(run_ids) + 1}")
            run_backtest(settings, [config], Source(file=file), run_id=run_ids[-1], workers=1)
            return []

        e2e_what = "end to end: Parquet file -> Bytewax flow (1 worker) -> ClickHouse"
        signals_what = "signal core only: strategy_step over 5,000-tick batches (no execution)"
        peers, versions = peer_engines(bars_frame(ticks.ts, mid, ticks.volume))
        engines = [
            Engine("strikeflow", e2e_what, strikeflow_e2e),
            Engine(
                "strikeflow",
                signals_what,
                lambda: strikeflow_signals(ticks.ts, mid, settings.batch_size),
            ),
            *peers,
        ]
        time_engines(engines, args.runs)
        engines[0].trips, fills = strikeflow_fills(settings, run_ids[-1])
    load = (load_before, load_average())
    report_times(args, engines, versions, started, load)
    report_trades(engines, fills, exact_relation(mid), mid)
    report_costs(engines, fills, ticks.bid, ticks.ask, mid, args.bars)


def report_times(
    args: argparse.Namespace,
    engines: list[Engine],
    versions: list[str],
    started: str,
    load: tuple[float, float],
) -> None:
    n = args.bars
    print("## Peers: backtrader and backtesting.py\n")
    print("Command (from the repository root):\n")
    print(f"```\n{COMMAND}\n```\n")
    print(
        f"Machine: {machine_line()}; {', '.join(versions) or 'no peers installed'}. Run started "
        f"{started}; 1-minute load average {load[0]:.2f} before and {load[1]:.2f} after "
        f"(2 cores, shared). Medians of {args.runs} runs after a warm-up run, engines "
        "interleaved, one process, one thread each (strikeflow's Bytewax run: 1 worker).\n"
    )
    print(
        f"Series: the first {n:,} ticks of one simulated AAPL session (as in the flow "
        "throughput benchmark), one bar per tick with open = high = low = close = mid. Rule: "
        f"long {QUANTITY} shares when SMA({FAST}) crosses above SMA({SLOW}), flat when it "
        "crosses below, market orders filled on the signal bar's close. The peers start from "
        "an in-memory DataFrame (not timed: building it); strikeflow starts from the Parquet "
        "file and writes every table to ClickHouse (market_ticks, option_greeks, signals, "
        "decisions, fills, snapshots, ...), as a backtest does.\n"
    )
    base = statistics.median(engines[0].seconds)
    print(
        "| engine | what is timed | bars | median time | bars/s (median) | bars/s (best) "
        "| time / strikeflow end-to-end time (medians) | round trips |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for engine in engines:
        if engine.error:
            print(f"| {engine.name} | {engine.error} | | | | | | |")
            continue
        seconds = statistics.median(engine.seconds)
        print(
            f"| {engine.name} | {engine.what} | {n:,} | {seconds:.2f} s | {n / seconds:,.0f} "
            f"| {n / min(engine.seconds):,.0f} | {seconds / base:.3g}× "
            f"| {len(engine.trips):,} |"
        )


def report_trades(
    engines: list[Engine], fills: list[tuple[Any, ...]], relation: np.ndarray, mid: np.ndarray
) -> None:
    reference = engines[1].trips  # strikeflow's signals
    print(
        "\nTrades compared with strikeflow's signals (`strategy_step` on the same mids; a round "
        "trip matches when its entry bar and its exit bar are both equal):\n"
    )
    print(
        "| engine | round trips | equal to strikeflow's | in only one of the two "
        "| … of which at an exact SMA tie | equal to its rule on exact SMAs "
        "| PnL over closed round trips |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    rules = {"backtesting.py": "strict", "backtrader": "nonzero"}
    rows: list[tuple[str, Trips, str, Trips | None]] = [
        ("strikeflow signals (strategy_step)", reference, "mid", None),
        ("strikeflow fills (ClickHouse paper_fills)", engines[0].trips, "fills", reference),
    ]
    for engine in engines[2:]:
        if engine.error:
            continue
        emulated = rule_trips(relation, rules[engine.name])
        rows.append((engine.name, engine.trips, "mid", emulated))
        rows.append((f"… {engine.name}'s cross rule on the exact SMAs", emulated, "mid", None))
    for name, trips, basis, own_rule in rows:
        matched, unmatched, near_tie = explain(trips, reference, relation)
        versus_rule = ""
        if own_rule is not None:
            same, _, _ = explain(trips, own_rule, relation)
            versus_rule = f"{same:,} of {len(own_rule):,}"
        pnl_text = (
            f"{round_trip_pnl(trips, mid, mid):,.2f} (at the mid, no costs)"
            if basis == "mid"
            else fills_pnl_text(fills)
        )
        print(
            f"| {name} | {len(trips):,} | {matched:,} | {unmatched:,} | {near_tie:,} "
            f"| {versus_rule} | {pnl_text} |"
        )
    ties = int(np.count_nonzero(relation[SLOW - 1 :] == 0))
    print(
        f"\nExact ties (fast SMA == slow SMA, compared in integers as strikeflow does) occur at "
        f"{ties:,} of the {len(relation) - SLOW + 1:,} bars with both averages. At a tie the "
        "rules differ: strikeflow goes long when the relation was ≤ 0 at the previous bar and is "
        "> 0 now (a cross through a tie counts); backtesting.py's crossover needs < 0 then > 0 "
        "(a cross through a tie is missed); backtrader's CrossOver compares with the last "
        "non-zero difference (like strikeflow, except after a tie on the first bar). On top, "
        "both peers compute the averages in floats (pandas rolling mean; backtrader's "
        "math.fsum / period), where an exact tie comes out as a difference of ~1e-14 of either "
        "sign."
    )


def fills_pnl_text(fills: list[tuple[Any, ...]]) -> str:
    """PnL of the closed round trips at strikeflow's fill prices, before and after commissions."""
    prices: dict[str, list[float]] = {"buy": [], "sell": []}
    for _, side, price, *_ in fills:
        prices[str(side)].append(float(price))
    closed = min(len(prices["buy"]), len(prices["sell"]))
    pnl = (sum(prices["sell"][:closed]) - sum(prices["buy"][:closed])) * QUANTITY
    commissions = sum(float(row[4]) for row in fills)
    return (
        f"{pnl:,.2f} at the fill prices, {pnl - commissions:,.2f} after "
        f"{commissions:,.2f} commissions"
    )


def report_costs(
    engines: list[Engine],
    fills: list[tuple[Any, ...]],
    bid: np.ndarray,
    ask: np.ndarray,
    mid: np.ndarray,
    n: int,
) -> None:
    e2e = engines[0]
    closed_ref = [t for t in engines[1].trips if t[1] is not None]
    spread_cost = sum((ask[a] - mid[a] + mid[b] - bid[b]) * QUANTITY for a, b in closed_ref if b)
    closed_fills = 2 * len([t for t in e2e.trips if t[1] is not None])
    slippage = sum(float(row[5]) for row in fills[:closed_fills])
    print(
        "\nstrikeflow buys at the ask and sells at the bid, plus 1 bp slippage and a $1 minimum "
        "commission per fill (the default costs); the peers trade at the close (= mid) without "
        f"costs. Over strikeflow's {len(closed_ref):,} closed round trips the half-spreads cost "
        f"{spread_cost:,.2f} and the slippage {slippage:,.2f}: PnL at the mid − half-spreads − "
        f"slippage = {round_trip_pnl(closed_ref, mid, mid) - spread_cost - slippage:,.2f}, "
        "which is the PnL at strikeflow's fill prices above when the round trips match."
    )
    base = statistics.median(e2e.seconds)
    if math.isfinite(base):
        print(
            f"\nstrikeflow end to end: {n / base:,.0f} bars/s median over {len(e2e.seconds)} runs."
        )


if __name__ == "__main__":
    main()

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
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from flow_throughput import (
    FAST,
    SLOW,
    bench_settings,
    load_average,
    ma_config,
    machine_line,
    tick_series,
    write_parquet,
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
QUANTITY = 100
Trips = list[tuple[int, int | None]]  # (entry bar, exit bar or None while open)


@dataclass
class Engine:
    name: str
    what: str
    run: Callable[[], Trips]
    seconds: list[float] = field(default_factory=list)
    trips: Trips = field(default_factory=list)
    note: str = ""
    error: str = ""


def pair(entries: Sequence[int], exits: Sequence[int]) -> Trips:
    """Alternating entries and exits as round trips."""
    trips: Trips = []
    for k, entry in enumerate(entries):
        trips.append((entry, exits[k] if k < len(exits) else None))
    return trips


# --- strikeflow ---------------------------------------------------------------------------------


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


# --- the peers ----------------------------------------------------------------------------------


def bars_frame(ts: np.ndarray, mid: np.ndarray, volume: np.ndarray) -> pd.DataFrame:
    """One bar per tick. Ticks sharing a millisecond get microsecond offsets so that the
    index is unique and increasing (backtrader keeps microseconds, not nanoseconds)."""
    firsts = np.r_[0, np.flatnonzero(np.diff(ts)) + 1]
    group_start = np.repeat(firsts, np.diff(np.r_[firsts, len(ts)]))
    rank = np.arange(len(ts)) - group_start
    if rank.max(initial=0) >= 1000:
        raise RuntimeError("more than 1,000 ticks in one millisecond")
    index = pd.DatetimeIndex(((ts * 1000 + rank) * 1000).astype("datetime64[ns]"))
    return pd.DataFrame(
        {
            "Open": mid,
            "High": mid,
            "Low": mid,
            "Close": mid,
            "Volume": volume.astype(float),
        },
        index=index,
    )


def backtesting_py(frame: pd.DataFrame) -> Callable[[], Trips]:
    from backtesting import Backtest, Strategy
    from backtesting.lib import crossover

    def sma(values: Any, n: int) -> np.ndarray:
        return np.asarray(pd.Series(values).rolling(n).mean())

    class MaCross(Strategy):  # type: ignore[misc]
        def init(self) -> None:
            self.fast = self.I(sma, self.data.Close, FAST)
            self.slow = self.I(sma, self.data.Close, SLOW)

        def next(self) -> None:
            if crossover(self.fast, self.slow):
                if not self.position:
                    self.buy(size=QUANTITY)
            elif crossover(self.slow, self.fast) and self.position:
                self.position.close()

    def run() -> Trips:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            test = Backtest(
                frame,
                MaCross,
                cash=1e9,
                commission=0.0,
                trade_on_close=True,
                finalize_trades=False,
            )
            stats = test.run()
        trades = stats._trades
        trips: Trips = [
            (int(entry), int(exit_))
            for entry, exit_ in zip(trades["EntryBar"], trades["ExitBar"], strict=True)
        ]
        open_trades = getattr(stats._strategy, "trades", ())
        trips.extend((int(t.entry_bar), None) for t in open_trades)
        return sorted(trips)

    return run


def backtrader_run(frame: pd.DataFrame) -> Callable[[], Trips]:
    import backtrader as bt

    data = frame.rename(columns=str.lower).assign(openinterest=0.0)
    executed: list[tuple[bool, float]] = []

    class MaCross(bt.Strategy):  # type: ignore[misc]
        def __init__(self) -> None:
            fast = bt.ind.SMA(self.data.close, period=FAST)
            slow = bt.ind.SMA(self.data.close, period=SLOW)
            self.cross = bt.ind.CrossOver(fast, slow)
            self.entries: list[int] = []
            self.exits: list[int] = []

        def next(self) -> None:
            if self.cross[0] > 0 and not self.position:
                self.buy(size=QUANTITY)
                self.entries.append(len(self) - 1)
            elif self.cross[0] < 0 and self.position:
                self.close()
                self.exits.append(len(self) - 1)

        def notify_order(self, order: Any) -> None:
            if order.status == order.Completed:
                executed.append((order.isbuy(), order.executed.price))

    def run() -> Trips:
        cerebro = bt.Cerebro(stdstats=False)
        cerebro.adddata(bt.feeds.PandasDirectData(dataname=data))
        cerebro.addstrategy(MaCross)
        cerebro.broker.setcash(1e9)
        cerebro.broker.set_coc(True)
        executed.clear()
        strategy = cerebro.run()[0]
        # cheat-on-close: every order fills at the close of the bar that placed it.
        bars = sorted([*strategy.entries, *strategy.exits])
        closes = data["close"].to_numpy()
        wrong = [
            (b, price, closes[b])
            for b, (_, price) in zip(bars, executed, strict=True)
            if abs(price - closes[b]) > 1e-9
        ]
        if wrong:
            raise RuntimeError(f"backtrader did not fill at the signal bar's close: {wrong[:3]}")
        return pair(strategy.entries, strategy.exits)

    return run


# --- comparing ----------------------------------------------------------------------------------


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    load_before = load_average()
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    ticks = tick_series(args.bars)
    mid = (ticks.bid + ticks.ask) * 0.5
    frame = bars_frame(ticks.ts, mid, ticks.volume)
    relation = exact_relation(mid)

    with bench_settings("strikeflow-bench-peers-") as settings:
        file = Path(settings.data_dir) / "ticks.parquet"
        write_parquet(ticks, file)
        config = ma_config(["AAPL"])
        run_number = [0]
        last_run: list[str] = []

        def strikeflow_e2e() -> Trips:
            run_number[0] += 1
            run_id = f"bench-peers-{run_number[0]}"
            run_backtest(settings, [config], Source(file=file), run_id=run_id, workers=1)
            last_run[:] = [run_id]
            return []

        engines = [
            Engine(
                "strikeflow",
                "end to end: Parquet file -> Bytewax flow (1 worker) -> ClickHouse",
                strikeflow_e2e,
            ),
            Engine(
                "strikeflow",
                "signal core only: strategy_step over 5,000-tick batches (no execution)",
                lambda: strikeflow_signals(ticks.ts, mid, settings.batch_size),
            ),
        ]
        versions: list[str] = []
        try:
            import backtesting

            engines.append(
                Engine(
                    "backtesting.py",
                    "Backtest(trade_on_close=True).run(), pandas rolling SMA, lib.crossover",
                    backtesting_py(frame),
                )
            )
            versions.append(f"backtesting {backtesting.__version__}")
        except ImportError as error:
            engines.append(Engine("backtesting.py", "", list, error=f"not installed ({error})"))
        try:
            import backtrader

            bt_run = backtrader_run(frame)
            engines.append(
                Engine(
                    "backtrader",
                    "Cerebro(stdstats=False), PandasDirectData, coc, bt.ind.SMA + CrossOver",
                    bt_run,
                )
            )
            versions.append(f"backtrader {backtrader.__version__}")
        except ImportError as error:
            engines.append(Engine("backtrader", "", list, error=f"not installed ({error})"))

        strikeflow_e2e()  # warm-up: imports, migrations, chdb
        for engine in engines[1:]:
            if not engine.error:
                engine.trips = engine.run()  # warm-up and the trades
        for _ in range(args.runs):
            for engine in engines:
                if engine.error:
                    continue
                gc.collect()
                start = time.perf_counter()
                engine.run()
                engine.seconds.append(time.perf_counter() - start)
        fill_trips, fills = strikeflow_fills(settings, last_run[0])
        engines[0].trips = fill_trips
    load_after = load_average()

    reference = engines[1].trips  # strikeflow's signals
    e2e = engines[0]
    n = args.bars
    print("## Peers: backtrader and backtesting.py\n")
    print("Command (from the repository root):\n")
    print(f"```\n{COMMAND}\n```\n")
    print(
        f"Machine: {machine_line()}; {', '.join(versions) or 'no peers installed'}. Run started "
        f"{started}; 1-minute load average {load_before:.2f} before and {load_after:.2f} after "
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
    base = statistics.median(e2e.seconds)
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
        ratio = seconds / base
        print(
            f"| {engine.name} | {engine.what} | {n:,} | {seconds:.2f} s | {n / seconds:,.0f} "
            f"| {n / min(engine.seconds):,.0f} | {ratio:.3g}× "
            f"| {len(engine.trips):,} |"
        )

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
        ("strikeflow fills (ClickHouse paper_fills)", e2e.trips, "fills", reference),
    ]
    for engine in engines[2:]:
        if engine.error:
            continue
        emulated = rule_trips(relation, rules[engine.name])
        rows.append((engine.name, engine.trips, "mid", emulated))
        rows.append((f"… {engine.name}'s cross rule on the exact SMAs", emulated, "mid", None))
    fill_prices: dict[str, list[float]] = {"buy": [], "sell": []}
    for _, side, price, *_ in fills:
        fill_prices[str(side)].append(float(price))
    for name, trips, basis, own_rule in rows:
        matched, unmatched, near_tie = explain(trips, reference, relation)
        if own_rule is None:
            versus_rule = ""
        else:
            same, _, _ = explain(trips, own_rule, relation)
            versus_rule = f"{same:,} of {len(own_rule):,}"
        if basis == "mid":
            pnl = round_trip_pnl(trips, mid, mid)
            pnl_text = f"{pnl:,.2f} (at the mid, no costs)"
        else:
            buys, sells = fill_prices["buy"], fill_prices["sell"]
            closed = min(len(buys), len(sells))
            pnl = sum(sells[:closed]) * QUANTITY - sum(buys[:closed]) * QUANTITY
            commissions = sum(float(row[4]) for row in fills)
            pnl_text = (
                f"{pnl:,.2f} at the fill prices, {pnl - commissions:,.2f} after "
                f"{commissions:,.2f} commissions"
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
    closed_ref = [t for t in reference if t[1] is not None]
    spread_cost = sum(
        (ticks.ask[a] - mid[a] + mid[b] - ticks.bid[b]) * QUANTITY for a, b in closed_ref if b
    )
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
    if math.isfinite(base):
        print(
            f"\nstrikeflow end to end: {n / base:,.0f} bars/s median over {len(e2e.seconds)} runs."
        )


if __name__ == "__main__":
    main()

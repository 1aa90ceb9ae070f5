"""The peers the flow benchmarks compare with, each on the same bars: backtesting.py and
backtrader (installed for the benchmarks only: `uv run --with backtesting --with backtrader`)."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from common import FAST, SLOW

QUANTITY = 100
Trips = list[tuple[int, int | None]]  # (entry bar, exit bar or None while open)


def pair(entries: Sequence[int], exits: Sequence[int]) -> Trips:
    """Alternating entries and exits as round trips."""
    trips: Trips = []
    for k, entry in enumerate(entries):
        trips.append((entry, exits[k] if k < len(exits) else None))
    return trips


# --- strikeflow ---------------------------------------------------------------------------------


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

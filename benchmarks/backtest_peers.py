"""Benchmark: a signal-dense backtest against backtesting.py, backtrader and vectorbt.

Run from the repository root (the peers are the `bench` dependency group):

    UV_PYTHON_DOWNLOADS=never python3 -m uv sync --frozen --group bench
    .venv/bin/python benchmarks/backtest_peers.py

The series: 200,000 one-second bars of a seeded random walk (closes with 4 decimals), one
symbol. The rule, for every engine: SMA(10) and SMA(30) of the close, stop-and-reverse at 10
shares (long on a cross above, short on a cross below), a strict cross (strikeflow's
`cross: strict`, backtesting.py's `crossover`), market orders filled at the signal bar's close,
no commission, no slippage. Measured, medians of `--runs` runs, engines interleaved:
- in process: strikeflow's `run_backtest` over the CSV (reading it, the Bytewax flow with one
  worker, orchestrator, fills, accounting, every ClickHouse write, reading the results back;
  no report) against each peer's run over an in-memory DataFrame (not timed: reading the CSV);
- whole process, start to exit: `strikeflow backtest --file` (with its HTML and PNG report)
  against a Python process that imports backtesting.py, reads the CSV with pandas, runs and
  prints its stats;
- microseconds per decision-and-fill leg: (the in-process time of this strategy − that of the
  same run with a strategy that almost never signals) / the number of fill legs.
Trades are compared: the count of closed round trips and their total PnL, each trade's PnL
booked to the cent as strikeflow books it.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import subprocess
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml
from common import REPO, bench_settings, load_average, machine_line

from flows.runs.backtest import Source, run_backtest
from schemas.config import AlgorithmConfig, Costs, MovingAverageCross, RiskLimits, Sizing
from schemas.settings import Settings
from sinks.clickhouse.client import connect

FAST, SLOW, QUANTITY = 10, 30, 10
START_MS = 1_700_000_000_000
COMMAND = (
    "UV_PYTHON_DOWNLOADS=never python3 -m uv sync --frozen --group bench && "
    ".venv/bin/python benchmarks/backtest_peers.py"
)
Result = tuple[int, float]  # closed round trips, their total PnL


def cents(pnl: Any) -> float:
    """Total PnL of trades each booked to the cent, as strikeflow books a fill's PnL."""
    return round(sum(round(float(value), 2) for value in pnl), 2)


def write_series(path: Path, bars: int) -> pd.DataFrame:
    rng = np.random.default_rng(20261202)
    close = np.round(100 + np.cumsum(rng.normal(0, 0.05, bars)), 4)
    close = np.maximum(close, 1.0)
    ts = START_MS + 1000 * np.arange(bars, dtype=np.int64)
    pd.DataFrame({"timestamp": ts, "symbol": "RW", "close": close}).to_csv(path, index=False)
    index = pd.DatetimeIndex(ts.astype("datetime64[ms]"))
    return pd.DataFrame(
        {"Open": close, "High": close, "Low": close, "Close": close, "Volume": 1.0}, index=index
    )


def sar_config(fast: int = FAST, slow: int = SLOW) -> AlgorithmConfig:
    return AlgorithmConfig(
        account_id="sar",
        symbols=["RW"],
        strategy=MovingAverageCross(fast=fast, slow=slow, allow_short=True, cross="strict"),
        sizing=Sizing(quantity=QUANTITY),
        costs=Costs(commission_per_share=0, min_commission=0, slippage_bps=0),
        limits=RiskLimits(trading_hours=None),
        starting_cash=1e9,
    )


def strikeflow_run(settings: Settings, file: Path, config: AlgorithmConfig) -> Callable[[], Any]:
    number = [0]

    def run() -> Result:
        number[0] += 1
        result = run_backtest(
            settings, [config], Source(file=file), run_id=f"peers-{config.account_id}-{number[0]}"
        )
        trades = result.accounts[0].trades
        return len(trades), round(sum(t.pnl for t in trades), 2)

    return run


def legs(settings: Settings, run_id: str) -> int:
    client = connect(settings.dsn, settings.clickhouse_database)
    try:
        return int(
            client.command(f"SELECT count() FROM paper_fills FINAL WHERE run_id = '{run_id}'")
        )
    finally:
        client.close()


def backtesting_py(frame: pd.DataFrame) -> Callable[[], Result]:
    from backtesting import Backtest, Strategy
    from backtesting.lib import crossover

    def sma(values: Any, n: int) -> np.ndarray:
        return np.asarray(pd.Series(values).rolling(n).mean())

    class Sar(Strategy):  # type: ignore[misc]
        def init(self) -> None:
            self.fast = self.I(sma, self.data.Close, FAST)
            self.slow = self.I(sma, self.data.Close, SLOW)

        def next(self) -> None:
            if crossover(self.fast, self.slow):
                self.position.close()
                self.buy(size=QUANTITY)
            elif crossover(self.slow, self.fast):
                self.position.close()
                self.sell(size=QUANTITY)

    def run() -> Result:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            stats = Backtest(
                frame, Sar, cash=1e9, commission=0.0, trade_on_close=True, finalize_trades=False
            ).run()
        trades = stats._trades
        return len(trades), cents(trades["PnL"])

    return run


def backtrader_run(frame: pd.DataFrame) -> Callable[[], Result]:
    import backtrader as bt

    data = frame.rename(columns=str.lower).assign(openinterest=0.0)

    class Sar(bt.Strategy):  # type: ignore[misc]
        def __init__(self) -> None:
            fast = bt.ind.SMA(self.data.close, period=FAST)
            slow = bt.ind.SMA(self.data.close, period=SLOW)
            self.fast, self.slow = fast, slow
            self.pnl: list[float] = []

        def next(self) -> None:
            # A strict cross on consecutive bars, as backtesting.py's crossover.
            if self.fast[-1] < self.slow[-1] and self.fast[0] > self.slow[0]:
                self.order_target_size(target=QUANTITY)
            elif self.fast[-1] > self.slow[-1] and self.fast[0] < self.slow[0]:
                self.order_target_size(target=-QUANTITY)

        def notify_trade(self, trade: Any) -> None:
            if trade.isclosed:
                self.pnl.append(trade.pnl)

    def run() -> Result:
        cerebro = bt.Cerebro(stdstats=False)
        cerebro.adddata(bt.feeds.PandasDirectData(dataname=data))
        cerebro.addstrategy(Sar)
        cerebro.broker.setcash(1e9)
        cerebro.broker.set_coc(True)
        strategy = cerebro.run()[0]
        return len(strategy.pnl), cents(strategy.pnl)

    return run


def vectorbt_run(frame: pd.DataFrame) -> Callable[[], Result]:
    import vectorbt as vbt

    def run() -> Result:
        close = frame["Close"]
        fast, slow = close.rolling(FAST).mean(), close.rolling(SLOW).mean()
        above = (fast.shift(1) < slow.shift(1)) & (fast > slow)
        below = (fast.shift(1) > slow.shift(1)) & (fast < slow)
        portfolio = vbt.Portfolio.from_signals(
            close,
            entries=above,
            short_entries=below,
            size=QUANTITY,
            init_cash=1e9,
            fees=0.0,
            freq="1s",
        )
        closed = portfolio.trades.closed
        return int(closed.count()), cents(closed.pnl.values)

    return run


PEER_PROCESS = """
import sys, warnings
import numpy as np, pandas as pd
from backtesting import Backtest, Strategy
from backtesting.lib import crossover
frame = pd.read_csv(sys.argv[1])
frame.index = pd.to_datetime(frame.pop("timestamp"), unit="ms")
frame = frame.rename(columns={"close": "Close"})
for name in ("Open", "High", "Low"):
    frame[name] = frame["Close"]
def sma(values, n):
    return np.asarray(pd.Series(values).rolling(n).mean())
class Sar(Strategy):
    def init(self):
        self.fast = self.I(sma, self.data.Close, 10)
        self.slow = self.I(sma, self.data.Close, 30)
    def next(self):
        if crossover(self.fast, self.slow):
            self.position.close(); self.buy(size=10)
        elif crossover(self.slow, self.fast):
            self.position.close(); self.sell(size=10)
warnings.simplefilter("ignore")
print(Backtest(frame, Sar, cash=1e9, commission=0.0, trade_on_close=True,
               finalize_trades=False).run())
"""


def whole_processes(file: Path, config_path: Path, data_dir: Path) -> dict[str, Callable[[], Any]]:
    python = sys.executable

    def strikeflow() -> None:
        args = [python, "-m", "api", "backtest", "--config", str(config_path), "--file", str(file)]
        env = {"STRIKEFLOW_DATA_DIR": str(data_dir), "PATH": "/usr/bin:/bin"}
        subprocess.run(args, env=env, cwd=REPO, check=True, capture_output=True)

    def backtesting() -> None:
        subprocess.run([python, "-c", PEER_PROCESS, str(file)], check=True, capture_output=True)

    return {"strikeflow backtest --file": strikeflow, "python + backtesting.py": backtesting}


def timed(runs: int, engines: dict[str, Callable[[], Any]]) -> dict[str, list[float]]:
    seconds: dict[str, list[float]] = {name: [] for name in engines}
    for _ in range(runs):
        for name, run in engines.items():
            gc.collect()
            start = time.perf_counter()
            run()
            seconds[name].append(time.perf_counter() - start)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    load_before = load_average()
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    with bench_settings("strikeflow-bench-backtest-peers-") as settings:
        root = Path(settings.data_dir)
        file = root / "rw.csv"
        frame = write_series(file, args.bars)
        config = sar_config()
        quiet = sar_config(fast=SLOW * 300 - 1, slow=SLOW * 300).model_copy(
            update={"account_id": "quiet"}
        )
        engines: dict[str, Callable[[], Any]] = {
            "strikeflow": strikeflow_run(settings, file, config),
            "strikeflow, almost no signals": strikeflow_run(settings, file, quiet),
            "backtesting.py": backtesting_py(frame),
            "backtrader": backtrader_run(frame),
            "vectorbt": vectorbt_run(frame),
        }
        trades = {name: run() for name, run in engines.items()}  # warm-up, and the trades
        seconds = timed(args.runs, engines)
        fill_legs = legs(settings, f"peers-sar-{args.runs + 1}")
        config_path = root / "sar.yaml"
        config_path.write_text(yaml.safe_dump(config.model_dump(mode="json")))
        processes = whole_processes(file, config_path, root / "cli")
        process_seconds = timed(args.runs, processes)
    report(args, started, load_before, trades, seconds, fill_legs, process_seconds)


def report(
    args: argparse.Namespace,
    started: str,
    load_before: float,
    trades: dict[str, Result],
    seconds: dict[str, list[float]],
    fill_legs: int,
    process_seconds: dict[str, list[float]],
) -> None:
    median = {name: statistics.median(values) for name, values in seconds.items()}
    print("## Backtest peers: a signal-dense strategy on 200,000 bars\n")
    print(f"```\n{COMMAND}\n```\n")
    print(
        f"Machine: {machine_line()}. Started {started}; 1-minute load {load_before:.2f} before, "
        f"{load_average():.2f} after (2 cores, shared: absolute times are noisy, ratios are "
        f"from the same run). Medians of {args.runs} runs after a warm-up, interleaved.\n"
    )
    print("| engine | median s | bars/s | strikeflow / engine speed | round trips | PnL |")
    print("|---|---:|---:|---:|---:|---:|")
    base = median["strikeflow"]
    for name, value in median.items():
        count, pnl = trades[name]
        print(
            f"| {name} | {value:.2f} | {args.bars / value:,.0f} | {value / base:.2f}x "
            f"| {count:,} | {pnl:,.2f} |"
        )
    per_leg = (base - median["strikeflow, almost no signals"]) / max(fill_legs, 1) * 1e6
    print(
        f"\nFill legs of the strikeflow run: {fill_legs:,}; per decision-and-fill leg: "
        f"{per_leg:.1f} µs.\n"
    )
    print("| whole process, start to exit | median s | ratio to strikeflow |")
    print("|---|---:|---:|")
    process_median = {name: statistics.median(v) for name, v in process_seconds.items()}
    first = process_median["strikeflow backtest --file"]
    for name, value in process_median.items():
        print(f"| {name} | {value:.2f} | {value / first:.2f}x |")


if __name__ == "__main__":
    main()

"""`--fill next-open`, worked by hand: ten daily bars whose opens differ from their closes, a
1/3 moving-average cross that stops and reverses, and zero costs, replayed through the file
reader, the market stage, the merge and the account (the flow's pure steps, without Bytewax)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from flows.accounts.state import AccountParams, Outputs
from flows.sources.file import FILE_CHANNEL, open_tick_file
from flows.sources.tick_file import FileFormat
from flows.stages.market import MarketParams, market_step
from flows.stages.shard import finished, new_shard, on_market
from schemas.common import BarFill, Direction, OrderStatus, Side
from schemas.config import AlgorithmConfig, Costs, MovingAverageCross, Sizing

# Date, Open, Close. SMA(1) is the close; SMA(3) the mean of the last three closes.
BARS = [
    ("2024-01-02", 9.9, 10.0),
    ("2024-01-03", 10.1, 10.0),
    ("2024-01-04", 9.8, 10.0),  # SMA3 10: the first warm bar, close = SMA3 (a tie)
    ("2024-01-05", 11.5, 12.0),  # 12 > 10.67: cross up -> long
    ("2024-01-08", 12.4, 13.0),  # 13 > 11.67
    ("2024-01-09", 10.2, 9.0),  # 9 < 11.33: cross down -> short (sell 10 to close, 10 to open)
    ("2024-01-10", 8.6, 8.0),  # 8 < 10
    ("2024-01-11", 9.0, 12.0),  # 12 > 9.67: cross up -> long (buy 10 to cover, 10 to open)
    ("2024-01-12", 11.7, 13.0),  # 13 > 11
    ("2024-01-16", 12.9, 9.0),  # 9 < 11.33: cross down -> short, on the last bar: never fills
]
CONFIG = AlgorithmConfig(
    account_id="reverse",
    symbols=["SPY"],
    strategy=MovingAverageCross(fast=1, slow=3, allow_short=True),
    sizing=Sizing(quantity=10),
    costs=Costs(commission_per_share=0.0, min_commission=0.0, slippage_bps=0.0),
)


def ms(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp() * 1000)


def write_bars(path: Path) -> Path:
    lines = ["Date,Open,High,Low,Close,Volume"]
    lines += [f"{day},{o},{max(o, c) + 1},{min(o, c) - 1},{c},1000" for day, o, c in BARS]
    path.write_text("\n".join(lines) + "\n")
    return path


def replay(path: Path, fill: BarFill, chunk: int = 1000) -> Outputs:
    """The file through the market stage, the merge and the account, `chunk` rows a batch."""
    chunks = open_tick_file(path, FileFormat(symbol="SPY", fill=fill), None, None, 0, chunk, None)
    market = MarketParams(run_id="t", greeks_symbols=frozenset())
    params = AccountParams(run_id="t", fills_at_next_quote=fill == BarFill.NEXT_OPEN)
    channel, shard, out = None, new_shard([FILE_CHANNEL], [CONFIG]), Outputs()
    while not chunks.done:
        channel, output, _ = market_step(channel, chunks.read(), market)
        out.extend(on_market(shard, output.update, params))
    assert finished(shard)
    return out


def fills(out: Outputs) -> list[tuple[int, Side, int, float]]:
    return [(f.ts, f.side, f.quantity, f.price) for f in out.fills]


def test_each_decision_fills_at_the_next_bars_open(tmp_path: Path) -> None:
    out = replay(write_bars(tmp_path / "SPY.csv"), BarFill.NEXT_OPEN)
    open_at = {day: ms(f"{day}T14:30") for day, _, _ in BARS}  # 09:30 New York in January
    assert fills(out) == [
        (open_at["2024-01-08"], Side.BUY, 10, pytest.approx(12.4)),
        (open_at["2024-01-10"], Side.SELL, 10, pytest.approx(8.6)),
        (open_at["2024-01-10"], Side.SELL, 10, pytest.approx(8.6)),
        (open_at["2024-01-12"], Side.BUY, 10, pytest.approx(11.7)),
        (open_at["2024-01-12"], Side.BUY, 10, pytest.approx(11.7)),
    ]
    # Long 12.4 -> 8.6 and short 8.6 -> 11.7, 10 shares each: -38 and -31.
    assert sum(round(f.realised_pnl * 100) for f in out.fills) == -6900
    # The last bar's short (two legs) is decided and placed, and never fills: no next bar.
    last = ms("2024-01-16T21:00")
    placed = [e for e in out.order_events if e.ts == last]
    assert [e.status for e in placed] == [OrderStatus.NEW, OrderStatus.NEW]


def test_the_strategy_sees_only_closes(tmp_path: Path) -> None:
    """Same signals, at the same closes, as with close fills; only where they fill moves."""
    path = write_bars(tmp_path / "SPY.csv")
    at_open, at_close = replay(path, BarFill.NEXT_OPEN), replay(path, BarFill.CLOSE)
    closes = [ms(f"{day}T21:00") for day in ("2024-01-05", "2024-01-09", "2024-01-11")]
    expected = [
        (closes[0], Direction.LONG),
        (closes[1], Direction.SHORT),
        (closes[2], Direction.LONG),
        (ms("2024-01-16T21:00"), Direction.SHORT),
    ]
    assert [(s.ts, s.direction) for s in at_open.signals] == expected
    assert [(s.ts, s.direction) for s in at_close.signals] == expected
    assert [(f.ts, f.price) for f in at_close.fills][:3] == [
        (closes[0], pytest.approx(12.0)),
        (closes[1], pytest.approx(9.0)),
        (closes[1], pytest.approx(9.0)),
    ]


@pytest.mark.parametrize("chunk", [1, 2, 3, 7])
def test_the_fills_do_not_depend_on_where_the_file_is_cut(tmp_path: Path, chunk: int) -> None:
    path = write_bars(tmp_path / "SPY.csv")
    whole, cut = replay(path, BarFill.NEXT_OPEN), replay(path, BarFill.NEXT_OPEN, chunk)
    assert [f.model_dump() for f in cut.fills] == [f.model_dump() for f in whole.fills]
    assert [s.model_dump() for s in cut.snapshots] == [s.model_dump() for s in whole.snapshots]

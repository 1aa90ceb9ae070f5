"""Quoted sizes through the flow, worked by hand: a quote file with `BidSize`/`AskSize` columns
replayed through the file reader, the market stage, the merge and the account (the flow's pure
steps, without Bytewax), at batch sizes 1, 7 and 1000.

SPY: a 1/3 moving-average cross goes long 100 shares at 15:03, when only 30 are offered; the
order takes the 30, waits through a locked quote at 15:04 (bid = ask with sizes: a real quote
with no side to trade), and takes the other 70 at 15:05. QQQ: the same cross comes on a locked
quote, so its market order is rejected, saying why.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from flows.accounts.state import AccountParams, Outputs
from flows.sources.file import FILE_CHANNEL, open_tick_file
from flows.sources.tick_file import FileFormat
from flows.stages.market import MarketParams, market_step
from flows.stages.shard import finished, new_shard, on_market
from schemas.common import OrderStatus, TimeInForce
from schemas.config import AlgorithmConfig, Costs, MovingAverageCross, Sizing

# minute after 15:00 UTC on 2024-01-02 (10:00 New York), symbol, bid, ask, bid size, ask size
QUOTES = [
    (0, "SPY", 9.99, 10.01, 500, 500),
    (1, "SPY", 9.99, 10.01, 500, 500),
    (2, "SPY", 9.99, 10.01, 500, 500),  # SMA3 10 = the mid: warm, no cross yet
    (3, "SPY", 11.99, 12.01, 500, 30),  # mid 12 > 10.67: long 100, 30 offered at 12.01
    (4, "SPY", 12.00, 12.00, 400, 400),  # locked, with sizes: nothing fills
    (5, "SPY", 12.99, 13.01, 400, 90),  # 90 offered at 13.01: the other 70 fill
    (6, "SPY", 13.49, 13.51, 400, 400),
    (0, "QQQ", 9.99, 10.01, 500, 500),
    (1, "QQQ", 9.99, 10.01, 500, 500),
    (2, "QQQ", 9.99, 10.01, 500, 500),
    (3, "QQQ", 12.00, 12.00, 500, 500),  # the cross comes on a locked quote: rejected
    (4, "QQQ", 12.49, 12.51, 500, 500),
]
FREE = Costs(commission_per_share=0.0, min_commission=0.0, slippage_bps=0.0)


def account(name: str, symbol: str, tif: TimeInForce = TimeInForce.DAY) -> AlgorithmConfig:
    return AlgorithmConfig(
        account_id=name,
        symbols=[symbol],
        strategy=MovingAverageCross(fast=1, slow=3),
        sizing=Sizing(quantity=100),
        costs=FREE.model_copy(update={"time_in_force": tif}),
    )


CONFIGS = [account("spy", "SPY"), account("spy-ioc", "SPY", TimeInForce.IOC), account("qqq", "QQQ")]


def at(minute: int) -> int:
    return int(datetime(2024, 1, 2, 15, minute, tzinfo=UTC).timestamp() * 1000)


def write_quotes(path: Path) -> Path:
    lines = ["Timestamp,Symbol,Bid,Ask,Last,BidSize,AskSize"]
    for minute, symbol, bid, ask, bid_size, ask_size in QUOTES:
        when = datetime.fromtimestamp(at(minute) / 1000, UTC).isoformat()
        lines.append(f"{when},{symbol},{bid},{ask},{(bid + ask) / 2},{bid_size},{ask_size}")
    path.write_text("\n".join(lines) + "\n")
    return path


def replay(path: Path, chunk: int) -> Outputs:
    """The file through the market stage, the merge and the accounts, `chunk` rows a batch."""
    chunks = open_tick_file(path, FileFormat(), None, None, 0, chunk, None)
    market = MarketParams(run_id="t", greeks_symbols=frozenset())
    params = AccountParams(run_id="t")
    channel, shard, out = None, new_shard([FILE_CHANNEL], CONFIGS), Outputs()
    while not chunks.done:
        channel, output, _ = market_step(channel, chunks.read(), market)
        out.extend(on_market(shard, output.update, params))
    assert finished(shard)
    return out


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Outputs:
    return replay(write_quotes(tmp_path_factory.mktemp("sizes") / "quotes.csv"), 1000)


def test_a_market_order_fills_30_then_70_across_a_locked_quote(reference: Outputs) -> None:
    rows = [e for e in reference.order_events if e.account_id == "spy"]
    assert [(e.ts, e.status, e.filled_quantity) for e in rows] == [
        (at(3), OrderStatus.NEW, 0),
        (at(3), OrderStatus.PARTIALLY_FILLED, 30),
        (at(5), OrderStatus.FILLED, 100),
    ]
    assert rows[-1].avg_fill_price == pytest.approx((30 * 12.01 + 70 * 13.01) / 100)
    fills = [f for f in reference.fills if f.account_id == "spy"]
    assert [(f.ts, f.quantity, f.price) for f in fills] == [
        (at(3), 30, pytest.approx(12.01)),
        (at(5), 70, pytest.approx(13.01)),
    ]
    assert len({f.fill_id for f in fills}) == 2
    # each partial is booked: 100,000 - 30 x 12.01 - 70 x 13.01, and 100 shares held
    last = max((s for s in reference.states if s.account_id == "spy"), key=lambda s: s.version)
    assert round(last.cash * 100) == 9_872_900
    spy = [p for p in reference.snapshots if p.account_id == "spy" and p.instrument == "SPY"]
    assert spy[-1].quantity == 100


def test_ioc_takes_the_30_offered_and_cancels_the_rest(reference: Outputs) -> None:
    rows = [e for e in reference.order_events if e.account_id == "spy-ioc"]
    assert [(e.ts, e.status, e.filled_quantity) for e in rows] == [
        (at(3), OrderStatus.NEW, 0),
        (at(3), OrderStatus.PARTIALLY_FILLED, 30),
        (at(3), OrderStatus.CANCELLED, 30),
    ]
    assert "70" in rows[-1].reason
    assert [f.quantity for f in reference.fills if f.account_id == "spy-ioc"] == [30]


def test_a_market_order_on_a_locked_quote_with_sizes_is_rejected(reference: Outputs) -> None:
    rows = [e for e in reference.order_events if e.account_id == "qqq"]
    assert [(e.ts, e.status) for e in rows] == [
        (at(3), OrderStatus.NEW),
        (at(3), OrderStatus.REJECTED),
    ]
    assert "locked quote" in rows[-1].reason
    assert not [f for f in reference.fills if f.account_id == "qqq"]


@pytest.mark.parametrize("chunk", [1, 7])
def test_the_outputs_do_not_depend_on_where_the_file_is_cut(
    tmp_path: Path, reference: Outputs, chunk: int
) -> None:
    cut = replay(write_quotes(tmp_path / "quotes.csv"), chunk)
    for kind in ("signals", "decisions", "order_events", "fills", "snapshots", "states"):
        expected = sorted(r.model_dump_json() for r in getattr(reference, kind))
        assert sorted(r.model_dump_json() for r in getattr(cut, kind)) == expected, kind

"""Quoted sizes on `market.options` quotes: decoded (bad sizes are dead letters) and kept in
`option_greeks` with the chain each quote is priced into (NULL for a quote without sizes).

How the sizes act on orders is in tests/flows/accounts/test_option_sizes.py (by hand) and
tests/flows/stages/test_option_quotes.py (through the pipeline, at batch sizes 1, 7 and
1000)."""

from __future__ import annotations

from datetime import date

import numpy as np
import orjson

from flows.accounts.state import AccountParams
from flows.sources.decode import decode_option_quotes
from flows.sources.kafka import RawBatch
from flows.stages.rows import greeks_rows
from flows.stages.shard import ChainPricer, price_chains
from flows.trading.chain import ChainParams, occ_symbol
from flows.trading.ticks import NO_SIZE, Segment
from sinks.clickhouse.arrow import to_arrow
from tests.pipeline import OPTIONS

TS = 1_795_000_000_000  # 2026-11-18, a Wednesday
MODEL = ChainParams()


def test_option_quote_sizes_decode_and_bad_sizes_are_dead_letters() -> None:
    good = {
        "underlying": "AAPL",
        "ts": TS,
        "expiry": "2026-12-18",
        "strike": 150.0,
        "right": "put",
        "bid": 1.2,
        "ask": 1.3,
    }
    values = [
        orjson.dumps({**good, "bid_size": 4, "ask_size": 0}),
        orjson.dumps(good),  # no sizes: a price, as before
        orjson.dumps({**good, "bid_size": 4}),
        orjson.dumps({**good, "bid_size": -1, "ask_size": 3}),
        orjson.dumps({**good, "bid_size": 2, "ask_size": 1.5}),
        orjson.dumps({**good, "bid_size": "2", "ask_size": 3}),
        orjson.dumps({**good, "bid_size": 2, "ask_size": 10**12 + 1}),
    ]
    raw = RawBatch(
        OPTIONS,
        0,
        range(len(values)),
        keys=[b"AAPL"] * len(values),
        values=list(values),
        timestamps=[TS] * len(values),
    )
    decoded = decode_option_quotes(raw, MODEL)
    rows = decoded.ticks
    assert rows.offsets.tolist() == [0, 1]
    assert rows.bid_size is not None
    assert rows.ask_size is not None
    assert rows.bid_size.tolist() == [4, NO_SIZE]
    assert rows.ask_size.tolist() == [0, NO_SIZE]
    reasons = {letter.offset: letter.reason for letter in decoded.dead}
    assert set(reasons) == {2, 3, 4, 5, 6}
    assert "come together" in reasons[2]
    assert "bid_size" in reasons[3]
    assert "ask_size" in reasons[4]
    assert "bid_size" in reasons[5]
    assert "ask_size" in reasons[6]
    # a batch without sizes has no size columns at all (costs nothing)
    unsized = decode_option_quotes(
        RawBatch(OPTIONS, 0, range(1), keys=[b"AAPL"], values=[values[1]], timestamps=[TS]),
        MODEL,
    )
    assert unsized.ticks.bid_size is None


def contract(strike: float, is_call: bool) -> str:
    return occ_symbol("AAPL", date(2026, 12, 18), is_call, strike)


def test_a_quoted_chain_keeps_each_contracts_sizes_in_option_greeks() -> None:
    """Quotes arrive out of the chain's order (expiry, strike, call first); each row of the
    priced chain carries its own quote's sizes, and a quote without sizes writes NULL."""
    rows = [
        (TS, "AAPL", 189.9, 190.1, NO_SIZE, NO_SIZE),  # the spot
        (TS + 1, contract(195.0, True), 1.10, 1.20, 7, 3),
        (TS + 1, contract(185.0, False), 1.40, 1.50, 0, 12),
        (TS + 1, contract(185.0, True), 6.00, 6.20, NO_SIZE, NO_SIZE),
    ]
    symbols = tuple(dict.fromkeys(r[1] for r in rows))
    n = len(rows)
    seg = Segment(
        ts=np.array([r[0] for r in rows], dtype=np.int64),
        codes=np.array([symbols.index(r[1]) for r in rows], dtype=np.int32),
        symbols=symbols,
        bid=np.array([r[2] for r in rows]),
        ask=np.array([r[3] for r in rows]),
        last=np.array([(r[2] + r[3]) / 2 for r in rows]),
        volume=np.zeros(n, dtype=np.int64),
        partition=np.zeros(n, dtype=np.int32),
        offsets=np.arange(n, dtype=np.int64),
        bid_size=np.array([r[4] for r in rows], dtype=np.int64),
        ask_size=np.array([r[5] for r in rows], dtype=np.int64),
    )
    (sample,) = price_chains(ChainPricer(), seg, AccountParams(run_id="t"))
    assert sample.chain.contracts == (
        contract(185.0, True),
        contract(185.0, False),
        contract(195.0, True),
    )
    assert sample.bid_size is not None
    assert sample.ask_size is not None
    assert sample.bid_size.tolist() == [NO_SIZE, 0, 7]
    assert sample.ask_size.tolist() == [NO_SIZE, 12, 3]
    greeks = greeks_rows([sample], "t")
    assert greeks is not None
    table = to_arrow(greeks)
    assert table.column("bid_size").to_pylist() == [None, 0, 7]
    assert table.column("ask_size").to_pylist() == [None, 12, 3]
    # without sizes on the segment, the sample has none and the rows are NULL
    plain = Segment(
        **{name: getattr(seg, name) for name in ("ts", "codes", "symbols", "bid", "ask", "last")},
        volume=seg.volume,
        partition=seg.partition,
        offsets=seg.offsets,
    )
    (unsized,) = price_chains(ChainPricer(), plain, AccountParams(run_id="t"))
    assert unsized.bid_size is None
    unsized_rows = greeks_rows([unsized], "t")
    assert unsized_rows is not None
    assert to_arrow(unsized_rows).column("ask_size").to_pylist() == [None] * 3

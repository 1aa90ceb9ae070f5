"""Option quotes fed on `market.options`: decoded, merged with the ticks, traded, marked and
priced from the market's quotes instead of the synthetic chain."""

from __future__ import annotations

import json
from datetime import date

import numpy as np
import orjson
import pytest

from flows.sources.decode import decode_option_quotes
from flows.sources.kafka import RawBatch
from flows.trading.chain import (
    ChainParams,
    atm_vol,
    contract_terms,
    expiry_ts_ms,
    implied_vol_surface,
    occ_symbol,
    parse_occ_symbol,
    quote_contract,
    quoted_chain,
    synthesize_chain,
)
from flows.trading.paper_broker import market_fill_price
from schemas.common import OrderType, PremiumSpread
from schemas.config import (
    AlgorithmConfig,
    BollingerBreakout,
    Costs,
    Exits,
    InstrumentSelection,
    Sizing,
    VolatilityPremium,
)
from tests.pipeline import OPTIONS, SMALL_MARKET, option_messages, quote_book, run, session

pytestmark = pytest.mark.long(50)

FRIDAY = date(2026, 11, 27)
TS = 1_795_000_000_000  # 2026-11-18, a Wednesday
MODEL = ChainParams()

CONFIGS = [
    AlgorithmConfig(
        account_id="breakout-options",
        symbols=["AAPL", "NVDA"],
        strategy=BollingerBreakout(period=20, width=1.5, allow_short=True),
        selection=InstrumentSelection(kind="option", target_delta=0.4, days_to_expiry=7),
        sizing=Sizing(quantity=3),
    ),
    AlgorithmConfig(
        account_id="premium",
        symbols=["NVDA"],
        strategy=VolatilityPremium(
            realised_window=30, threshold=0.02, exit_threshold=0.01, ticks_per_year=252 * 390 * 5
        ),
        selection=InstrumentSelection(kind="option", target_delta=0.2, days_to_expiry=7),
        sizing=Sizing(quantity=2),
    ),
    # Spreads on the market's quotes: a vertical that reaches the market 1.5 s after its
    # decision, with its exits, and iron condors resting at their net mid.
    AlgorithmConfig(
        account_id="spreads-late",
        symbols=["NVDA"],
        strategy=VolatilityPremium(
            realised_window=30, threshold=0.02, exit_threshold=0.01, ticks_per_year=252 * 390 * 5
        ),
        selection=InstrumentSelection(
            kind="option",
            target_delta=0.2,
            days_to_expiry=7,
            premium_spread=PremiumSpread.VERTICAL,
            wing_width=5,
        ),
        sizing=Sizing(quantity=2),
        costs=Costs(latency_ms=1500),
        exits=Exits(stop_loss_pct=0.3, take_profit_pct=0.2, time_stop_seconds=5400),
    ),
    AlgorithmConfig(
        account_id="condors-limit",
        symbols=["AAPL"],
        strategy=VolatilityPremium(
            realised_window=30, threshold=0.02, exit_threshold=0.01, ticks_per_year=252 * 390 * 5
        ),
        selection=InstrumentSelection(
            kind="option",
            target_delta=0.2,
            days_to_expiry=7,
            premium_spread=PremiumSpread.IRON_CONDOR,
            wing_width=5,
        ),
        sizing=Sizing(quantity=1),
        costs=Costs(
            order_type=OrderType.LIMIT,
            limit_offset_bps=0.0,
            limit_ttl_seconds=3600,
            time_in_force="gtc",
        ),
    ),
]


@pytest.fixture(scope="module")
def ticks():  # type: ignore[no-untyped-def]
    return session(["AAPL", "NVDA"], FRIDAY)


@pytest.fixture(scope="module")
def messages(ticks) -> list[bytes]:  # type: ignore[no-untyped-def]
    return option_messages(ticks, SMALL_MARKET)


@pytest.fixture(scope="module")
def reference(ticks, messages) -> dict[str, list[str]]:  # type: ignore[no-untyped-def]
    return run(ticks, CONFIGS, batch_size=1000, seed=1, options=messages)


def _rows(result: dict[str, list[str]], kind: str) -> list[dict[str, object]]:
    return [json.loads(row) for row in result[kind]]


def _latest(
    book: dict[str, list[tuple[int, float, float]]], contract: str, ts: int, before: bool = False
):  # type: ignore[no-untyped-def]
    """The contract's last quote at `ts` (strictly before it, for a boundary such as a snapshot,
    which is handled before the rows of its own time)."""
    quotes = [q for q in book[contract] if q[0] < ts or (q[0] == ts and not before)]
    return quotes[-1]


# --- pure pieces -------------------------------------------------------------------------------


def test_a_quoted_chain_recovers_the_vols_that_priced_its_quotes() -> None:
    model = synthesize_chain("AAPL", 231.4, TS, MODEL)
    # Quotes at exactly the model price: the implied vols must be the surface's.
    shuffled = np.random.default_rng(3).permutation(len(model))
    chain = quoted_chain(
        "AAPL",
        231.4,
        TS,
        [model.contracts[i] for i in shuffled],
        model.price[shuffled],
        model.price[shuffled],
        MODEL,
    )
    assert chain.contracts == model.contracts  # back in (expiry, strike, call first) order
    usable = model.vega > 1e-3 * model.price
    np.testing.assert_allclose(chain.iv[usable], model.iv[usable], atol=1e-8)
    np.testing.assert_allclose(chain.delta[usable], model.delta[usable], atol=1e-7)
    np.testing.assert_array_equal(chain.price, model.price)
    np.testing.assert_array_equal(chain.expiry_ts, model.expiry_ts)


def test_a_quoted_chain_leaves_out_expired_contracts_and_falls_back_to_the_surface() -> None:
    model = synthesize_chain("SPY", 600.0, TS, MODEL)
    later = int(model.expiry_ts[0])  # the first expiry's moment: those contracts are gone
    call = model.is_call & (model.expiry_ts > later)
    deep = int(np.flatnonzero(call)[0])  # the lowest strike: deep in the money
    intrinsic = 600.0 - float(model.strike[deep])
    bid = model.bid.copy()
    ask = model.ask.copy()
    bid[deep] = ask[deep] = intrinsic - 1.0  # below intrinsic: no implied vol exists
    chain = quoted_chain("SPY", 600.0, later, model.contracts, bid, ask, MODEL)
    assert len(chain) == int((model.expiry_ts > later).sum())
    assert (chain.expiry_ts > later).all()
    at = chain.contracts.index(model.contracts[deep])
    surface = implied_vol_surface(
        "SPY", 600.0, chain.strike[at], chain.years[at], MODEL
    )  # the stand-in vol
    assert chain.iv[at] == pytest.approx(float(surface))
    assert np.isfinite(chain.delta).all()


def test_contract_terms_tell_tickers_from_option_symbols() -> None:
    assert contract_terms("AAPL") is None
    assert contract_terms("BRK.B") is None
    assert contract_terms("AAPL261218C00150000") == ("AAPL", date(2026, 12, 18), True, 150.0)
    assert contract_terms("AAPL261318C00150000") is None  # month 13


def test_option_quotes_decode_to_contract_rows_and_bad_ones_to_dead_letters() -> None:
    good = {
        "underlying": "AAPL",
        "ts": TS,
        "expiry": "2026-12-18",
        "strike": 150.0,
        "right": "call",
        "bid": 1.2,
        "ask": 1.3,
    }
    values = [
        orjson.dumps(good),
        orjson.dumps({"kind": "heartbeat", "ts": TS + 1}),
        orjson.dumps({**good, "bid": 1.4}),
        orjson.dumps({**good, "right": "straddle"}),
        orjson.dumps({**good, "expiry": "2026-11-13"}),
        b"{not json",
        orjson.dumps({**good, "strike": float("1e9")}),
    ]
    raw = RawBatch(
        OPTIONS,
        2,
        range(10, 10 + len(values)),
        keys=[b"AAPL"] * len(values),
        values=list(values),
        timestamps=[TS] * len(values),
    )
    decoded = decode_option_quotes(raw, MODEL)
    rows = decoded.ticks
    assert rows.offsets.tolist() == [10, 11]
    assert [rows.symbols[c] if c >= 0 else None for c in rows.codes] == [
        "AAPL261218C00150000",
        None,
    ]
    assert rows.last[0] == pytest.approx(1.25)
    reasons = {letter.offset: letter.reason for letter in decoded.dead}
    assert set(reasons) == {12, 13, 14, 15, 16}
    assert "bid" in reasons[12]
    assert "ask" in reasons[12]
    assert "right" in reasons[13]
    assert "expired" in reasons[14]
    assert "json" in reasons[15].lower()
    assert "strike" in reasons[16]
    assert all(letter.topic == OPTIONS and letter.partition == 2 for letter in decoded.dead)


# --- the account stage on quoted options ---------------------------------------------------


def test_option_orders_fill_at_the_latest_market_quote(reference, messages) -> None:  # type: ignore[no-untyped-def]
    book = quote_book(messages)
    fills = [f for f in _rows(reference, "fills") if f["reason"] == "signal"]
    assert {f["account_id"] for f in fills} == {"breakout-options", "premium"}
    assert all(f["asset_class"] == "option" for f in fills)
    off_model = 0
    costs = Costs()
    for fill in fills:
        ts, bid, ask = _latest(book, fill["instrument"], fill["ts"])
        assert fill["ts"] - ts <= 900_000  # an opening quote is at most 15 minutes old
        side = fill["side"]
        assert fill["price"] == pytest.approx(market_fill_price(side, bid, ask, costs)), fill
        underlying, expiry, is_call, strike = parse_occ_symbol(fill["instrument"])
        spot = _spot_at(reference, underlying, fill["ts"])
        if spot is not None:
            expiry_ts = expiry_ts_ms(expiry, MODEL)
            model_bid, model_ask, _, _ = quote_contract(
                underlying, spot, fill["ts"], expiry_ts, strike, is_call, MODEL
            )
            off_model += (bid, ask) != (model_bid, model_ask)
    assert len(fills) >= 10
    assert off_model, "the market's quotes and the flow's model never differed"


def _spot_at(reference, symbol, ts):  # type: ignore[no-untyped-def]
    prices = [
        s["price"] for s in _rows(reference, "signals") if s["symbol"] == symbol and s["ts"] == ts
    ]
    return prices[0] if prices else None


def test_option_positions_are_marked_at_the_market_mid(reference, messages) -> None:  # type: ignore[no-untyped-def]
    book = quote_book(messages)
    marked = 0
    for row in _rows(reference, "snapshots"):
        if row["instrument"] and row["instrument"] in book:
            _, bid, ask = _latest(book, row["instrument"], row["ts"], before=True)
            assert row["mark_price"] == pytest.approx((bid + ask) / 2), row
            marked += 1
    assert marked >= 5


def _quoted_atm_vols(ticks, messages, symbol: str, days: int) -> list[float]:  # type: ignore[no-untyped-def]
    """The at-the-money vol of every chain of `symbol` the feed sent, priced at the symbol's
    last mid before the chain."""
    chains: dict[int, list[dict[str, object]]] = {}
    for quote in map(orjson.loads, messages):
        if quote.get("kind") != "heartbeat" and quote["underlying"] == symbol:
            chains.setdefault(quote["ts"], []).append(quote)
    rows = np.flatnonzero(np.asarray(ticks.symbols)[ticks.codes] == symbol)
    vols = []
    for at, quotes in sorted(chains.items()):
        before = rows[ticks.ts[rows] < at][-1]
        spot = float((ticks.bid[before] + ticks.ask[before]) / 2)
        contracts = [
            occ_symbol(
                symbol,
                date.fromisoformat(str(q["expiry"])),
                q["right"] == "call",
                float(q["strike"]),  # type: ignore[arg-type]
            )
            for q in quotes
        ]
        bid = [q["bid"] for q in quotes]
        ask = [q["ask"] for q in quotes]
        vols.append(atm_vol(quoted_chain(symbol, spot, at, contracts, bid, ask, MODEL), days))
    return vols


def test_the_premium_seller_reads_the_quoted_at_the_money_vol(ticks, messages, reference) -> None:  # type: ignore[no-untyped-def]
    quoted = _quoted_atm_vols(ticks, messages, "NVDA", days=7)
    signals = [s for s in _rows(reference, "signals") if s["account_id"] == "premium"]
    assert signals
    used = {s["indicators"]["implied_vol"] for s in signals}  # type: ignore[index]
    for vol in used:
        assert min(abs(vol - q) for q in quoted) < 1e-12, vol
    model = implied_vol_surface("NVDA", 100.0, 100.0, 7 / 365, MODEL)
    assert all(abs(vol - float(model)) > 1e-6 for vol in used)


def test_the_first_shard_prices_every_quoted_chain_once(reference, messages) -> None:  # type: ignore[no-untyped-def]
    chains = {
        (quote["underlying"], quote["ts"])
        for quote in map(orjson.loads, messages)
        if quote.get("kind") != "heartbeat"
    }
    sampled = [tuple(entry.split(":")[:2]) for entry in reference["greeks"]]
    assert len(sampled) == len(set(sampled)) == len(chains)
    assert {(u, int(ts)) for u, ts in sampled} == chains


@pytest.mark.parametrize(("batch_size", "seed"), [(7, 3), (250, 5)])
def test_outputs_with_option_quotes_do_not_depend_on_cuts_or_arrival_order(
    ticks,
    messages,
    reference,
    batch_size: int,
    seed: int,  # type: ignore[no-untyped-def]
) -> None:
    again = run(ticks, CONFIGS, batch_size=batch_size, seed=seed, options=messages)
    for kind, rows in reference.items():
        assert again[kind] == rows, kind


def test_without_option_quotes_the_same_accounts_trade_the_model(ticks, reference) -> None:  # type: ignore[no-untyped-def]
    model = run(ticks, CONFIGS, batch_size=1000, seed=1)
    assert model["greeks"] == []
    assert model["fills"] != reference["fills"]


def test_spreads_on_quotes_wait_for_the_market_and_fill_as_one(reference) -> None:  # type: ignore[no-untyped-def]
    """The late account's spreads fill at least 1.5 s after their decision, every leg at one
    time; its stop-losses close spreads as one; the limit account's condors rest and fill on a
    later quote (perhaps of the decision's time, after it), or expire whole."""
    decided = {d["decision_id"]: d["ts"] for d in _rows(reference, "decisions")}
    orders = _rows(reference, "order_events")
    decision_of = {e["order_id"]: e["decision_id"] for e in orders}
    by_spread: dict[tuple[str, object], list[dict[str, object]]] = {}
    for fill in _rows(reference, "fills"):
        if fill["account_id"] in ("spreads-late", "condors-limit"):
            by_spread.setdefault((fill["account_id"], fill["spread_id"]), []).append(fill)
    reasons = {(account, legs[0]["exit_reason"]) for (account, _), legs in by_spread.items()}
    assert {("spreads-late", ""), ("spreads-late", "stop_loss"), ("condors-limit", "")} <= reasons
    for (account, _), legs in by_spread.items():
        assert len({leg["ts"] for leg in legs}) == 1
        assert len({leg["exit_reason"] for leg in legs}) == 1
        if legs[0]["exit_reason"] in ("", "signal"):
            decision_ts = decided[decision_of[legs[0]["order_id"]]]  # type: ignore[index]
            wait = 1500 if account == "spreads-late" else 0  # a limit may meet a quote at once
            assert legs[0]["ts"] >= decision_ts + wait  # type: ignore[operator]
    expired = [e for e in orders if e["account_id"] == "condors-limit" and e["status"] == "expired"]
    assert expired
    assert len(expired) % 4 == 0


# --- quoted sizes on option quotes -------------------------------------------------------------


# The first 90 minutes of the session, with option quotes that carry sizes (a few contracts
# each, now and then dozens): enough for partial fills and a spread refused for a leg's size,
# short enough to run at a batch size of 1.


@pytest.fixture(scope="module")
def opening(ticks):  # type: ignore[no-untyped-def]
    return ticks.take(np.flatnonzero(ticks.ts < ticks.ts[0] + 90 * 60_000))


@pytest.fixture(scope="module")
def sized_messages(opening) -> list[bytes]:  # type: ignore[no-untyped-def]
    return option_messages(opening, SMALL_MARKET, quote_sizes=True)


@pytest.fixture(scope="module")
def sized(opening, sized_messages) -> dict[str, list[str]]:  # type: ignore[no-untyped-def]
    return run(opening, CONFIGS, batch_size=1000, seed=1, options=sized_messages)


def _size_book(messages: list[bytes]) -> dict[str, list[tuple[int, int, int]]]:
    """Every contract's quoted sizes in time order: (ts, bid size, ask size)."""
    book: dict[str, list[tuple[int, int, int]]] = {}
    for quote in map(orjson.loads, messages):
        if quote.get("kind") != "heartbeat":
            contract = occ_symbol(
                quote["underlying"],
                date.fromisoformat(quote["expiry"]),
                quote["right"] == "call",
                quote["strike"],
            )
            book.setdefault(contract, []).append(
                (quote["ts"], quote["bid_size"], quote["ask_size"])
            )
    return book


def test_the_simulated_option_quotes_carry_sizes_at_the_same_prices(
    opening, sized_messages
) -> None:  # type: ignore[no-untyped-def]
    def prices(values: list[bytes]) -> list[object]:
        return [{k: v for k, v in orjson.loads(m).items() if "size" not in k} for m in values]

    plain = option_messages(opening, SMALL_MARKET)
    assert prices(sized_messages) == prices(plain)
    assert all("bid_size" not in orjson.loads(m) for m in plain)
    sizes = [
        s for quotes in _size_book(sized_messages).values() for _, *pair in quotes for s in pair
    ]
    assert min(sizes) >= 1
    assert len(set(sizes)) > 5


def test_option_fills_never_exceed_the_quoted_size(sized, sized_messages) -> None:  # type: ignore[no-untyped-def]
    """Every option fill but the kill switch's takes at most the size on its side of the
    contract's quote at that moment; some single-leg orders fill in parts; spreads never do
    (one is refused for a leg's short size instead)."""
    book = _size_book(sized_messages)
    fills = _rows(sized, "fills")
    assert {f["account_id"] for f in fills if f["spread_id"]} == {"spreads-late", "condors-limit"}
    for fill in fills:
        if fill["asset_class"] != "option" or fill["reason"] in ("expiry", "kill_switch"):
            continue
        _, bid_size, ask_size = _latest(book, fill["instrument"], fill["ts"])  # type: ignore[arg-type]
        assert fill["quantity"] <= (ask_size if fill["side"] == "buy" else bid_size), fill
    events = _rows(sized, "order_events")
    parts = [e for e in events if e["status"] == "partially_filled"]
    assert {e["account_id"] for e in parts} == {"breakout-options", "premium"}
    short = [e for e in events if "(all legs fill or none)" in e["reason"]]
    assert short, "no spread met a leg quoting less than it needed"
    assert {e["status"] for e in short} == {"rejected"}


@pytest.mark.parametrize(("batch_size", "seed"), [(1, 2), (7, 3)])
def test_outputs_with_sized_option_quotes_do_not_depend_on_cuts(
    opening,
    sized_messages,
    sized,
    batch_size: int,
    seed: int,  # type: ignore[no-untyped-def]
) -> None:
    again = run(opening, CONFIGS, batch_size=batch_size, seed=seed, options=sized_messages)
    for kind, rows in sized.items():
        assert again[kind] == rows, kind

"""The live event stream's filters and fan-out, without a broker."""

from __future__ import annotations

import asyncio
import json

import orjson
import pytest
from pydantic import ValidationError

from api.ws import QUEUE_SIZE, EventHub, StreamFilters, decode_event
from schemas.settings import Topics


def decision(account: str, symbol: str) -> bytes:
    return orjson.dumps({"decision_id": "d", "account_id": account, "symbol": symbol})


def test_no_filter_passes_everything_and_each_filter_narrows() -> None:
    event = decode_event("decision", b"acct-1", decision("acct-1", "AAPL"))
    assert event is not None
    assert StreamFilters().matches(event)
    assert StreamFilters(kinds=["decision", "fill"]).matches(event)
    assert not StreamFilters(kinds=["signal"]).matches(event)
    assert StreamFilters(accounts=["acct-1"]).matches(event)
    assert not StreamFilters(accounts=["acct-2"]).matches(event)
    assert StreamFilters(symbols=["AAPL"]).matches(event)
    assert not StreamFilters(symbols=["MSFT"]).matches(event)


def test_a_fill_is_matched_by_its_underlying_and_alerts_pass_symbol_filters() -> None:
    fill = decode_event("fill", b"a", orjson.dumps({"account_id": "a", "underlying": "NVDA"}))
    alert = decode_event("alert", b"a", orjson.dumps({"account_id": "a", "kind": "kill_switch"}))
    assert fill is not None
    assert alert is not None
    assert fill.symbol == "NVDA"
    assert StreamFilters(symbols=["NVDA"]).matches(fill)
    assert alert.symbol is None
    assert StreamFilters(symbols=["NVDA"]).matches(alert)
    assert not StreamFilters(accounts=["b"], symbols=["NVDA"]).matches(alert)


def test_events_carry_the_topic_message_unchanged() -> None:
    value = decision("acct-1", "AAPL")
    event = decode_event("decision", None, value)
    assert event is not None
    assert json.loads(event.message) == {
        "type": "event",
        "kind": "decision",
        "data": json.loads(value),
    }
    assert decode_event("decision", None, b"not json") is None
    assert decode_event("decision", None, b"[1, 2]") is None


def test_filters_from_the_query_string_are_validated() -> None:
    parsed = StreamFilters.from_query({"kinds": "decision, fill", "accounts": "a,b", "symbols": ""})
    assert parsed == StreamFilters(kinds=["decision", "fill"], accounts=["a", "b"])
    for hostile in ({"accounts": "a' OR 1=1"}, {"kinds": "trade"}, {"symbols": "aapl"}):
        with pytest.raises(ValidationError):
            StreamFilters.from_query(hostile)


def test_a_client_that_falls_behind_is_cut_off_not_waited_for() -> None:
    async def scenario() -> None:
        hub = EventHub("127.0.0.1:9", Topics())
        slow = hub.subscribe(StreamFilters())
        picky = hub.subscribe(StreamFilters(accounts=["other"]))
        event = decode_event("decision", b"a", decision("a", "AAPL"))
        assert event is not None
        hub._dispatch([event] * QUEUE_SIZE)
        assert slow.queue.full()
        assert not slow.overflowed
        hub._dispatch([event])
        assert slow.overflowed
        assert slow.queue.qsize() == 1
        assert slow.queue.get_nowait() is None
        assert picky.queue.empty()
        assert not picky.overflowed
        hub.unsubscribe(slow)
        assert hub.subscribers == 1

    asyncio.run(scenario())

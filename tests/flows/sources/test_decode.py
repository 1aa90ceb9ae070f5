"""Decoding agrees with the contract: the fast path accepts exactly what the models accept."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from flows.sources.decode import decode_commands, decode_ticks
from flows.sources.kafka import RawBatch
from flows.trading.ticks import HEARTBEAT, NO_SIZE
from schemas.config import ControlCommand
from schemas.topics import TickMessage

TS = 1_795_444_200_000
MODEL: TypeAdapter[Any] = TypeAdapter(TickMessage)

prices = st.one_of(
    st.floats(min_value=0.01, max_value=5000, allow_nan=False).map(lambda x: round(x, 4)),
    st.sampled_from([0.0, -1.0, math.inf, math.nan, 1e300]),
    st.integers(min_value=-5, max_value=500),
    st.sampled_from(["100.0", None, True]),
)
# Quoted sizes: whole numbers >= 0 and at most 10**12, as a pair (each is optional below, so
# one without the other is drawn too).
sizes = st.one_of(
    st.integers(min_value=-3, max_value=10**6),
    st.sampled_from([0, 1.5, 30.0, "7", None, True, 10**12, 10**12 + 1]),
)
tick_fields = st.fixed_dictionaries(
    {
        "symbol": st.one_of(
            st.sampled_from(["AAPL", "MSFT", "BRK.B"]),
            st.sampled_from(["aapl", "", "X" * 20, None, 5]),
        ),
        "ts": st.one_of(
            st.integers(min_value=TS - 10, max_value=TS + 10_000),
            st.sampled_from(
                [0, -1, 10**15, "2026-11-23T14:30:00Z", "2026-11-23T14:30:00", 1.7954442e12, None]
            ),
        ),
        "bid": prices,
        "ask": prices,
        "last": prices,
    },
    optional={
        "volume": st.one_of(
            st.integers(min_value=-5, max_value=10**6), st.sampled_from([1.5, None, "7"])
        ),
        "kind": st.sampled_from(["tick", "heartbeat", "trade", None]),
        "venue": st.just("X"),
        "bid_size": sizes,
        "ask_size": sizes,
    },
)
heartbeats = st.fixed_dictionaries(
    {"kind": st.just("heartbeat"), "ts": st.integers(min_value=TS, max_value=TS + 10_000)},
    optional={"symbol": st.just("AAPL")},
)


def encode(value: Any) -> bytes:
    return (
        orjson.dumps(value, option=orjson.OPT_SERIALIZE_NUMPY)
        if not isinstance(value, bytes)
        else value
    )


messages = st.one_of(
    tick_fields.map(lambda d: encode(dict(d.items()))),
    heartbeats.map(encode),
    st.sampled_from([b"", b"not json", b"[1, 2]", b"{}", b'{"symbol": "AAPL"} {"x": 1}', b"null"]),
    tick_fields.map(
        lambda d: (
            orjson.dumps(d, option=orjson.OPT_INDENT_2)
            if all(not (isinstance(v, float) and not math.isfinite(v)) for v in d.values())
            else b"{}"
        )
    ),
)


def raw_batch(values: list[bytes]) -> RawBatch:
    return RawBatch(
        topic="market.ticks",
        partition=3,
        offsets=list(range(100, 100 + len(values))),
        keys=[b"k"] * len(values),
        values=values,
        timestamps=[TS] * len(values),
    )


def model_view(value: bytes) -> tuple[Any, ...] | None:
    try:
        message = MODEL.validate_json(value)
    except ValidationError:
        return None
    if message.kind == "heartbeat":
        return ("heartbeat", message.ts)
    return (
        message.symbol,
        message.ts,
        message.bid,
        message.ask,
        message.last,
        message.volume,
        message.bid_size,
        message.ask_size,
    )


def size_at(column: np.ndarray | None, i: int) -> int | None:
    return None if column is None or column[i] == NO_SIZE else int(column[i])


def decoded_view(values: list[bytes]) -> tuple[list[tuple[Any, ...] | None], int]:
    decoded = decode_ticks(raw_batch(values), set())
    ticks = decoded.ticks
    by_offset: dict[int, tuple[Any, ...]] = {}
    for i in range(len(ticks)):
        offset = int(ticks.offsets[i])
        code = int(ticks.codes[i])
        if code == HEARTBEAT:
            by_offset[offset] = ("heartbeat", int(ticks.raw_ts[i]))
        else:
            by_offset[offset] = (
                ticks.symbols[code],
                int(ticks.raw_ts[i]),
                float(ticks.bid[i]),
                float(ticks.ask[i]),
                float(ticks.last[i]),
                int(ticks.volume[i]),
                size_at(ticks.bid_size, i),
                size_at(ticks.ask_size, i),
            )
    views = [by_offset.get(100 + i) for i in range(len(values))]
    return views, len(decoded.dead)


@settings(max_examples=300, deadline=None)
@given(st.lists(messages, min_size=1, max_size=30))
def test_a_message_is_used_exactly_when_its_model_accepts_it(values: list[bytes]) -> None:
    views, dead = decoded_view(values)
    expected = [model_view(value) for value in values]
    assert views == expected
    assert dead == sum(1 for view in expected if view is None)


@settings(max_examples=100, deadline=None)
@given(st.lists(tick_fields.map(encode), min_size=1, max_size=30))
def test_the_arrow_and_per_message_paths_agree(values: list[bytes]) -> None:
    together, _ = decoded_view(values)
    one_by_one = [decoded_view([value])[0][0] for value in values]
    assert together == one_by_one


def test_every_dead_letter_names_offset_key_raw_bytes_and_reason() -> None:
    good = encode({"symbol": "AAPL", "ts": TS, "bid": 1.0, "ask": 1.1, "last": 1.05})
    crossed = encode({"symbol": "AAPL", "ts": TS, "bid": 2.0, "ask": 1.1, "last": 1.05})
    decoded = decode_ticks(raw_batch([good, b"garbage", crossed]), set())
    assert len(decoded.ticks) == 1
    reasons = {letter.offset: letter.reason for letter in decoded.dead}
    assert set(reasons) == {101, 102}
    assert "Invalid JSON" in reasons[101]
    assert "crossed quote" in reasons[102]
    import base64

    letter = next(d for d in decoded.dead if d.offset == 101)
    assert base64.b64decode(letter.raw_b64) == b"garbage"
    assert letter.key == "k"
    assert letter.partition == 3


def test_rows_keep_their_offsets_in_order_when_some_are_judged_slowly() -> None:
    values = [
        encode({"symbol": "AAPL", "ts": TS + i, "bid": 1.0, "ask": 1.1, "last": 1.05})
        if i % 3
        else encode(
            {
                "symbol": "MSFT",
                "ts": f"2026-11-23T14:30:0{i % 10}Z",
                "bid": 2.0,
                "ask": 2.1,
                "last": 2.05,
            }
        )
        for i in range(12)
    ]
    ticks = decode_ticks(raw_batch(values), set()).ticks
    assert ticks.offsets.tolist() == list(range(100, 112))
    assert [ticks.symbols[c] for c in ticks.codes] == [
        "MSFT" if i % 3 == 0 else "AAPL" for i in range(12)
    ]


def test_control_commands_are_validated_and_bad_ones_dead_lettered() -> None:
    good = ControlCommand(command_id="c1", account_id="a", ts=TS, action="start")  # type: ignore[arg-type]
    commands, dead = decode_commands(
        raw_batch([good.model_dump_json().encode(), b'{"action": "explode"}'])
    )
    assert commands == [good]
    assert len(dead) == 1
    assert "action" in dead[0].reason


@pytest.mark.parametrize(
    "value", [b"NaN", b'{"symbol":"AAPL","ts":1795444200000,"bid":NaN,"ask":1,"last":1}']
)
def test_non_json_numbers_are_refused(value: bytes) -> None:
    decoded = decode_ticks(raw_batch([value]), set())
    assert len(decoded.ticks) == 0
    assert len(decoded.dead) == 1


well_typed = st.fixed_dictionaries(
    {
        "symbol": st.sampled_from(["AAPL", "MSFT", "lower"]),
        "ts": st.integers(min_value=0, max_value=TS + 10_000),
        "bid": st.floats(min_value=-2, max_value=3, allow_nan=False),
        "ask": st.floats(min_value=-2, max_value=3, allow_nan=False),
        "last": st.floats(min_value=-2, max_value=3, allow_nan=False),
        "volume": st.integers(min_value=-3, max_value=10**13),
    },
    optional={
        "bid_size": st.integers(min_value=-3, max_value=10**13),
        "ask_size": st.integers(min_value=-3, max_value=10**13),
    },
).map(encode)


@settings(max_examples=150, deadline=None)
@given(st.lists(well_typed, min_size=1, max_size=40))
def test_well_typed_batches_are_checked_in_bulk_like_the_model(values: list[bytes]) -> None:
    views, dead = decoded_view(values)
    expected = [model_view(value) for value in values]
    assert views == expected
    assert dead == expected.count(None)


@pytest.mark.parametrize("value", [b"null", b" null", b"true", b"0", b'"x"', b"{}\nnull"])
def test_top_level_non_objects_are_dead_lettered_without_harm(value: bytes) -> None:
    good = encode({"symbol": "AAPL", "ts": TS, "bid": 1.0, "ask": 1.1, "last": 1.05})
    decoded = decode_ticks(raw_batch([good, value, good]), set())
    assert decoded.ticks.offsets.tolist() == [100, 102]
    assert [letter.offset for letter in decoded.dead] == [101]


@pytest.mark.parametrize(
    ("sizes", "reason"),
    [
        ({"bid_size": -1, "ask_size": 5}, "greater than or equal to 0"),
        ({"bid_size": 1.5, "ask_size": 5}, "valid integer"),
        ({"bid_size": 30.0, "ask_size": 5}, "valid integer"),
        ({"bid_size": "30", "ask_size": 5}, "valid integer"),
        ({"bid_size": 5}, "come together"),
        ({"bid_size": None, "ask_size": 5}, "come together"),
    ],
)
def test_bad_sizes_are_dead_lettered_with_the_reason(sizes: dict[str, Any], reason: str) -> None:
    quote = {"symbol": "AAPL", "ts": TS, "bid": 1.0, "ask": 1.1, "last": 1.05}
    good = encode({**quote, "bid_size": 200, "ask_size": 0})
    for batch in ([good, encode({**quote, **sizes}), good], [encode({**quote, **sizes})]):
        decoded = decode_ticks(raw_batch(batch), set())
        assert [letter.offset for letter in decoded.dead] == [101 if len(batch) == 3 else 100]
        assert reason in decoded.dead[0].reason
        assert len(decoded.ticks) == len(batch) - 1


def test_sizes_are_kept_and_a_tick_without_them_is_marked_unquoted() -> None:
    quote = {"symbol": "AAPL", "ts": TS, "bid": 1.0, "ask": 1.1, "last": 1.05}
    sized, unsized = encode({**quote, "bid_size": 200, "ask_size": 0}), encode(quote)
    for tail in ([], [b"garbage"]):  # Arrow's path; message by message (Arrow refuses garbage)
        ticks = decode_ticks(raw_batch([sized, unsized, *tail]), set()).ticks
        assert ticks.bid_size is not None
        assert ticks.ask_size is not None
        assert ticks.bid_size.tolist() == [200, NO_SIZE]
        assert ticks.ask_size.tolist() == [0, NO_SIZE]
        # a feed without sizes costs no size columns
        assert decode_ticks(raw_batch([unsized, *tail]), set()).ticks.bid_size is None

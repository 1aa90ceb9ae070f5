"""The fast path of decoding `market.ticks`: a whole raw batch as columns in one pass of
Arrow's JSON reader (flows.sources.decode falls back to message by message when Arrow refuses
it, and judges with the model every row this path does not accept)."""

from __future__ import annotations

import io
import re
from typing import cast

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pa_json

from flows.sources.kafka import RawBatch
from flows.trading.ticks import HEARTBEAT, NO_SIZE, Int64s, TickBatch
from schemas.common import SYMBOL_PATTERN
from schemas.market import MAX_SIZE

_SYMBOL = re.compile(SYMBOL_PATTERN)

_ARROW_SCHEMA = pa.schema(
    [
        ("kind", pa.string()),
        ("symbol", pa.string()),
        ("ts", pa.int64()),
        ("bid", pa.float64()),
        ("ask", pa.float64()),
        ("last", pa.float64()),
        ("volume", pa.int64()),
        ("bid_size", pa.int64()),
        ("ask_size", pa.int64()),
    ]
)
_ARROW_PARSE = pa_json.ParseOptions(
    explicit_schema=_ARROW_SCHEMA, unexpected_field_behavior="error", newlines_in_values=False
)


def parse_batch(raw: RawBatch, known_symbols: set[str]) -> tuple[TickBatch, list[int]] | None:
    """The whole batch as columns in one pass of Arrow's JSON reader, or None to go message by
    message (Arrow refuses the batch if any message has a wrong type or an unknown key)."""
    if not raw.values or None in raw.values:
        return None
    values = cast(list[bytes], raw.values)
    table = _arrow_table(values)
    if table is None:
        return None
    kind = table.column("kind")
    heartbeat = pc.fill_null(pc.equal(kind, "heartbeat"), False).to_numpy(zero_copy_only=False)
    ok = _well_formed(table, values, heartbeat)
    encoded = table.column("symbol").combine_chunks().dictionary_encode()
    symbols = [str(s) for s in encoded.dictionary.to_pylist()]
    valid_symbol = np.array(
        [s in known_symbols or _SYMBOL.match(s) is not None for s in symbols] + [True], dtype=bool
    )
    known_symbols.update(s for s, v in zip(symbols, valid_symbol, strict=False) if v)
    codes = pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False).astype(np.int32)
    ok &= valid_symbol[codes]
    codes[heartbeat] = HEARTBEAT

    def floats(name: str) -> np.ndarray:
        column = pc.fill_null(table.column(name), 1.0).to_numpy(zero_copy_only=False)
        return np.asarray(column, dtype=np.float64)

    ts = pc.fill_null(table.column("ts"), 0).to_numpy(zero_copy_only=False).astype(np.int64)
    keep = np.flatnonzero(ok)
    bid_size, ask_size = _arrow_sizes(table, keep)
    batch = TickBatch(
        channel=raw.channel,
        partition=raw.partition,
        offsets=np.asarray(raw.offsets, dtype=np.int64)[keep],
        ts=ts[keep],
        codes=codes[keep],
        symbols=tuple(symbols),
        bid=floats("bid")[keep],
        ask=floats("ask")[keep],
        last=floats("last")[keep],
        volume=pc.fill_null(table.column("volume"), 0).to_numpy(zero_copy_only=False)[keep],
        raw_ts=ts[keep],
        eof=raw.eof,
        bid_size=bid_size,
        ask_size=ask_size,
    )
    return batch, np.flatnonzero(~ok).tolist()


def _arrow_sizes(table: pa.Table, keep: np.ndarray) -> tuple[Int64s | None, Int64s | None]:
    """The kept rows' sizes (NO_SIZE where absent); None for a batch without any."""
    if table.column("bid_size").null_count == table.num_rows:
        return None, None
    return tuple(
        np.asarray(
            pc.fill_null(table.column(name), NO_SIZE).to_numpy(zero_copy_only=False),
            dtype=np.int64,
        )[keep]
        for name in ("bid_size", "ask_size")
    )


def _arrow_table(values: list[bytes]) -> pa.Table | None:
    """The messages as one Arrow table, or None when Arrow cannot be trusted with them."""
    # Only objects, one per line: Arrow's reader crashes the process on a top-level `null`
    # (pyarrow 26), and a newline inside a value would shift every row after it. Counted on the
    # joined buffer (C speed): exactly n - 1 newlines, each between a '}' and a '{'.
    data = b"\n".join(values)
    lines = len(values) - 1
    if not (
        data[:1] == b"{"
        and data[-1:] == b"}"
        and data.count(b"\n") == lines
        and data.count(b"\n{") == lines
        and data.count(b"}\n") == lines
    ):
        return None
    options = pa_json.ReadOptions(use_threads=False, block_size=len(data) + 1)
    try:
        table = pa_json.read_json(
            io.BytesIO(data), read_options=options, parse_options=_ARROW_PARSE
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    if table.num_rows != len(values):
        return None  # a value held several JSON documents or none
    return table


def _well_formed(table: pa.Table, values: list[bytes], heartbeat: np.ndarray) -> np.ndarray:
    """Rows with the fields of a tick, or of a heartbeat and nothing else."""
    kind = table.column("kind")
    tick = pc.fill_null(pc.equal(kind, "tick"), True).to_numpy(zero_copy_only=False)
    present = {
        name: pc.is_valid(table.column(name)).to_numpy(zero_copy_only=False)
        for name in ("symbol", "bid", "ask", "last", "volume", "ts", "bid_size", "ask_size")
    }
    quote_fields = present["symbol"] & present["bid"] & present["ask"] & present["last"]
    any_quote_field = (
        present["symbol"]
        | present["bid"]
        | present["ask"]
        | present["last"]
        | present["volume"]
        | present["bid_size"]
    )
    ok: np.ndarray = present["ts"] & ((tick & quote_fields) | (heartbeat & ~any_quote_field))
    # Sizes come as a pair, each within [0, MAX_SIZE]; anything else is the model's to word.
    ok &= present["bid_size"] == present["ask_size"]
    for name in ("bid_size", "ask_size"):
        sizes = pc.fill_null(table.column(name), 0).to_numpy(zero_copy_only=False)
        ok &= (sizes >= 0) & (sizes <= MAX_SIZE)
    # Arrow reads an explicit null like a missing key; the model refuses explicit nulls.
    for name, missing in (
        ("kind", ~pc.is_valid(kind).to_numpy(zero_copy_only=False)),
        ("volume", ~present["volume"]),
    ):
        needle = f'"{name}"'.encode()
        for i in np.flatnonzero(missing & ok):
            if needle in values[i]:
                ok[i] = False
    return ok

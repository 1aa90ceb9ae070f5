"""What the flow's stages produce, as table rows and Kafka messages for the sinks.

Hot tables (ticks, Greeks) are built column-wise from numpy arrays; snapshots and daily rows
come as tuples (`TableRows`) and the rest as models, each turned into columns once per batch.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
from bytewax.connectors.kafka import KafkaSinkMessage
from pydantic import BaseModel

from flows.accounts.state import Outputs
from flows.stages.arrivals import Stamped
from flows.stages.market import MarketOutput
from flows.trading.chain import ChainSample
from flows.trading.ticks import NO_SIZE, TickBatch
from schemas.common import MARKET_ACCOUNT, Right
from schemas.market import MarketTick, OptionGreeks
from schemas.settings import Topics
from schemas.tables import ColumnData, Rows, TableRows, column_names, concat, table_of
from schemas.trading import DeadLetter, Decision
from sinks.kafka.output import StampedMessage

TABLE_TICKS = table_of(MarketTick)
TABLE_GREEKS = table_of(OptionGreeks)
_CONTRACT_BITS = 10  # up to 1024 contracts per sampled chain


def tick_row_ids(partition: int, offsets: np.ndarray) -> np.ndarray:
    """(partition << 40) | offset: unique per input message, the same on every replay."""
    ids: np.ndarray = (np.uint64(partition) << np.uint64(40)) | offsets.astype(np.uint64)
    return ids


def tick_rows(ticks: TickBatch, run_id: str) -> Rows:
    """`market_ticks` rows for a batch; `ts` is the tick's own event time."""
    n = len(ticks)
    # Fixed-width string arrays, not lists: a batch is copied into recovery snapshots whole.
    symbols = np.asarray(ticks.symbols if ticks.symbols else [""])[ticks.codes]
    data: dict[str, ColumnData] = {
        "row_id": tick_row_ids(ticks.partition, ticks.offsets),
        "run_id": np.full(n, run_id),
        "account_id": np.full(n, MARKET_ACCOUNT),
        "ts": ticks.raw_ts,
        "symbol": symbols,
        "bid": ticks.bid,
        "ask": ticks.ask,
        "last": ticks.last,
        "volume": ticks.volume.astype(np.uint64),
        # NO_SIZE (negative) is NULL: sinks.clickhouse.arrow.NULLABLE_UNSIGNED
        "bid_size": _sizes(ticks.bid_size, n),
        "ask_size": _sizes(ticks.ask_size, n),
        "source_partition": np.full(n, ticks.partition, dtype=np.uint32),
        "source_offset": ticks.offsets.astype(np.uint64),
    }
    assert tuple(data) == column_names(MarketTick)
    return Rows(TABLE_TICKS, data)


def _sizes(column: np.ndarray | None, n: int) -> np.ndarray:
    return np.full(n, NO_SIZE, dtype=np.int64) if column is None else column


def greeks_rows(samples: list[ChainSample], run_id: str) -> Rows | None:
    """`option_greeks` rows: every contract of each sampled chain."""
    if not samples:
        return None
    return concat([Rows(TABLE_GREEKS, _chain_columns(sample, run_id)) for sample in samples])


def _chain_columns(sample: ChainSample, run_id: str) -> dict[str, ColumnData]:
    chain = sample.chain
    n = len(chain)
    base = int(tick_row_ids(sample.partition, np.array([sample.offset]))[0])
    data: dict[str, ColumnData] = {
        "row_id": (np.uint64(base) << np.uint64(_CONTRACT_BITS)) + np.arange(n, dtype=np.uint64),
        "run_id": np.full(n, run_id),
        "account_id": np.full(n, MARKET_ACCOUNT),
        "ts": np.full(n, chain.ts, dtype=np.int64),
        "underlying": np.full(n, chain.underlying),
        "contract": np.asarray(chain.contracts),
        "expiry": chain.expiry.astype("datetime64[D]").tolist(),
        "strike": chain.strike,
        "right": np.where(chain.is_call, Right.CALL.value, Right.PUT.value),
        "spot": np.full(n, chain.spot),
        "iv": chain.iv,
        "price": chain.price,
        "bid": chain.bid,
        "ask": chain.ask,
        "bid_size": _sizes(sample.bid_size, n),  # NO_SIZE is NULL, as in tick_rows
        "ask_size": _sizes(sample.ask_size, n),
        "delta": chain.delta,
        "gamma": chain.gamma,
        "vega": chain.vega,
        "theta": chain.theta,
        "rho": chain.rho,
        "days_to_expiry": chain.years * 365.0,
    }
    assert tuple(data) == column_names(OptionGreeks)
    return data


def model_rows(records: list[BaseModel] | TableRows) -> Iterator[tuple[str, Rows]]:
    if records:
        rows = records.columns() if isinstance(records, TableRows) else Rows.of(records)
        yield rows.table, rows


def account_rows(out: Outputs, run_id: str) -> Iterator[tuple[str, Rows]]:
    greeks = greeks_rows(out.greeks, run_id)
    if greeks is not None:
        yield greeks.table, greeks
    tables: tuple[list[Any] | TableRows, ...] = (
        out.signals,
        out.decisions,
        out.fills,
        out.order_events,
        out.snapshots,
        out.daily,
        out.alerts,
        out.states,
    )
    for records in tables:
        yield from model_rows(records if isinstance(records, TableRows) else list(records))


def _message(
    topic: str, key: str | None, record: BaseModel
) -> KafkaSinkMessage[bytes | None, bytes]:
    return KafkaSinkMessage(
        key=None if key is None else key.encode(),
        value=record.model_dump_json().encode(),
        topic=topic,
    )


def account_messages(
    out: Outputs, topics: Topics
) -> Iterator[KafkaSinkMessage[bytes | None, bytes]]:
    """The outputs for downstream consumers, keyed by account."""
    arrived = out.arrived if isinstance(out, Stamped) else {}
    for topic, records in (
        (topics.signals, out.signals),
        (topics.decisions, out.decisions),
        (topics.fills, out.fills),
        (topics.orders, out.order_events),
        (topics.alerts, out.alerts),
    ):
        for record in records:
            message = _message(topic, record.account_id, record)
            if arrived and isinstance(record, Decision) and record.decision_id in arrived:
                yield StampedMessage(
                    message.key,
                    message.value,
                    topic,
                    decision_id=record.decision_id,
                    arrived_ns=arrived[record.decision_id],
                )
            else:
                yield message


def market_messages(
    output: MarketOutput, topics: Topics
) -> Iterator[KafkaSinkMessage[bytes | None, bytes]]:
    """Market alerts (keyed by the market account) and dead letters (keyed as they came)."""
    for alert in output.alerts:
        yield _message(topics.alerts, alert.account_id, alert)
    yield from dead_letter_messages(output.dead, topics)


def dead_letter_messages(
    dead: list[DeadLetter], topics: Topics
) -> Iterator[KafkaSinkMessage[bytes | None, bytes]]:
    for letter in dead:
        yield _message(topics.deadletter, letter.key, letter)

"""Books to test accounting on: four instruments and one way to fill them."""

from __future__ import annotations

from dataclasses import replace

from flows.trading.portfolio import Book, FillOutcome, FillRequest, apply_fill
from schemas.common import AssetClass, Side

TS = 1_790_000_000_000  # 2026-09-21T...Z
EXPIRY = 1_797_800_400_000  # 2026-12-18T21:00:00Z
CALL = "AAPL261218C00150000"
PUT = "AAPL261218P00100000"

# One unit bought at 0 of each: `fill` replaces the side, size, price, commission and time.
CONTRACTS = (
    FillRequest(TS, "AAPL", "AAPL", AssetClass.EQUITY, 1, Side.BUY, 1, 0.0, 0),
    FillRequest(TS, "MSFT", "MSFT", AssetClass.EQUITY, 1, Side.BUY, 1, 0.0, 0),
    FillRequest(TS, CALL, "AAPL", AssetClass.OPTION, 100, Side.BUY, 1, 0.0, 0, EXPIRY, 150.0, True),
    FillRequest(TS, PUT, "AAPL", AssetClass.OPTION, 100, Side.BUY, 1, 0.0, 0, EXPIRY, 100.0, False),
)


def fill(
    book: Book,
    contract: FillRequest,
    side: Side,
    quantity: int,
    price: float,
    commission_cents: int = 0,
    ts: int = TS,
) -> FillOutcome:
    request = replace(
        contract,
        side=side,
        quantity=quantity,
        price=price,
        commission_cents=commission_cents,
        ts=ts,
    )
    return apply_fill(book, request)

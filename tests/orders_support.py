"""A small book of orders with their status histories, as the account stage would write them,
for the tests that read orders back (store, API, CLI, console, dashboards)."""

from __future__ import annotations

from typing import Any

from schemas.trading import OrderEvent

T0 = 1_795_000_000_000  # 2026-11-18 (UTC)


def order_event(
    run: str, account: str, order_id: str, sequence: int, ts: int, **changes: Any
) -> OrderEvent:
    """Row `sequence` of an order placed at T0 + its number of seconds; `changes` override."""
    values: dict[str, Any] = {
        "event_id": f"{order_id}:{sequence}",
        "order_id": order_id,
        "sequence": sequence,
        "decision_id": f"{order_id}-d",
        "run_id": run,
        "account_id": account,
        "ts": ts,
        "placed_ts": ts,
        "instrument": "AAPL",
        "underlying": "AAPL",
        "asset_class": "equity",
        "side": "buy",
        "order_type": "limit",
        "time_in_force": "gtc",
        "purpose": "entry",
        "quantity": 100,
        "filled_quantity": 0,
        "limit_price": 190.5,
        "status": "new",
    }
    return OrderEvent(**{**values, **changes})


def order_book(run: str, account: str, prefix: str = "o") -> list[OrderEvent]:
    """Six orders of `account`, placed a second apart (o1 first), each with its history:

    - o1 limit buy 100, filled 40 of 100: resting (partially_filled)
    - o2 market buy 10 entry: filled
    - o3 stop sell 10, stop-loss of o2: resting (new)
    - o4 limit take-profit of o2 (same OCO group as o3), on MSFT: resting (new)
    - o5 trailing-stop sell 10 by 2%: cancelled by the operator
    - o6 limit buy 5: rejected
    """

    def placed(n: int) -> int:
        return T0 + n * 1000

    o = [f"{prefix}{n}" for n in range(7)]
    bracket = {"parent_id": o[2], "oco_group": f"{o[2]}-oco", "side": "sell", "quantity": 10}
    return [
        order_event(run, account, o[1], 0, placed(1)),
        order_event(
            run, account, o[1], 1, placed(1) + 5000, placed_ts=placed(1),
            status="partially_filled", filled_quantity=40, avg_fill_price=190.4,
        ),
        order_event(
            run, account, o[2], 0, placed(2), order_type="market", time_in_force="day",
            quantity=10, limit_price=None,
        ),
        order_event(
            run, account, o[2], 1, placed(2), order_type="market", time_in_force="day",
            quantity=10, limit_price=None, status="filled", filled_quantity=10,
            avg_fill_price=191.0,
        ),
        order_event(
            run, account, o[3], 0, placed(3), order_type="stop", purpose="stop_loss",
            limit_price=None, stop_price=181.45, **bracket,
        ),
        order_event(
            run, account, o[4], 0, placed(4), purpose="take_profit", limit_price=210.1,
            instrument="MSFT", underlying="MSFT", **bracket,
        ),
        order_event(
            run, account, o[5], 0, placed(5), order_type="trailing_stop", side="sell",
            quantity=10, limit_price=None, trail_percent=0.02, purpose="trailing_stop",
        ),
        order_event(
            run, account, o[5], 1, placed(5) + 9000, placed_ts=placed(5),
            order_type="trailing_stop", side="sell", quantity=10, limit_price=None,
            trail_percent=0.02, purpose="trailing_stop", status="cancelled",
            reason="cancelled by operator",
        ),
        order_event(
            run, account, o[6], 0, placed(6), quantity=5, status="rejected",
            reason="stale quote: 4.0 s old, at most 2.0 s",
        ),
    ]  # fmt: skip

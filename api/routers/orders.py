"""Orders: each order's state and history, and cancelling a resting one.

An order's rows in `paper_orders` are its status changes (schemas.trading.OrderEvent); its
state is the latest. `GET /orders` lists states with the filters and cursor paging of the other
listings, ordered by when the orders were placed (sinks/store/orders.py says why);
`GET /orders/{id}` adds the history. Orders are named within a run: `run` defaults to 'live'.

`POST /orders/{id}/cancel` produces a `cancel_order` command for the order's account on the
control topic, as the other control commands are produced (api/routers/control.py), and
answers 202 with it. Only a live order that is still open (new or partially filled) can be
cancelled: anything else is a 409 naming its status. The flow applies the command between
ticks; if the order filled in the meantime, the flow refuses the command, and
`GET /commands/{command_id}` tells which happened.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, HTTPException, Path, Query, status
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from api.deps import BODY_RESPONSES, ServicesDep, error_response
from api.routers.common import Page, page_of, record_query
from api.routers.control import UNAVAILABLE, CommandRequest, send_command
from schemas.common import LIVE_RUN, Identifier, Instrument, OrderStatus, RunId, Symbol
from schemas.config import ControlAction, ControlCommand
from schemas.trading import OrderEvent
from sinks.store.orders import OPEN_STATUSES, OrderFilter, order_history, orders
from sinks.store.records import Listing

router = APIRouter(prefix="/orders", tags=["orders"])

OrderId = Annotated[Identifier, Path(description="The order's id.")]
RunQuery = Annotated[RunId, Query(description="'live', or a backtest's run id.")]
OPEN_HELP = "true: only resting orders (new, partially filled); false: only finished ones."
UNKNOWN = error_response(404, "No order with this id in the run.")


class OrderDetail(BaseModel):
    """An order's state (its latest row) and every row of its history, oldest first."""

    order: OrderEvent
    history: list[OrderEvent] = Field(description="Its status changes in (ts, sequence) order.")


@router.get("", summary="Orders, each as its latest state (resting ones with open=true)")
async def list_orders(
    found: ServicesDep,
    query: Annotated[Listing, Depends(record_query)],
    symbol: Annotated[Symbol | None, Query(description="Only this underlying.")] = None,
    instrument: Annotated[Instrument | None, Query(description="Only this instrument.")] = None,
    order_status: Annotated[
        OrderStatus | None, Query(alias="status", description="Only orders in this status now.")
    ] = None,
    open_: Annotated[bool | None, Query(alias="open", description=OPEN_HELP)] = None,
    purpose: Annotated[
        str | None,
        Query(pattern=r"^[a-z_]{1,40}$", description="Only this purpose (entry, stop_loss, ...)."),
    ] = None,
) -> Page[OrderEvent]:
    chosen = OrderFilter(
        underlying=symbol,
        instrument=instrument,
        purpose=purpose,
        status=order_status.value if order_status else None,
        open=open_,
    )
    page = await found.read_records(orders, query, chosen)
    return page_of(page, query.order)


async def _history(found: ServicesDep, run: str, order_id: str) -> list[OrderEvent]:
    # Read afresh, not shared with recent reads: a cancel decides on the order's state now.
    history = await run_in_threadpool(order_history, found.clickhouse, run, order_id)
    if not history:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no order {order_id} in run {run}")
    return history


@router.get("/{order_id}", summary="An order's state and status history", responses=UNKNOWN)
async def order_detail(
    found: ServicesDep, order_id: OrderId, run: RunQuery = LIVE_RUN
) -> OrderDetail:
    history = await _history(found, run, order_id)
    return OrderDetail(order=history[-1], history=history)


@router.post(
    "/{order_id}/cancel",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Cancel a resting live order",
    description="Produce a `cancel_order` command for the order's account on the control "
    "topic. Only an open order (new or partially filled) of the live run can be cancelled.",
    responses={
        **BODY_RESPONSES,
        **UNKNOWN,
        **error_response(409, "The order is not open, or the command id names another command."),
        **UNAVAILABLE,
    },
)
async def cancel_order(
    found: ServicesDep,
    order_id: OrderId,
    request: Annotated[CommandRequest | None, Body()] = None,
) -> ControlCommand:
    state = (await _history(found, LIVE_RUN, order_id))[-1]
    if state.status.value not in OPEN_STATUSES:
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            f"order {order_id} is {state.status.value}, not open: only a new or partially "
            "filled order can be cancelled",
        )
    return await send_command(
        found, state.account_id, ControlAction.CANCEL_ORDER, request, order_id=order_id
    )

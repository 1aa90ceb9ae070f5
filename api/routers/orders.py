"""Orders: each order's state and history, and cancelling a resting one.

An order's rows in `paper_orders` are its status changes (schemas.trading.OrderEvent); its
state is the latest. `GET /orders` lists states with the filters and cursor paging of the other
listings, ordered by when the orders were placed (sinks/store/orders.py says why);
`GET /orders/{id}` adds the history. Orders are named within a run: `run` defaults to 'live'.

`POST /orders/{id}/cancel` produces a `cancel_order` command for the order's account on the
control topic, as the other control commands are produced (api/routers/control.py), and
answers 202 with it. Only a live order that is still open (new or partially filled) can be
cancelled: anything else is a 409 naming its status. The flow applies the command between
ticks; if the order filled in the meantime, the flow refuses the command with a
`cancel_rejected` alert.

`POST /orders/{id}/replace` does the same with a `replace_order` command carrying the new terms
(schemas.config.OrderTerms): only those the order's type has (422 otherwise), and a quantity
above what it filled. The flow ends the order `replaced` and places its successor
(flows/accounts/replace.py), or refuses with a `replace_rejected` alert.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, HTTPException, Path, Query, status
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field, model_validator

from api.deps import BODY_RESPONSES, ServicesDep, error_response
from api.routers.common import Page, page_of, record_query, unprocessable
from api.routers.control import UNAVAILABLE, CommandRequest, send_command
from schemas.common import LIVE_RUN, Identifier, Instrument, OrderStatus, RunId, Symbol
from schemas.config import ControlAction, ControlCommand
from schemas.order_terms import OrderTerms
from schemas.trading import OrderEvent
from sinks.store.orders import OPEN_STATUSES, OrderFilter, order_history, orders
from sinks.store.records import Listing

router = APIRouter(prefix="/orders", tags=["orders"])

OrderId = Annotated[Identifier, Path(description="The order's id.")]
RunQuery = Annotated[RunId, Query(description="'live', or a backtest's run id.")]
OPEN_HELP = "true: only resting orders (new, partially filled); false: only finished ones."
UNKNOWN = error_response(404, "No order with this id in the run.")


class ReplaceRequest(CommandRequest, OrderTerms):
    """An order's new terms (at least one; see `OrderTerms`), and the command's details."""

    @model_validator(mode="after")
    def _some_term(self) -> ReplaceRequest:
        if not self.changes:
            raise ValueError(
                "give at least one new term: quantity, limit_price, stop_price, trail_amount "
                "or trail_percent"
            )
        return self


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
    state = await _open_order(found, order_id, "cancelled")
    return await send_command(
        found, state.account_id, ControlAction.CANCEL_ORDER, request, order_id=order_id
    )


@router.post(
    "/{order_id}/replace",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Replace a resting live order's terms (cancel and replace)",
    description="Produce a `replace_order` command for the order's account on the control "
    "topic. Only an open order (new or partially filled) of the live run can be replaced, "
    "only with terms its type has (a limit price for a limit or stop-limit, a stop price for a "
    "stop or stop-limit, a trail for a trailing stop; a quantity for any), and a new total "
    "quantity above what it filled.",
    responses={
        **BODY_RESPONSES,
        **UNKNOWN,
        **error_response(409, "The order is not open, or the command id names another command."),
        **UNAVAILABLE,
    },
)
async def replace_order(
    found: ServicesDep, order_id: OrderId, request: Annotated[ReplaceRequest, Body()]
) -> ControlCommand:
    state = await _open_order(found, order_id, "replaced")
    fault = request.problem_for(state.order_type, state.filled_quantity)
    if fault is not None:
        term, why = fault
        raise unprocessable(("body", term), f"order {order_id}: {why}", getattr(request, term))
    return await send_command(
        found,
        state.account_id,
        ControlAction.REPLACE_ORDER,
        request,
        order_id=order_id,
        terms=request,
    )


async def _open_order(found: ServicesDep, order_id: str, what: str) -> OrderEvent:
    """The live order's state, if it is open (a 404 if unknown, a 409 if finished)."""
    state = (await _history(found, LIVE_RUN, order_id))[-1]
    if state.status.value not in OPEN_STATUSES:
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            f"order {order_id} is {state.status.value}, not open: only a new or partially "
            f"filled order can be {what}",
        )
    return state

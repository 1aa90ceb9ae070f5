"""What became of a command: `GET /commands/{id}` answers pending, applied (with the state it
produced) or rejected (with the reason), for the live run.

The evidence is the flow's own: an alert refusing it (`command_rejected`, `cancel_rejected`,
`replace_rejected`, whose message starts with the command's id), or a trading state or order
rows carrying the command's id (a cancel or a replace changes no state: its order rows say it
applied). An outcome, once known, is kept in this process's command log (the table keeps
an account's latest state only). `wait` holds the answer up to that many seconds while the
command is pending, so a client sees a refusal without polling.
"""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, status
from fastapi.concurrency import run_in_threadpool

from api.commands import CommandOutcome, Sent
from api.deps import Services, ServicesDep, error_response
from api.routers.control import CommandId
from schemas.common import LIVE_RUN
from sinks.store.commands import command_orders, command_refusal, command_state

router = APIRouter(prefix="/commands", tags=["control"])

POLL_SECONDS = 0.2


def _outcome(found: Services, command_id: str, sent: Sent | None) -> CommandOutcome | None:
    """The outcome the tables tell; pending if only this server knows the command."""
    action = sent.command.action if sent is not None else None
    refusal = command_refusal(found.clickhouse, LIVE_RUN, command_id)
    if refusal is not None:
        account, message = refusal
        why = message.removeprefix(f"command {command_id}").lstrip(": ")
        return CommandOutcome(
            command_id=command_id,
            account_id=account,
            action=action,
            status="rejected",
            reason=why,
        )
    state = command_state(found.clickhouse, LIVE_RUN, command_id)
    orders = command_orders(found.clickhouse, LIVE_RUN, command_id)
    if state is not None or orders:
        first = state if state is not None else orders[0]
        return CommandOutcome(
            command_id=command_id,
            account_id=first.account_id,
            action=action,
            status="applied",
            reason=first.reason,
            state=state,
            orders=orders,
        )
    if sent is None:
        return None
    return CommandOutcome(
        command_id=command_id,
        account_id=sent.command.account_id,
        action=action,
        status="pending",
        reason="",
    )


@router.get(
    "/{command_id}",
    summary="What became of a command: pending, applied or rejected (with the reason)",
    responses=error_response(404, "Neither this server nor the flow's tables know it."),
)
async def command_outcome(
    found: ServicesDep,
    command_id: Annotated[CommandId, Path(description="The command's id.")],
    wait: Annotated[
        float, Query(ge=0, le=10, description="Seconds to wait while it is pending.")
    ] = 0.0,
) -> CommandOutcome:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    while True:
        sent = found.commands.find(command_id)
        if sent is not None and sent.outcome is not None:
            return sent.outcome
        outcome = await run_in_threadpool(_outcome, found, command_id, sent)
        if outcome is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no command {command_id} is known")
        if outcome.status != "pending":
            if sent is not None:
                sent.outcome = outcome
            return outcome
        if loop.time() >= deadline:
            return outcome
        await asyncio.sleep(POLL_SECONDS)

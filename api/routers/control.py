"""Auto-trade control per account: commands out to the flow, applied state back from it.

A command is a `schemas.config.ControlCommand` produced on the control topic (key: account);
the answer is 202 with the command once the broker has it. The flow applies commands between
ticks, at the account stage, and writes the resulting state to `auto_trade_state`, where
`GET /accounts/{id}/state` reads it. A command the state machine does not allow (e.g. `pause`
while stopped) leaves the state as it was and raises a `command_rejected` alert (see
flows/trading/orchestrator.py). `GET /commands/{id}` tells which happened (api/routers/
commands.py). A command id sent twice is applied once (api/commands.py).

Commands go only to accounts that have an algorithm config (create one with POST /configs);
`start` and `resume` are refused for a disabled config.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from confluent_kafka import KafkaException
from fastapi import APIRouter, Body, HTTPException, Path, Query, status
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field

from api.commands import CommandIdConflictError
from api.deps import (
    BODY_RESPONSES,
    Services,
    ServicesDep,
    error_response,
)
from schemas.common import LIVE_RUN, AccountId, RunId, Text, wall_clock_ms
from schemas.config import AlgorithmConfig, ControlAction, ControlCommand
from schemas.order_terms import OrderTerms
from schemas.trading import TradingState
from sinks.store.configs import config_versions
from sinks.store.states import trading_states

router = APIRouter(prefix="/accounts", tags=["control"])

CommandId = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:\-]{0,127}$")]


class CommandRequest(BaseModel):
    """Optional details of a command."""

    model_config = ConfigDict(extra="forbid")
    reason: Text = Field(default="", description="Why; recorded with the state and alerts.")
    command_id: CommandId | None = Field(
        default=None,
        description="Your id for the command (default: a new unique id). Sending a command "
        "again with its id applies it once.",
    )


NOT_FOUND = error_response(404, "The account has no config.")
UNAVAILABLE = error_response(503, "The broker did not take it.")


async def send_command(
    found: Services,
    account_id: str,
    action: ControlAction,
    request: CommandRequest | None,
    config: AlgorithmConfig | None = None,
    order_id: str = "",
    terms: OrderTerms | None = None,
) -> ControlCommand:
    details = request or CommandRequest()
    command = ControlCommand(
        command_id=details.command_id or f"api-{uuid.uuid4().hex}",
        account_id=account_id,
        ts=wall_clock_ms(),
        action=action,
        reason=details.reason,
        config=config,
        order_id=order_id,
        **(terms.changes if terms is not None else {}),
    )
    try:
        earlier = found.commands.claim(command)
    except CommandIdConflictError as error:
        raise HTTPException(status.HTTP_409_CONFLICT, str(error)) from None
    if earlier is not None:  # sent already: the same answer, and nothing published again
        return earlier
    try:
        await run_in_threadpool(found.publish, command)
    except KafkaException as error:
        found.commands.forget(command.command_id)
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE, f"the broker did not take the command: {error}"
        ) from None
    return command


def _register(action: ControlAction, path: str, summary: str) -> None:
    async def command(
        found: ServicesDep,
        account_id: Annotated[AccountId, Path(description="The account.")],
        request: Annotated[CommandRequest | None, Body()] = None,
    ) -> ControlCommand:
        versions = await run_in_threadpool(config_versions, found.clickhouse, account_id)
        if not versions:
            raise HTTPException(
                status.HTTP_404_NOT_FOUND,
                f"account {account_id} has no algorithm config; create one with POST /configs",
            )
        if action in (ControlAction.START, ControlAction.RESUME) and not versions[-1].enabled:
            raise HTTPException(
                status.HTTP_409_CONFLICT,
                f"the config of {account_id} is disabled; PUT an enabled one first",
            )
        return await send_command(found, account_id, action, request)

    command.__name__ = f"{action.value}_account"
    router.add_api_route(
        f"/{{account_id}}/{path}",
        command,
        methods=["POST"],
        status_code=status.HTTP_202_ACCEPTED,
        summary=summary,
        description=f"Produce a `{action.value}` command on the control topic.",
        responses={
            **BODY_RESPONSES,
            **NOT_FOUND,
            **error_response(
                409, "The config is disabled, or the command id names another command."
            ),
            **UNAVAILABLE,
        },
        response_model=ControlCommand,
    )


for _action, _path, _summary in (
    (ControlAction.START, "start", "Start trading"),
    (ControlAction.STOP, "stop", "Stop trading (working orders are cancelled)"),
    (ControlAction.PAUSE, "pause", "Pause trading"),
    (ControlAction.RESUME, "resume", "Resume trading after a pause or reduce-only"),
    (ControlAction.REDUCE_ONLY, "reduce-only", "Only orders that reduce exposure"),
    (ControlAction.KILL_SWITCH, "kill-switch", "Halt at once (kill switch)"),
):
    _register(_action, _path, _summary)


@router.get("", summary="Applied trading state of every account")
async def states(
    found: ServicesDep,
    run: Annotated[RunId, Query(description="'live', or a backtest's run id.")] = LIVE_RUN,
) -> list[TradingState]:
    return await run_in_threadpool(trading_states, found.clickhouse, run)


@router.get(
    "/{account_id}/state",
    summary="Applied trading state of an account",
    responses=error_response(404, "No state recorded yet."),
)
async def state(
    found: ServicesDep,
    account_id: Annotated[AccountId, Path(description="The account.")],
    run: Annotated[RunId, Query(description="'live', or a backtest's run id.")] = LIVE_RUN,
) -> TradingState:
    rows = await run_in_threadpool(trading_states, found.clickhouse, run, account_id)
    if not rows:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, f"no trading state recorded for {account_id} in {run}"
        )
    return rows[0]

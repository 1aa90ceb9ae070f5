"""An account shard: the ordered merge of every input channel, and the accounts it hosts.

Accounts are spread over a fixed number of shards by a stable hash of their id, so a shard's
key never changes and each account lives in exactly one shard. Every market update goes to
every shard; a shard releases the rows the merge makes final and advances each of its
accounts over them, in account-id order.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field

from flows.account import advance, apply_control
from flows.account_state import AccountParams, AccountState, Outputs, new_account, record_state
from flows.batches import MarketUpdate
from flows.merge import FINISHED, Merger, new_merger, push
from schemas.common import TradingStatus
from schemas.config import AlgorithmConfig, ControlAction, ControlCommand


def shard_of(account_id: str, shards: int) -> str:
    return f"shard-{zlib.crc32(account_id.encode()) % shards}"


@dataclass(slots=True)
class ShardState:
    merger: Merger
    accounts: dict[str, AccountState] = field(default_factory=dict)
    started: bool = False


def new_shard(channels: list[str], configs: list[AlgorithmConfig]) -> ShardState:
    state = ShardState(merger=new_merger(channels))
    for config in configs:
        state.accounts[config.account_id] = new_account(config)
    return state


def _start(state: ShardState, params: AccountParams, ts: int, out: Outputs) -> None:
    """Record every account's initial state once, at the first event time the shard sees."""
    state.started = True
    for account_id in sorted(state.accounts):
        record_state(state.accounts[account_id], params, ts, out)


def on_market(state: ShardState, update: MarketUpdate, params: AccountParams) -> Outputs:
    out = Outputs()
    segment = push(state.merger, update)
    horizon = state.merger.horizon()
    if horizon is None:
        return out
    if not state.started and segment is not None and len(segment):
        _start(state, params, int(segment.ts[0]), out)
    for account_id in sorted(state.accounts):
        out.extend(advance(state.accounts[account_id], segment, horizon, params))
    return out


def on_commands(
    state: ShardState, commands: list[ControlCommand], params: AccountParams
) -> Outputs:
    out = Outputs()
    for command in commands:
        account = state.accounts.get(command.account_id)
        if account is None:
            if command.action != ControlAction.CONFIG_UPDATE or command.config is None:
                continue  # commands for unknown accounts are reported by the control stage
            # A new account waits for an explicit start.
            account = new_account(command.config, TradingStatus.STOPPED)
            account.clock = command.ts
            state.accounts[command.account_id] = account
        out.extend(apply_control(account, command, params))
    return out


def finished(state: ShardState) -> bool:
    return state.merger.finished and state.merger.horizon() == FINISHED

"""An account shard: the ordered merge of every input channel, and the accounts it hosts.

Accounts are spread over a fixed number of shards by a stable hash of their id, so a shard's
key never changes and each account lives in exactly one shard. Every market update goes to
every shard; a shard releases the rows the merge makes final and advances each of its
accounts over them, in account-id order. With option quotes fed, the quotes are rows of the
merge too (their symbol is the contract's OCC symbol), and the first shard prices each quoted
chain for `option_greeks`.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from flows.accounts.context import AccountContext
from flows.accounts.control import apply_control
from flows.accounts.state import AccountParams, AccountState, Outputs, new_account
from flows.accounts.timeline import advance
from flows.stages.arrivals import Arrivals
from flows.stages.market import MarketUpdate
from flows.stages.merge import FINISHED, Merger, new_merger, push
from flows.trading.chain import Chain, ChainSample, chains_in, contract_terms
from flows.trading.ids import make_id
from flows.trading.ticks import HEARTBEAT, Segment
from schemas.common import Severity, TradingStatus
from schemas.config import AlgorithmConfig, ControlAction, ControlCommand
from schemas.trading import Alert


def shard_of(account_id: str, shards: int) -> str:
    return f"shard-{zlib.crc32(account_id.encode()) % shards}"


@dataclass(slots=True)
class ChainPricer:
    """Prices each quoted option chain as it arrives, at its underlying's latest mid.

    The feed sends a chain as quotes of one event time; the first shard (every shard sees the
    same merged rows) turns each (time, underlying) group into `option_greeks` rows, so they
    are written once and in the same order on every run.
    """

    spots: dict[str, float] = field(default_factory=dict)
    underlying_of: dict[int, str | None] = field(default_factory=dict)  # None: a ticker's code


@dataclass(slots=True)
class ShardState:
    merger: Merger
    accounts: dict[str, AccountState] = field(default_factory=dict)
    started: bool = False
    pricer: ChainPricer | None = None
    arrivals: Arrivals = field(default_factory=Arrivals)  # processing time, for a metric only


def new_shard(
    channels: list[str],
    configs: list[AlgorithmConfig],
    status: Mapping[str, TradingStatus] | None = None,
    price_chains: bool = False,
) -> ShardState:
    """A shard hosting `configs`' accounts; `status` overrides an account's starting status
    (the live flow passes each account's last applied status, so a restart does not re-arm a
    stopped or halted account). `price_chains`: this shard writes the quoted chains' Greeks."""
    state = ShardState(merger=new_merger(channels), pricer=ChainPricer() if price_chains else None)
    for config in configs:
        state.accounts[config.account_id] = new_account(
            config, (status or {}).get(config.account_id)
        )
    return state


def _start(state: ShardState, params: AccountParams, ts: int, out: Outputs) -> None:
    """Record every account's initial state once, at the first event time the shard sees."""
    state.started = True
    for account_id in sorted(state.accounts):
        AccountContext(state.accounts[account_id], params, out).record_state(ts)


def on_market(state: ShardState, update: MarketUpdate, params: AccountParams) -> Outputs:
    out = Outputs()
    segment = push(state.merger, update)
    horizon = state.merger.horizon()
    if horizon is None:
        return out
    if not state.started and segment is not None and len(segment):
        _start(state, params, int(segment.ts[0]), out)
    if state.pricer is not None and segment is not None:
        out.greeks.extend(price_chains(state.pricer, segment, params))
    for account_id in sorted(state.accounts):
        out.extend(advance(state.accounts[account_id], segment, horizon, params))
    return out


def price_chains(pricer: ChainPricer, seg: Segment, params: AccountParams) -> list[ChainSample]:
    """A `ChainSample` per (event time, underlying) group of option quotes in the segment, in
    the order the groups begin."""
    kinds = pricer.underlying_of
    for code in range(len(kinds), len(seg.symbols)):
        terms = contract_terms(seg.symbols[code])
        kinds[code] = None if terms is None else terms[0]
    present = np.unique(seg.codes[seg.codes != HEARTBEAT]).tolist()
    tickers = {seg.symbols[code]: code for code in present if kinds[code] is None}
    contracts_of: dict[str, list[int]] = {}
    for code in present:
        underlying = kinds[code]
        if underlying is not None:
            contracts_of.setdefault(underlying, []).append(code)
    columns = (seg.ts, seg.bid, seg.ask, seg.mid)
    found: list[tuple[np.ndarray, Chain]] = []
    for underlying, codes in contracts_of.items():
        quote_rows = np.flatnonzero(np.isin(seg.codes, codes))
        ticker = tickers.get(underlying)
        spot_rows = np.flatnonzero(seg.codes == ticker) if ticker is not None else quote_rows[:0]
        names = [seg.symbols[c] for c in seg.codes[quote_rows].tolist()]
        spot_before = pricer.spots.get(underlying)
        for rows, chain in chains_in(
            underlying, quote_rows, names, spot_rows, columns, spot_before, params.chain
        ):
            if len(chain):
                found.append((rows, chain))
    for symbol, code in tickers.items():
        pricer.spots[symbol] = float(seg.mid[np.flatnonzero(seg.codes == code)[-1]])
    found.sort(key=lambda item: int(item[0][0]))
    samples = []
    for rows, chain in found:
        sample = ChainSample(int(seg.partition[rows[0]]), int(seg.offsets[rows[0]]), chain)
        if seg.bid_size is not None and seg.ask_size is not None:
            at = _contract_rows(seg, rows, chain)
            sample.bid_size, sample.ask_size = seg.bid_size[at], seg.ask_size[at]
        samples.append(sample)
    return samples


def _contract_rows(seg: Segment, rows: np.ndarray, chain: Chain) -> np.ndarray:
    """The row of each of the chain's contracts among its quotes' `rows` (the chain orders and
    filters its contracts)."""
    row_of = {seg.symbols[seg.codes[row]]: row for row in rows.tolist()}
    return np.array([row_of[contract] for contract in chain.contracts], dtype=np.intp)


def on_commands(
    state: ShardState, commands: list[ControlCommand], params: AccountParams
) -> Outputs:
    out = Outputs()
    for command in commands:
        account = state.accounts.get(command.account_id)
        if account is None:
            if command.action != ControlAction.CONFIG_UPDATE or command.config is None:
                out.alerts.append(_unknown_account(command, params))
                continue
            # A new account waits for an explicit start.
            account = new_account(command.config, TradingStatus.STOPPED)
            account.clock = command.ts
            state.accounts[command.account_id] = account
        out.extend(apply_control(account, command, params))
    return out


def _unknown_account(command: ControlCommand, params: AccountParams) -> Alert:
    return Alert(
        alert_id=make_id(params.run_id, command.account_id, "command_rejected", command.command_id),
        run_id=params.run_id,
        account_id=command.account_id,
        ts=command.ts,
        severity=Severity.WARNING,
        kind="command_rejected",
        message=f"command {command.command_id} ({command.action.value}) names an account with "
        "no config; send a config_update first",
    )


def finished(state: ShardState) -> bool:
    return state.merger.finished and state.merger.horizon() == FINISHED

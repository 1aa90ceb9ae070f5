"""A book's open positions marked to market: `Position` rows and `position_snapshots` rows.

Conventions as in `flows.trading.portfolio`: money is exact in cents and shown in currency;
marks are in currency per unit and valued on the 0.0001 grid; `ts` is event time (UTC ms).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from flows.trading.orchestrator import WorstScenario
from flows.trading.paper_broker import PRICE_SCALE, to_price_ticks
from flows.trading.portfolio import Book
from flows.trading.valuation import (
    equity,
    mark_value_cents,
    market_value,
    unrealised_cents,
    unrealised_pnl,
)
from schemas.common import money
from schemas.tables import trusted
from schemas.trading import Position, PositionSnapshot


@dataclass(frozen=True, slots=True)
class PositionGreeks:
    """Greeks of a whole position in currency terms (delta in shares, vega per 1.00 of vol,
    theta per year), as `schemas.trading.PositionSnapshot` records them."""

    delta: float = 0.0
    gamma: float = 0.0
    vega: float = 0.0
    theta: float = 0.0


_NO_GREEKS = PositionGreeks()


def positions(book: Book, account_id: str, marks: Mapping[str, float]) -> list[Position]:
    """Open positions marked at `marks`, sorted by instrument.

    `mark_price` is the mark on the 0.0001 grid that the valuation used; `realised_pnl` is the
    gross PnL realised by partial closes of the open position.
    """
    rows = []
    for name in sorted(book.holdings):
        holding = book.holdings[name]
        mark = marks[name]
        rows.append(
            Position(
                account_id=account_id,
                instrument=name,
                underlying=holding.underlying,
                asset_class=holding.asset_class,
                quantity=holding.quantity,
                multiplier=holding.multiplier,
                avg_price=holding.avg_price,
                mark_price=to_price_ticks(mark) / PRICE_SCALE,
                market_value=market_value(holding, mark),
                unrealised_pnl=unrealised_pnl(holding, mark),
                realised_pnl=money(holding.realised_cents),
            )
        )
    return rows


def snapshot_rows(
    book: Book,
    *,
    run_id: str,
    account_id: str,
    ts: int,
    marks: Mapping[str, float],
    greeks: Mapping[str, PositionGreeks] | None = None,
    scenario: WorstScenario | None = None,
) -> list[PositionSnapshot]:
    """`position_snapshots` rows at event time `ts`: one per holding, then the account row.

    The account row has `instrument = ''` and carries the totals: market value, unrealised PnL,
    Greeks summed over holdings (meaningful for a single underlying), realised PnL of the whole
    run (gross of commissions, like `Book.realised_cents`), quantity 0. Every row carries the
    account's cash and equity. Greeks missing from `greeks` count as 0. `scenario_loss` is the
    worst loss over the shock grid (`scenario`, with the holdings sorted by instrument): the
    book's on the account row, each position's own (revalued alone) on its row, and 0 on every
    row without a scenario (the rule is off). `row_id` is
    `{account_id}:{ts}:{instrument or 'account'}`, so a replay writes the same ids.
    """
    greeks = greeks or {}
    cash = money(book.cash_cents)
    total_equity = equity(book, marks)
    rows = []
    value_total = unrealised_total = 0
    delta = gamma = vega = theta = 0.0
    own_losses = scenario.position_losses.tolist() if scenario is not None else None
    for index, position in enumerate(positions(book, account_id, marks)):
        name = position.instrument
        position_greeks = greeks.get(name, _NO_GREEKS)
        value_total += mark_value_cents(book.holdings[name], marks[name])
        unrealised_total += unrealised_cents(book.holdings[name], marks[name])
        delta += position_greeks.delta
        gamma += position_greeks.gamma
        vega += position_greeks.vega
        theta += position_greeks.theta
        own = own_losses[index] if own_losses is not None else 0.0
        rows.append(_holding_row(run_id, ts, position, position_greeks, (cash, total_equity, own)))
    totals = _Totals(money(value_total), money(unrealised_total), (delta, gamma, vega, theta))
    loss = scenario.loss if scenario is not None else 0.0
    rows.append(_account_row(book, run_id, account_id, ts, totals, (cash, total_equity, loss)))
    return rows


@dataclass(frozen=True, slots=True)
class _Totals:
    market_value: float
    unrealised_pnl: float
    greeks: tuple[float, float, float, float]  # delta, gamma, vega, theta


def _account_row(
    book: Book,
    run_id: str,
    account_id: str,
    ts: int,
    totals: _Totals,
    account: tuple[float, float, float],
) -> PositionSnapshot:
    """The row with `instrument = ''`: the holdings' totals; `account` is (cash, equity, the
    book's worst scenario loss)."""
    cash, total_equity, loss = account
    delta, gamma, vega, theta = totals.greeks
    return trusted(
        PositionSnapshot,
        row_id=f"{account_id}:{ts}:account",
        run_id=run_id,
        account_id=account_id,
        ts=ts,
        instrument="",
        underlying="",
        quantity=0,
        avg_price=0.0,
        mark_price=0.0,
        market_value=totals.market_value,
        unrealised_pnl=totals.unrealised_pnl,
        realised_pnl=money(book.realised_cents),
        delta=delta,
        gamma=gamma,
        vega=vega,
        theta=theta,
        cash=cash,
        equity=total_equity,
        scenario_loss=loss,
    )


def _holding_row(
    run_id: str,
    ts: int,
    position: Position,
    greeks: PositionGreeks,
    figures: tuple[float, float, float],
) -> PositionSnapshot:
    """A holding's row of a snapshot: the marked position, its Greeks, and `figures`: the
    account's cash and equity and the position's own worst scenario loss."""
    cash, total_equity, scenario_loss = figures
    return trusted(
        PositionSnapshot,
        row_id=f"{position.account_id}:{ts}:{position.instrument}",
        run_id=run_id,
        account_id=position.account_id,
        ts=ts,
        instrument=position.instrument,
        underlying=position.underlying,
        quantity=position.quantity,
        avg_price=position.avg_price,
        mark_price=position.mark_price,
        market_value=position.market_value,
        unrealised_pnl=position.unrealised_pnl,
        realised_pnl=position.realised_pnl,
        delta=greeks.delta,
        gamma=greeks.gamma,
        vega=greeks.vega,
        theta=greeks.theta,
        cash=cash,
        equity=total_equity,
        scenario_loss=scenario_loss,
    )

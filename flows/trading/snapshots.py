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
from flows.trading.valuation import equity, mark_value_cents, market_value, unrealised_pnl
from schemas.common import money
from schemas.tables import TableRows
from schemas.trading import Position, PositionSnapshot


@dataclass(slots=True)  # not frozen: one per holding per snapshot, and frozen costs ~10x
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
) -> TableRows:
    """`position_snapshots` rows at event time `ts`: one per holding, then the account row.

    The account row has `instrument = ''` and carries the totals: market value, unrealised PnL,
    Greeks summed over holdings (meaningful for a single underlying), realised PnL of the whole
    run (gross of commissions, like `Book.realised_cents`), quantity 0. Every row carries the
    account's cash and equity. Greeks missing from `greeks` count as 0. `scenario_loss` is the
    worst loss over the shock grid (`scenario`, with the holdings sorted by instrument): the
    book's on the account row, each position's own (revalued alone) on its row, and 0 on every
    row without a scenario (the rule is off). `row_id` is
    `{account_id}:{ts}:{instrument or 'account'}`, so a replay writes the same ids.

    The rows are plain tuples (`schemas.tables.TableRows`), the same values as `positions`
    gives, made without a model per row: a snapshot is taken every interval of every account.
    """
    greeks = greeks or {}
    cash = round(money(book.cash_cents), 2)
    total_equity = round(equity(book, marks), 2)
    rows = TableRows(PositionSnapshot)
    value_total = unrealised_total = 0
    delta = gamma = vega = theta = 0.0
    own_losses = scenario.position_losses.tolist() if scenario is not None else None
    for index, name in enumerate(sorted(book.holdings)):
        holding, mark = book.holdings[name], marks[name]
        position = greeks.get(name, _NO_GREEKS)
        value_cents = mark_value_cents(holding, mark)
        value_total += value_cents
        unrealised_total += value_cents - holding.cost_basis_cents
        delta += position.delta
        gamma += position.gamma
        vega += position.vega
        theta += position.theta
        rows.rows.append(
            _row(
                f"{account_id}:{ts}:{name}",
                (run_id, account_id, int(ts), name, holding.underlying, int(holding.quantity)),
                (float(holding.avg_price), to_price_ticks(mark) / PRICE_SCALE),
                (value_cents, value_cents - holding.cost_basis_cents, holding.realised_cents),
                (position.delta, position.gamma, position.vega, position.theta),
                (cash, total_equity),
                own_losses[index] if own_losses is not None else 0.0,
            )
        )
    rows.rows.append(
        _row(
            f"{account_id}:{ts}:account",
            (run_id, account_id, int(ts), "", "", 0),
            (0.0, 0.0),
            (value_total, unrealised_total, book.realised_cents),
            (delta, gamma, vega, theta),
            (cash, total_equity),
            scenario.loss if scenario is not None else 0.0,
        )
    )
    return rows


def _row(
    row_id: str,
    names: tuple[str, str, int, str, str, int],
    prices: tuple[float, float],
    money_cents: tuple[int, int, int],
    position_greeks: tuple[float, float, float, float],
    account: tuple[float, float],
    scenario_loss: float,
) -> tuple[object, ...]:
    """One `position_snapshots` row in column order, stored as `schemas.tables.trusted_row`
    would store it (a test holds the two equal), without its generic conversion by column
    kind: a snapshot is taken every interval of every account. From the identity columns, avg
    and mark price, market value, unrealised and realised PnL (cents), the Greeks, cash and
    equity (already to the cent), the scenario loss."""
    value, unrealised, realised = money_cents
    delta, gamma, vega, theta = position_greeks
    return (
        row_id,
        *names,
        *prices,
        round(value / 100, 2),
        round(unrealised / 100, 2),
        round(realised / 100, 2),
        float(delta),
        float(gamma),
        float(vega),
        float(theta),
        *account,
        round(float(scenario_loss), 2),
    )

"""The kill switch's flatten: every open position closed at once, at the command's event time.

First each spread the account holds (in the order it opened them) is closed as one spread
order: every leg at its quote (each at its touch plus slippage, with its commission) or none,
the pure `fill_spread`, each leg's fill with `exit_reason = kill_switch` and one `spread_id`.
A spread that cannot close (a leg without a quote, or with a crossed, stale, or locked one with
sizes: its legs' orders then have `rejected` rows saying why; quoted sizes are not heeded, as
for a single position) stays open whole, with a CRITICAL
`kill_switch_unfilled` alert naming the spread and why; its legs are not closed one by one.
Then the positions left, one by one as below.

Each holding, in instrument order (a stable order: the same ids and rows on every replay), is
closed by a market order filled at once against the account's last quote of it: a sale at the
bid, a purchase at the ask, plus the config's slippage and commission, as any market fill
(`flows.accounts.resting.fill_now`). Its fill carries `exit_reason = kill_switch`. The quote is
the one the account trades the instrument at: a share's last tick; an option's last
`market.options` quote when option quotes are fed, else the synthetic chain's price at the
underlying's last mid (the price it was opened and is marked at).

A position without a usable quote stays open, with a CRITICAL `kill_switch_unfilled` alert
naming it: no quote at all (an option never quoted while option quotes are fed, or an
underlying never ticked), or one a market order cannot fill against (crossed, locked with
sizes, or older than `costs.max_quote_age_ms`; then its order also has a `rejected` row saying
why). Nothing is
guessed for it: the operator closes it by hand or sends the kill switch again (under a new
command id) once the instrument is quoted; the account stays halted meanwhile.
"""

from __future__ import annotations

from flows.accounts.chains import closing_leg
from flows.accounts.context import AccountContext
from flows.accounts.legs import Leg
from flows.accounts.resting import fill_now, order_for
from flows.accounts.spread_orders import close_now, describe, still_held
from flows.accounts.timeline import arm
from flows.trading.ids import make_id
from flows.trading.portfolio import Holding
from schemas.common import OrderType, Severity, TimeInForce


def flatten(ctx: AccountContext, ts: int, command_id: str) -> None:
    """Close every open position at event time `ts` for the kill switch `command_id`."""
    state = ctx.state
    if not state.book.holdings:
        return
    arm(ctx, ts)  # the fills belong to a trading day, even one with no tick yet
    kept = _close_spreads(ctx, ts, command_id)
    for instrument, holding in sorted(state.book.holdings.items()):
        if instrument in kept:
            continue
        leg = _closing_leg(ctx, holding, ts)
        if leg is None:
            _unfilled(ctx, ts, command_id, holding, "no quote")
            continue
        order_id = make_id(ctx.run_id, ctx.account_id, "kill", command_id, instrument)
        order = order_for(ctx, leg, order_id, ts, OrderType.MARKET)
        order.purpose, order.time_in_force, order.expires_ts = "kill_switch", TimeInForce.DAY, None
        fill_id = make_id(order_id, "fill")
        if not fill_now(ctx, leg, order, ts, fill_id, "kill_switch", command_id):
            _unfilled(ctx, ts, command_id, holding, ctx.out.order_events[-1].reason)


def _close_spreads(ctx: AccountContext, ts: int, command_id: str) -> set[str]:
    """Close every held spread as one; the instruments of those that stay open."""
    kept: set[str] = set()
    for held in list(ctx.state.open_spreads):
        if not still_held(ctx, held.spread, held.units, False):
            continue  # partly closed by hand or by single orders: its legs close one by one
        spread_id = make_id(ctx.run_id, ctx.account_id, "kill", command_id, held.spread_id)
        why = close_now(ctx, held, ts, "kill_switch", spread_id, command_id)
        if not why:
            continue
        kept.update(leg.instrument for leg in held.spread.legs)
        ctx.alert(
            ts=ts,
            kind="kill_switch_unfilled",
            severity=Severity.CRITICAL,
            message=f"kill switch {command_id}: spread {held.spread_id} "
            f"({describe(held.spread, held.units)}) stays open ({why}); close it by hand or "
            "send the kill switch again once every leg is quoted",
            key=held.spread_id,
        )
    return kept


def _closing_leg(ctx: AccountContext, holding: Holding, ts: int) -> Leg | None:
    """The order that closes `holding` at the account's quote of it; None without one."""
    quotes = ctx.state.quotes
    unquoted_option = holding.expiry_ts is not None and ctx.params.option_quotes
    if holding.underlying not in quotes or (unquoted_option and holding.instrument not in quotes):
        return None
    return closing_leg(ctx, holding, ts)


def _unfilled(ctx: AccountContext, ts: int, command_id: str, holding: Holding, why: str) -> None:
    ctx.alert(
        ts=ts,
        kind="kill_switch_unfilled",
        severity=Severity.CRITICAL,
        message=f"kill switch {command_id}: {holding.quantity:+,d} {holding.instrument} stays "
        f"open ({why}); close it by hand or send the kill switch again once it is quoted",
        key=holding.instrument,
    )

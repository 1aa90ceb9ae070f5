"""The Auto-Trade Orchestrator: an account's trading state machine and its risk rules.

Pure functions over plain values: no Kafka, ClickHouse or Bytewax. The flow's per-account
operator wraps them; everything here can be tested with literals.

Conventions
- Time is event time: integer milliseconds since the Unix epoch, UTC. Nothing reads the clock.
- Money is in the quote currency. Notional = quantity x price x multiplier (1 for shares,
  100 for option contracts). Delta is in shares-equivalent, vega in currency per 1.00 of
  volatility, both signed.
- Limits are inclusive: a value equal to its limit passes, and "equal" forgives binary
  floating-point noise (relative 1e-12), so 3 x 10.05 = 30.150000000000002 does not breach a
  30.15 limit. `None` switches a limit off.

Risk rules (`decide`), checked in this order; the first that fails decides:

    trading_state       every order   the status must allow the order (below)
    trading_hours       every order   Monday-Friday, open <= local time <= close
    order_throttle      every order   approved orders in (ts - 60 s, ts], plus this one
    min_strength        opening only  signal strength >= min_strength
    cooldown            opening only  seconds since the last entry on the symbol
    duplicate_entry     opening only  already holds the symbol in this direction
    max_open_positions  opening only  a new instrument would exceed the count
    max_order_quantity  opening only  quantity
    max_order_notional  opening only  quantity x price x multiplier
    max_symbol_quantity opening only  quantity held on the symbol after the order
    max_symbol_notional opening only  market value on the symbol after the order
    max_abs_delta       opening only  |net delta| after the order
    max_abs_vega        opening only  |net vega| after the order

Orders that only reduce exposure (`opens=False`) skip every size, greek, duplicate, strength
and cooldown rule: a limit must never trap the account in the risk it is trying to shed. They
still obey the trading state, the trading hours and the throttle.

Trading state machine (`apply_command`). Rows: current status; cells: resulting status, or
"-" where the command does not apply (not accepted, status unchanged):

                start   stop    pause  resume  reduce_only kill_switch config_update cancel_order
    stopped     running stopped -      -       -           halted      stopped       stopped
    running     -       stopped paused -       reduce_only halted      running       running
    paused      running stopped -      running reduce_only halted      paused        paused
    reduce_only -       stopped paused running -           halted      reduce_only   reduce_only
    halted      running stopped -      -       reduce_only halted      halted        halted

`stop` and `kill_switch` are accepted from every status, including their own target, so an
operator's emergency button never reports failure. `start` from halted is the operator's
explicit re-arm after a kill switch or a loss breach; `reduce_only` from halted lets the operator
wind positions down without re-arming, and `resume` from reduce_only goes back to full trading.
What each status allows:

    running      every order
    reduce_only  only orders that reduce exposure
    paused, stopped, halted   nothing

Breaches (`check_breach`, `first_breach`) halt the account: the daily loss (day-start equity
minus equity, currency) or the drawdown from the peak (1 - equity / peak, a fraction) strictly
past its limit.

One module per subject: `rules` (`decide` and its ordered rules), `trading_hours`, `commands`
(the state machine), `breaches`, and `verdicts` (the order, the account's view, the verdict,
and how a value meets its limit).
"""

from __future__ import annotations

from flows.trading.orchestrator.breaches import Breach, check_breach, first_breach
from flows.trading.orchestrator.commands import Transition, apply_command
from flows.trading.orchestrator.rules import RULE_ORDER, THROTTLE_WINDOW_MS, decide
from flows.trading.orchestrator.verdicts import APPROVED, OrderIntent, RiskView, Verdict

__all__ = [
    "APPROVED",
    "RULE_ORDER",
    "THROTTLE_WINDOW_MS",
    "Breach",
    "OrderIntent",
    "RiskView",
    "Transition",
    "Verdict",
    "apply_command",
    "check_breach",
    "decide",
    "first_breach",
]

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
    loss_cooldown       opening only  a losing trade locked the symbol (guards)
    loss_streak         opening only  N losing trades within a window locked the symbol/account
    window_drawdown     opening only  drawdown within a window locked the account
    low_performance     opening only  the symbol's last K trades lost more than X: locked
    duplicate_entry     opening only  already holds the symbol in this direction
    max_open_positions  opening only  a new instrument would exceed the count
    max_order_quantity  opening only  quantity
    max_order_notional  opening only  quantity x price x multiplier
    max_symbol_quantity opening only  quantity held on the symbol after the order
    max_symbol_notional opening only  market value on the symbol after the order
    max_abs_delta       opening only  |net delta| after the order
    max_abs_vega        opening only  |net vega| after the order
    max_scenario_loss   opening only  worst loss of the book after the order over a shock grid

The four guards reject while a lock that a closed trade or the equity started is in force
(`guards`: what starts a lock and what it records); `max_scenario_loss` revalues the book
under shocks (`scenarios`).

Orders that only reduce exposure (`opens=False`) skip every size, greek, duplicate, strength,
cooldown, guard and scenario rule: a limit must never trap the account in the risk it is
trying to shed. They still obey the trading state, the trading hours and the throttle.

Trading state machine (`apply_command`). Rows: current status; cells: resulting status, or
"-" where the command does not apply (not accepted, status unchanged):

                start   stop    pause  resume  reduce_only kill_switch
    stopped     running stopped -      -       -           halted
    running     -       stopped paused -       reduce_only halted
    paused      running stopped -      running reduce_only halted
    reduce_only -       stopped paused running -           halted
    halted      running stopped -      -       reduce_only halted

Commands that keep the status apply from every status: config_update cancel_order replace_order.

`stop` and `kill_switch` are accepted from every status, including their own target, so an
operator's emergency button never reports failure (the account stage also flattens the book on
a kill switch: flows/accounts/flatten.py). `start` from halted is the operator's
explicit re-arm after a kill switch or a loss breach; `reduce_only` from halted lets the operator
wind positions down without re-arming, and `resume` from reduce_only goes back to full trading.
What each status allows:

    running      every order
    reduce_only  only orders that reduce exposure
    paused, stopped, halted   nothing

Breaches (`check_breach`, `first_breach`) halt the account: the daily loss (day-start equity
minus equity, currency) or the drawdown from the peak (1 - equity / peak, a fraction) strictly
past its limit.

One module per subject: `rules` (`decide` and its ordered rules), `trading_hours`, `guards`
(post-trade locks), `scenarios` (shock revaluation), `commands` (the state machine),
`breaches`, and `verdicts` (the order, the account's view, the verdict, a lock, and how a value
meets its limit).
"""

from __future__ import annotations

from flows.trading.orchestrator.breaches import Breach, check_breach, first_breach
from flows.trading.orchestrator.commands import Transition, apply_command
from flows.trading.orchestrator.guards import (
    GUARD_RULES,
    EquityPeaks,
    TradeLog,
    locks_after_trade,
    window_drawdown_locks,
)
from flows.trading.orchestrator.rules import RULE_ORDER, THROTTLE_WINDOW_MS, decide
from flows.trading.orchestrator.scenarios import WorstScenario, worst_scenario
from flows.trading.orchestrator.verdicts import (
    ACCOUNT,
    APPROVED,
    Lock,
    OrderIntent,
    RiskView,
    ScenarioBook,
    Verdict,
)

__all__ = [
    "ACCOUNT",
    "APPROVED",
    "GUARD_RULES",
    "RULE_ORDER",
    "THROTTLE_WINDOW_MS",
    "Breach",
    "EquityPeaks",
    "Lock",
    "OrderIntent",
    "RiskView",
    "ScenarioBook",
    "TradeLog",
    "Transition",
    "Verdict",
    "WorstScenario",
    "apply_command",
    "check_breach",
    "decide",
    "first_breach",
    "locks_after_trade",
    "window_drawdown_locks",
    "worst_scenario",
]

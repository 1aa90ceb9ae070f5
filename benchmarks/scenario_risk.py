"""Micro-benchmark of the shock-scenario rule (`max_scenario_loss`): its cost per decision.

An account holds `n` option positions (calls and puts, long and written, on two underlyings,
spread over the synthetic chain's expiries and strikes) and 100 shares, and decides a
1-contract opening order. Each case times, in one process and one thread, the account's whole
decision, `decide(risk_view(ctx, leg), ...)`, with `max_scenario_loss` off and on (the
default grid: spot 0, ±5 %, ±10 % per underlying x volatility 0, ±5 points: 15 scenarios per
underlying). Off and on alternate
within each repeat, so both see the same load; the figures are medians over `--repeats`
repeats of `--decisions` decisions each. What the rule adds (building the book after the
order, and revaluing it) is timed on its own, as is the revaluation alone (`worst_scenario`
on the built book): with many positions the decision without the rule costs so much more
(the Greeks of every holding) that on - off drowns in its noise. Times are the
process's CPU time (time.process_time), not wall time: on a machine shared by more busy
processes than cores, wall time mostly measures the waiting for a core.

    .venv/bin/python benchmarks/scenario_risk.py              # Markdown table
    .venv/bin/python benchmarks/scenario_risk.py --json       # one JSON object per case
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from datetime import date

from benchmarks.common import load_average, machine_line
from flows.accounts.context import AccountContext
from flows.accounts.legs import Leg
from flows.accounts.risk_view import risk_view
from flows.accounts.scenarios import scenario_book
from flows.accounts.state import AccountParams, Outputs, Quote, new_account
from flows.trading.chain import synthesize_chain
from flows.trading.orchestrator import decide, worst_scenario
from flows.trading.portfolio import Holding
from schemas.common import AssetClass, Side, to_epoch_ms
from schemas.config import AlgorithmConfig, RiskLimits

NOW = to_epoch_ms("2026-11-25T15:00:00Z")
SPOTS = {"AAPL": 190.0, "SPY": 600.0}


def account(options: int, scenario: bool) -> tuple[AccountContext, Leg]:
    """An account holding `options` contracts' positions and 100 AAPL shares, and an order."""
    limits = RiskLimits(
        max_scenario_loss=1e9 if scenario else None,
        trading_hours=None,
        max_open_positions=None,
        allow_duplicate_entry=True,  # every rule runs, the scenario rule last
    )
    config = AlgorithmConfig(account_id="bench", symbols=list(SPOTS), limits=limits)
    state = new_account(config)
    params = AccountParams(run_id="bench")
    state.clock = NOW
    for symbol, spot in SPOTS.items():
        state.quotes[symbol] = Quote(NOW, spot - 0.01, spot + 0.01, spot)
    chains = {s: synthesize_chain(s, spot, NOW, params.chain) for s, spot in SPOTS.items()}
    for k in range(options):
        chain = chains["AAPL" if k % 2 == 0 else "SPY"]
        row = (k * 7) % len(chain)
        state.book.holdings[chain.contracts[row]] = Holding(
            instrument=chain.contracts[row],
            underlying=chain.underlying,
            asset_class=AssetClass.OPTION,
            multiplier=100,
            quantity=1 if k % 3 else -2,
            cost_basis_cents=100,
            opened_ts=NOW,
            expiry_ts=int(chain.expiry_ts[row]),
            strike=float(chain.strike[row]),
            is_call=bool(chain.is_call[row]),
        )
    state.book.holdings["AAPL"] = Holding("AAPL", "AAPL", AssetClass.EQUITY, 1, 100, 1_900_000, NOW)
    leg = Leg.option_opening(chains["AAPL"], 3, Side.BUY, 1)
    return AccountContext(state, params, Outputs()), leg


def per_call(call: Callable[[], object], count: int) -> float:
    start = time.process_time()
    for _ in range(count):
        call()
    return (time.process_time() - start) / count


def measure(options: int, decisions: int, repeats: int) -> dict[str, float]:
    off_ctx, leg = account(options, scenario=False)
    on_ctx, _ = account(options, scenario=True)
    book = scenario_book(on_ctx, NOW, (leg,))
    limits = on_ctx.state.config.limits
    intent = leg.intent(NOW, 1.0)
    spot_pct, vol_points = limits.scenario_spot_pct, limits.scenario_vol_points
    cases: dict[str, Callable[[], object]] = {
        "off": lambda: decide(risk_view(off_ctx, leg), intent, off_ctx.state.config.limits),
        "on": lambda: decide(risk_view(on_ctx, leg), intent, limits),
        # What the rule adds to a decision: the book after the order, and its revaluation.
        "added": lambda: worst_scenario(scenario_book(on_ctx, NOW, (leg,)), spot_pct, vol_points),
        "revaluation": lambda: worst_scenario(book, spot_pct, vol_points),
    }
    assert decide(risk_view(on_ctx, leg), intent, limits).approved
    times: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(repeats):
        for name, call in cases.items():
            times[name].append(per_call(call, decisions))
    median = {name: statistics.median(values) * 1e6 for name, values in times.items()}
    share = statistics.median(a / b for a, b in zip(times["added"], times["off"], strict=True))
    return {
        "options": options,
        "off_us": median["off"],
        "on_us": median["on"],
        "added_us": median["added"],
        "added_share": share,
        "revaluation_us": median["revaluation"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--decisions", type=int, default=40)
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results = [measure(n, args.decisions, args.repeats) for n in (1, 10, 50)]
    if args.json:
        for result in results:
            print(json.dumps(result))
        return
    print(f"Machine: {machine_line()}; load average {load_average():.1f}; {date.today()}")
    print()
    print(
        "| options held | decision, rule off | decision, rule on | added by the rule "
        "| added / decision off | revaluation alone |"
    )
    print("|---:|---:|---:|---:|---:|---:|")
    for r in results:
        print(
            f"| {r['options']:.0f} | {r['off_us']:,.0f} µs | {r['on_us']:,.0f} µs "
            f"| {r['added_us']:,.0f} µs | {r['added_share']:.2f} | {r['revaluation_us']:,.0f} µs |"
        )


if __name__ == "__main__":
    main()

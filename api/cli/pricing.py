"""`strikeflow greeks` and `strikeflow iv`: one option's Black-Scholes-Merton numbers.

Units follow `flows.trading.pricing`: prices per share in the quote currency, `--expiry` in years
(ACT/365), rates and vols as decimals (0.05 = 5 %), vega per 1.00 vol and theta per year, with
the trader units vega_1pct (per vol point) and theta_day (per calendar day) alongside.
"""

from __future__ import annotations

import json
import math
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from schemas.common import Right

SpotOption = Annotated[float, typer.Option(help="Underlying price, quote currency per share.")]
StrikeOption = Annotated[float, typer.Option(help="Strike, quote currency per share.")]
RateOption = Annotated[float, typer.Option(help="Risk-free rate, continuous, 0.05 = 5 %.")]
ExpiryOption = Annotated[float, typer.Option(help="Time to expiry in years (ACT/365).")]
RightOption = Annotated[Right, typer.Option(case_sensitive=False, help="call or put.")]
DividendOption = Annotated[float, typer.Option(help="Continuous dividend yield, 0.01 = 1 %.")]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print one JSON object instead.")]

_UNITS = {
    "price": "per share",
    "delta": "per 1.00 spot",
    "gamma": "delta per 1.00 spot",
    "vega": "per 1.00 vol",
    "theta": "per year",
    "rho": "per 1.00 rate",
    "vega_1pct": "per vol point",
    "theta_day": "per calendar day",
}


def _finite(name: str, value: float, *, positive: bool = False, non_negative: bool = False) -> None:
    if not math.isfinite(value):
        raise typer.BadParameter(f"must be a finite number, not {value}", param_hint=f"--{name}")
    if positive and value <= 0.0:
        raise typer.BadParameter(f"must be positive, not {value}", param_hint=f"--{name}")
    if non_negative and value < 0.0:
        raise typer.BadParameter(f"must not be negative, not {value}", param_hint=f"--{name}")


def greeks(
    spot: SpotOption,
    strike: StrikeOption,
    rate: RateOption,
    vol: Annotated[float, typer.Option(help="Volatility, annualised, 0.20 = 20 %.")],
    expiry: ExpiryOption,
    right: RightOption,
    dividend: DividendOption = 0.0,
    as_json: JsonFlag = False,
) -> None:
    """Price and Greeks of a European option (Black-Scholes-Merton, dividend yield)."""
    _finite("spot", spot, positive=True)
    _finite("strike", strike, positive=True)
    _finite("rate", rate)
    _finite("vol", vol, non_negative=True)
    _finite("expiry", expiry, non_negative=True)
    _finite("dividend", dividend)
    # Deferred: numpy and scipy would slow `strikeflow --help`.
    from flows.trading.pricing import greeks_one

    result = greeks_one(spot, strike, expiry, rate, vol, right.value, dividend)
    if as_json:
        typer.echo(json.dumps(result))
        return
    table = Table(title=f"{right.value} S={spot:g} K={strike:g} T={expiry:g}y σ={vol:g} r={rate:g}")
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_column("unit")
    for name, value in result.items():
        table.add_row(name, f"{value:.6f}", _UNITS[name])
    Console().print(table)


def iv(
    price: Annotated[float, typer.Option(help="Option price, quote currency per share.")],
    spot: SpotOption,
    strike: StrikeOption,
    rate: RateOption,
    expiry: ExpiryOption,
    right: RightOption,
    dividend: DividendOption = 0.0,
    as_json: JsonFlag = False,
) -> None:
    """Implied volatility of a European option price; prints the reason when there is none."""
    _finite("price", price)
    _finite("spot", spot, positive=True)
    _finite("strike", strike, positive=True)
    _finite("rate", rate)
    _finite("expiry", expiry, non_negative=True)
    _finite("dividend", dividend)
    # Deferred: numpy and scipy would slow `strikeflow --help`.
    from flows.trading.pricing import implied_vol_one

    vol, reason = implied_vol_one(price, spot, strike, expiry, rate, right.value, dividend)
    if as_json:
        typer.echo(json.dumps({"iv": vol} if reason is None else {"iv": None, "reason": reason}))
    elif vol is None:
        typer.echo(f"no implied volatility: {reason}")
    else:
        typer.echo(f"implied volatility {vol:.10f} ({vol * 100:.4f} %)")


def register(app: typer.Typer) -> None:
    """Add `greeks` and `iv` as top-level commands of the `strikeflow` CLI."""
    app.command("greeks")(greeks)
    app.command("iv")(iv)

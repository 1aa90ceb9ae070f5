"""One contract at a time, for the CLI, risk checks and tests: textbook plus trader units."""

from __future__ import annotations

from flows.trading.pricing.black_scholes import Greeks, black_scholes
from flows.trading.pricing.implied_vol import IV_OK, IV_REASONS, implied_volatility


def _is_call(right: str) -> bool:
    normalised = right.strip().lower()
    if normalised in ("call", "c"):
        return True
    if normalised in ("put", "p"):
        return False
    raise ValueError(f"right must be 'call' or 'put', not {right!r}")


def greeks_one(
    spot: float,
    strike: float,
    years: float,
    rate: float,
    vol: float,
    right: str,
    dividend: float = 0.0,
) -> dict[str, float]:
    """Price and Greeks of one option, in textbook units plus trader units.

    Keys: price, delta, gamma, vega (per 1.00 vol), theta (per year), rho (per 1.00 rate),
    vega_1pct (per vol point, vega / 100) and theta_day (per calendar day, theta / 365).
    `right` is "call" or "put" (or "c"/"p"); anything else raises ValueError.
    """
    greeks = black_scholes(spot, strike, years, rate, vol, _is_call(right), dividend)
    result = {name: float(value) for name, value in zip(Greeks._fields, greeks, strict=True)}
    result["vega_1pct"] = result["vega"] / 100.0
    result["theta_day"] = result["theta"] / 365.0
    return result


def implied_vol_one(
    price: float,
    spot: float,
    strike: float,
    years: float,
    rate: float,
    right: str,
    dividend: float = 0.0,
) -> tuple[float | None, str | None]:
    """Implied volatility of one option price: `(iv, None)`, or `(None, reason)` if it has none.

    `right` is "call" or "put" (or "c"/"p"); anything else raises ValueError.
    """
    result = implied_volatility(price, spot, strike, years, rate, _is_call(right), dividend)
    code = int(result.reason)
    if code != IV_OK:
        return None, IV_REASONS[code]
    return float(result.iv), None

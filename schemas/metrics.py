"""A run's performance metrics: one typed definition shared by the CLI, the API, the report and
the dashboards (`flows.trading.analytics.run_metrics` computes them).

Stored in `backtest_runs.metrics` as a flat map `{account_id}.{name} -> value`, so dashboards
read them with `metrics['acct.sharpe']`; `flat` and `from_flat` translate.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from schemas.common import Finite


class RunMetrics(BaseModel):
    """One account's whole-run figures. Ratios are fractions (0.05 is 5 %); money is in the
    quote currency; the definitions are in `flows.trading.analytics.run_metrics`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    win_rate: Finite = Field(description="Winning round trips / all round trips.")
    profit_factor: Finite = Field(description="Gross profit / gross loss over round trips.")
    expectancy: Finite = Field(description="Mean net PnL of a round trip, currency.")
    trade_count: int = Field(ge=0, description="Closed round trips.")
    exposure: Finite = Field(description="Fraction of snapshots with a position open.")
    total_return: Finite = Field(description="Final equity / starting equity - 1.")
    cagr: Finite = Field(description="Compound annual growth rate.")
    annual_volatility: Finite = Field(description="Of daily returns, annualised.")
    sharpe: Finite = Field(description="Annualised, risk-free rate 0.")
    sortino: Finite = Field(description="Annualised, downside deviation against 0.")
    max_drawdown: Finite = Field(description="Largest fall from a running peak, fraction.")
    max_drawdown_duration_days: Finite = Field(description="Longest time under a peak, days.")
    calmar: Finite = Field(description="cagr / max_drawdown.")
    final_equity: Finite = Field(description="Equity at the last snapshot, currency.")
    commissions: Finite = Field(description="Commissions paid, currency.")
    # Research metrics (`flows.trading.research.metrics`): 0 in runs recorded before them.
    psr: Finite = Field(0.0, description="Probabilistic Sharpe ratio against a Sharpe of 0.")
    deflated_sharpe: Finite = Field(
        0.0, description="PSR against the expected best Sharpe of the sweep's trials."
    )
    sqn: Finite = Field(0.0, description="System Quality Number of the round trips.")
    omega: Finite = Field(0.0, description="Period gains / period losses (threshold 0).")
    cvar_95: Finite = Field(0.0, description="Mean of the worst 5 % of period returns.")
    tail_ratio: Finite = Field(0.0, description="|95th| / |5th| percentile of period returns.")
    ulcer_index: Finite = Field(0.0, description="Root mean square drawdown, fraction.")
    avg_holding_hours: Finite = Field(0.0, description="Mean time in a round trip, hours.")
    max_holding_hours: Finite = Field(0.0, description="Longest round trip, hours.")
    turnover: Finite = Field(0.0, description="Traded notional / mean equity.")
    longest_flat_hours: Finite = Field(0.0, description="Longest time without a position, hours.")

    # What a reader needs to print a value: "ratio" as a percentage, "money" in currency,
    # "count" as an integer, "days", "hours", and "number" as it is.
    UNITS: ClassVar[dict[str, str]] = {
        "win_rate": "ratio",
        "profit_factor": "number",
        "expectancy": "money",
        "trade_count": "count",
        "exposure": "ratio",
        "total_return": "ratio",
        "cagr": "ratio",
        "annual_volatility": "ratio",
        "sharpe": "number",
        "sortino": "number",
        "max_drawdown": "ratio",
        "max_drawdown_duration_days": "days",
        "calmar": "number",
        "final_equity": "money",
        "commissions": "money",
        "psr": "ratio",
        "deflated_sharpe": "ratio",
        "sqn": "number",
        "omega": "number",
        "cvar_95": "ratio",
        "tail_ratio": "number",
        "ulcer_index": "ratio",
        "avg_holding_hours": "hours",
        "max_holding_hours": "hours",
        "turnover": "number",
        "longest_flat_hours": "hours",
    }

    def values(self) -> dict[str, float]:
        """Every metric as a float, in definition order (the stored and printed form)."""
        return {name: float(getattr(self, name)) for name in type(self).model_fields}

    def flat(self, account_id: str) -> dict[str, float]:
        """The `backtest_runs.metrics` entries of one account."""
        return {f"{account_id}.{name}": value for name, value in self.values().items()}

    @classmethod
    def from_flat(cls, metrics: Mapping[str, float], account_id: str) -> RunMetrics | None:
        """One account's metrics from a run's flat map; None if it has none (a failed run)."""
        prefix = f"{account_id}."
        found = {
            key[len(prefix) :]: value for key, value in metrics.items() if key.startswith(prefix)
        }
        if not found:
            return None
        found = {name: found.get(name, 0.0) for name in cls.model_fields}
        found["trade_count"] = round(found["trade_count"])
        return cls.model_validate(found)

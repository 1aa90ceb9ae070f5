"""The demo's accounts: four strategies on four symbols, two of them trading options.

The limits are set so that a session shows the orchestrator at work: some signals are refused
for cooldowns, throttling and size, and the rejections by rule appear in the summary.
"""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from schemas.config import (
    AlgorithmConfig,
    BollingerBreakout,
    InstrumentSelection,
    MovingAverageCross,
    RiskLimits,
    RsiReversion,
    Sizing,
    VolatilityPremium,
)

SYMBOLS = ["AAPL", "MSFT", "NVDA", "SPY"]
SESSION_DAY = date(2026, 11, 23)  # a Monday; the demo is the same session every time
TICKS_PER_MINUTE = 120  # per symbol; realised volatility is annualised by tick count


def demo_configs() -> list[AlgorithmConfig]:
    created = int(
        datetime.combine(SESSION_DAY, time(9, 0), ZoneInfo("America/New_York")).timestamp() * 1000
    )
    return [
        AlgorithmConfig(
            account_id="demo-trend",
            name="moving-average cross on shares",
            symbols=["AAPL", "MSFT"],
            strategy=MovingAverageCross(fast=40, slow=200),
            sizing=Sizing(method="fixed_notional", notional=40_000),
            limits=RiskLimits(
                cooldown_seconds=120, max_orders_per_minute=6, max_symbol_notional=60_000
            ),
            created_ts=created,
        ),
        AlgorithmConfig(
            account_id="demo-reversion",
            name="RSI mean reversion on shares",
            symbols=["NVDA", "SPY"],
            strategy=RsiReversion(period=30, oversold=30, overbought=70),
            sizing=Sizing(method="equity_fraction", fraction=0.25),
            limits=RiskLimits(
                min_strength=0.05,
                max_orders_per_minute=2,
                max_order_notional=30_000,
                max_daily_loss=5_000,
            ),
            created_ts=created,
        ),
        AlgorithmConfig(
            account_id="demo-breakout-options",
            name="Bollinger breakout with 30-delta options",
            symbols=["AAPL", "NVDA"],
            strategy=BollingerBreakout(period=120, width=2.5, allow_short=True),
            selection=InstrumentSelection(kind="option", target_delta=0.3, days_to_expiry=30),
            sizing=Sizing(method="fixed_quantity", quantity=5),
            limits=RiskLimits(cooldown_seconds=300, max_abs_delta=400, max_open_positions=3),
            created_ts=created,
        ),
        AlgorithmConfig(
            account_id="demo-premium",
            name="volatility premium: sell puts when implied beats realised",
            symbols=["AAPL", "NVDA"],
            strategy=VolatilityPremium(
                realised_window=600,
                threshold=0.03,
                exit_threshold=0.005,
                ticks_per_year=252 * 390 * TICKS_PER_MINUTE,
            ),
            selection=InstrumentSelection(kind="option", target_delta=0.25, days_to_expiry=14),
            sizing=Sizing(method="fixed_quantity", quantity=2),
            limits=RiskLimits(max_abs_vega=5_000, max_drawdown=0.2),
            created_ts=created,
        ),
    ]

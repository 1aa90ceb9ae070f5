"""Greeks and risk: net Greeks per account and per symbol, the worst shock-scenario loss,
exposure against limits."""

from __future__ import annotations

from dashboards.definitions.common import (
    ACCOUNT_VARIABLE,
    LINES,
    PER_ACCOUNT,
    PER_SYMBOL,
    RUN,
    RUN_VARIABLE,
    SYMBOL_VARIABLE,
    TABLE_OPTIONS,
    TIMESERIES_OPTIONS,
    accounts,
    symbols,
)
from dashboards.model import Column, Dashboard, Panel, Row, num, text, time_col

GREEKS = (
    ("delta", "Net delta", "shares"),
    ("gamma", "Net gamma", "shares per 1.00 of the underlying"),
    ("vega", "Net vega", "currency per 1.00 of volatility"),
    ("theta", "Net theta", "currency per year"),
)


def greek_per_account(greek: str, title: str, units: str) -> Panel:
    # The account row is kept (its Greeks excluded) so an account without positions shows 0.
    return Panel(
        title=f"{title} per account",
        type="timeseries",
        sql=(
            f"SELECT $__timeInterval_ms(ts) AS time, account_id, argMax(net, ts) AS net_{greek}\n"
            "FROM (\n"
            f"  SELECT ts, account_id, sumIf({greek}, instrument != '') AS net\n"
            "  FROM position_snapshots FINAL\n"
            f"  WHERE {RUN} AND {accounts()} AND $__timeFilter_ms(ts)\n"
            f"    AND (instrument = '' OR {symbols('underlying')})\n"
            "  GROUP BY ts, account_id)\n"
            "GROUP BY time, account_id\n"
            "ORDER BY time"
        ),
        columns=(time_col(), *text("account_id"), *num(f"net_{greek}")),
        width=6,
        height=8,
        display_name=PER_ACCOUNT,
        custom=LINES,
        options=TIMESERIES_OPTIONS,
        description=f"Sum of the position {greek}s of the selected symbols ({units}).",
    )


def greek_per_symbol(greek: str, title: str, units: str) -> Panel:
    # Accounts snapshot at different times: take each account's last value per interval first,
    # then add the accounts up.
    return Panel(
        title=f"{title} per symbol",
        type="timeseries",
        sql=(
            f"SELECT time, symbol, sum(net) AS net_{greek}\n"
            "FROM (\n"
            "  SELECT $__timeInterval_ms(ts) AS time, account_id, underlying AS symbol,\n"
            "         argMax(net_at, ts) AS net\n"
            "  FROM (\n"
            f"    SELECT ts, account_id, underlying, sum({greek}) AS net_at\n"
            "    FROM position_snapshots FINAL\n"
            f"    WHERE {RUN} AND {accounts()} AND instrument != ''\n"
            f"      AND {symbols('underlying')} AND $__timeFilter_ms(ts)\n"
            "    GROUP BY ts, account_id, underlying)\n"
            "  GROUP BY time, account_id, symbol)\n"
            "GROUP BY time, symbol\n"
            "ORDER BY time"
        ),
        columns=(time_col(), *text("symbol"), *num(f"net_{greek}")),
        width=6,
        height=8,
        display_name=PER_SYMBOL,
        custom=LINES,
        options=TIMESERIES_OPTIONS,
        description=f"Sum over the selected accounts of the position {greek}s ({units}).",
    )


def worst_scenario_loss() -> Panel:
    # The account row carries the book's worst loss (underlyings' worst moves summed), which no
    # sum of the position rows' own worst losses gives back.
    return Panel(
        title="Worst scenario loss per account",
        type="timeseries",
        sql=(
            "SELECT $__timeInterval_ms(ts) AS time, account_id,\n"
            "       argMax(scenario_loss, ts) AS worst_scenario_loss\n"
            "FROM position_snapshots FINAL\n"
            f"WHERE {RUN} AND {accounts()} AND instrument = '' AND $__timeFilter_ms(ts)\n"
            "GROUP BY time, account_id\n"
            "ORDER BY time"
        ),
        columns=(time_col(), *text("account_id"), *num("worst_scenario_loss")),
        width=24,
        height=8,
        unit="currencyUSD",
        display_name=PER_ACCOUNT,
        custom=LINES,
        options=TIMESERIES_OPTIONS,
        description=(
            "The book's worst loss over the max_scenario_loss shock grid (each underlying's "
            "spot moved on its own, every option's volatility together), at each snapshot; "
            "0 where the rule is off."
        ),
    )


def greeks_and_risk() -> Dashboard:
    chain_filter = f"{RUN} AND {symbols('underlying')}"
    chain = Panel(
        title="Option chain",
        type="table",
        sql=(
            "SELECT underlying, contract, expiry, strike, `right`, days_to_expiry, spot,\n"
            "       bid, ask, price, iv, delta, gamma, vega, theta, rho, ts AS as_of\n"
            "FROM option_greeks FINAL\n"
            f"WHERE {chain_filter}\n"
            "  AND (underlying, ts) IN (\n"
            "    SELECT underlying, max(ts) FROM option_greeks\n"
            f"    WHERE {chain_filter} AND ts <= $__toTime_ms\n"
            "    GROUP BY underlying)\n"
            "ORDER BY underlying, expiry, strike, `right`"
        ),
        columns=(
            *text("underlying", "contract"),
            Column("expiry", "date"),
            *num("strike"),
            *text("right"),
            *num(
                "days_to_expiry",
                "spot",
                "bid",
                "ask",
                "price",
                "iv",
                "delta",
                "gamma",
                "vega",
                "theta",
                "rho",
            ),
            time_col("as_of"),
        ),
        width=24,
        height=10,
        options=TABLE_OPTIONS,
        description=(
            "The latest sampled chain per underlying: model price and Greeks per contract "
            "(vega per 1.00 of volatility, theta per year, rho per 1.00 of rate)."
        ),
    )
    atm_iv = Panel(
        title="At-the-money implied volatility",
        type="timeseries",
        sql=(
            "SELECT $__timeInterval_ms(ts) AS time, underlying AS symbol,\n"
            "       avgIf(iv, abs(delta) BETWEEN 0.4 AND 0.6) AS atm_iv\n"
            "FROM option_greeks FINAL\n"
            f"WHERE {chain_filter} AND $__timeFilter_ms(ts)\n"
            "GROUP BY time, symbol\n"
            "ORDER BY time"
        ),
        columns=(time_col(), *text("symbol"), *num("atm_iv")),
        width=12,
        unit="percentunit",
        display_name=PER_SYMBOL,
        custom=LINES,
        options=TIMESERIES_OPTIONS,
        description="Mean implied volatility of the contracts with |delta| between 0.4 and 0.6.",
    )
    spot = Panel(
        title="Underlying price",
        type="timeseries",
        sql=(
            "SELECT $__timeInterval_ms(ts) AS time, symbol, argMax(last, ts) AS last_price\n"
            "FROM market_ticks\n"
            f"WHERE {RUN} AND {symbols()} AND $__timeFilter_ms(ts)\n"
            "GROUP BY time, symbol\n"
            "ORDER BY time"
        ),
        columns=(time_col(), *text("symbol"), *num("last_price")),
        width=12,
        unit="currencyUSD",
        display_name=PER_SYMBOL,
        custom=LINES,
        options=TIMESERIES_OPTIONS,
        description="Last traded price of each underlying per interval.",
    )
    return Dashboard(
        uid="strikeflow-greeks",
        title="strikeflow / Greeks and risk",
        description=(
            "Net delta, gamma, vega and theta per account and per symbol; the worst "
            "shock-scenario loss per account; the chain."
        ),
        variables=(RUN_VARIABLE, ACCOUNT_VARIABLE, SYMBOL_VARIABLE),
        items=(
            Row("Per account"),
            *(greek_per_account(*greek) for greek in GREEKS),
            Row("Risk under shocks"),
            worst_scenario_loss(),
            Row("Per symbol"),
            *(greek_per_symbol(*greek) for greek in GREEKS),
            Row("Chain"),
            spot,
            atm_iv,
            chain,
        ),
        time_from="now-6h",
        refresh="30s",
    )


# -- backtests -----------------------------------------------------------------------------------

# Only runs recorded in backtest_runs: "All" must not pull the live run into the comparison.

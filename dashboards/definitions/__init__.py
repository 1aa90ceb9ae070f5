"""The strikeflow dashboards, defined once; dashboards/json/*.json is generated from them.

Conventions every query follows:
- Tables are unqualified: the datasource's `defaultDatabase` (`strikeflow` when provisioned)
  names the database, so the same SQL runs on the tests' per-test databases.
- Sums and counts read ReplacingMergeTree tables with FINAL, because a replayed write (Bytewax
  recovery is at-least-once) leaves a duplicate until the next merge. `argMax`/`max` need no
  FINAL: a duplicate has the same values.
- Event times are DateTime64(3, 'UTC'), filtered with `$__timeFilter_ms`; "now" on a stat panel
  is the end of the dashboard's range (`$__toTime_ms`), so looking at the past shows the past.
- An account's equity and cash come from its account row in `position_snapshots`
  (`instrument = ''`); position rows carry the positions and their Greeks.
- Multi-value variables are applied through `$__conditionalAll`, so "All" becomes `1=1`
  instead of a long IN list.
"""

from __future__ import annotations

from dashboards.definitions.analytics import analytics
from dashboards.definitions.backtests import backtests
from dashboards.definitions.control_center import control_center
from dashboards.definitions.greeks import greeks_and_risk
from dashboards.definitions.pipeline import pipeline
from dashboards.definitions.signal_feed import signal_feed
from dashboards.model import Dashboard


def dashboards() -> tuple[Dashboard, ...]:
    """Every dashboard, in the order they are listed."""
    return (
        control_center(),
        signal_feed(),
        analytics(),
        greeks_and_risk(),
        backtests(),
        pipeline(),
    )

"""Research that does not fool its user: selection-bias-aware metrics, per-trade excursions,
Monte Carlo of trades and walk-forward windows. Pure functions over numpy arrays and trades."""

"""Volatility premium: sell option premium while implied vol is rich to realised vol."""

from __future__ import annotations

from dataclasses import dataclass

from flows.trading.indicators import (
    RealisedVolState,
    new_realised_vol_state,
    realised_vol_step,
)
from flows.trading.strategies.base import (
    RawSignal,
    TickChunk,
    Transitions,
    clamp_strength,
    finite_indicators,
    parameter_label,
    trigger_indices,
    walk_triggers,
)
from flows.trading.strategies.registry import StrategySpec, register
from schemas.common import Direction
from schemas.config import VolatilityPremium


@dataclass(slots=True, eq=False)
class VolPremiumState:
    realised: RealisedVolState
    position: Direction = Direction.FLAT


def new_vol_premium_state(config: VolatilityPremium) -> VolPremiumState:
    return VolPremiumState(
        realised=new_realised_vol_state(config.realised_window, config.ticks_per_year)
    )


def vol_premium_name(config: VolatilityPremium) -> str:
    """No ",short": this strategy is only ever short premium."""
    return f"vol_premium({config.realised_window},{parameter_label(config.threshold)})"


def vol_premium_step(
    config: VolatilityPremium, state: VolPremiumState, chunk: TickChunk
) -> tuple[VolPremiumState, list[RawSignal]]:
    """Sell premium while implied vol is rich to realised vol.

    Realised vol is the windowed RMS of log returns over `realised_window` ticks, annualised with
    `ticks_per_year` (flows.trading.indicators.realised_vol_step); both vols are fractions per year.
    FLAT → SHORT when implied − realised > threshold; SHORT → FLAT when implied − realised <
    exit_threshold. A NaN implied vol (none solved at that tick) triggers nothing. Strength is
    the spread past the threshold in units of `threshold`, capped at 1: (spread − threshold) /
    threshold on entry, (exit_threshold − spread) / threshold on exit.
    """
    implied = chunk.implied_vol
    assert implied is not None  # the registry supplies it: this spec reads_implied_vol
    _, realised = realised_vol_step(state.realised, chunk.price)
    spread = implied - realised
    transitions: Transitions = {
        Direction.FLAT: [(trigger_indices(spread > config.threshold), Direction.SHORT)],
        Direction.SHORT: [(trigger_indices(spread < config.exit_threshold), Direction.FLAT)],
    }
    state.position, changes = walk_triggers(state.position, transitions)
    at = [index for index, _, _ in changes]
    rows = zip(
        changes, implied[at].tolist(), realised[at].tolist(), spread[at].tolist(), strict=True
    )
    signals = []
    for (index, _, after), iv, rv, gap in rows:
        if after is Direction.SHORT:
            strength = (gap - config.threshold) / config.threshold
            reason = (
                f"implied vol {iv:.4f} exceeds realised vol {rv:.4f} by {gap:.4f}, "
                f"above threshold {config.threshold:g}"
            )
        else:
            strength = (config.exit_threshold - gap) / config.threshold
            reason = (
                f"implied vol {iv:.4f} minus realised vol {rv:.4f} is {gap:.4f}, "
                f"below exit threshold {config.exit_threshold:g}"
            )
        # An infinite implied vol passes the entry test; keep the indicators finite anyway.
        indicators = finite_indicators({"implied_vol": iv, "realised_vol": rv, "vol_spread": gap})
        signals.append(RawSignal(index, after, clamp_strength(strength), reason, indicators))
    return state, signals


SPEC = register(
    StrategySpec(
        config_type=VolatilityPremium,
        state_type=VolPremiumState,
        new_state=new_vol_premium_state,
        step=vol_premium_step,
        name=vol_premium_name,
        reads_implied_vol=True,
        sells_premium=True,
    )
)

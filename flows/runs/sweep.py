"""Parameter sweeps: one account per combination of strategy parameters, in one replay pass."""

from __future__ import annotations

import itertools
import json
from collections.abc import Mapping, Sequence
from typing import Any

from schemas.config import AlgorithmConfig


def parse_sweep(values: Sequence[str]) -> dict[str, list[Any]]:
    """`["fast=5,10,20", "slow=30,50"]` -> {"fast": [5, 10, 20], "slow": [30, 50]}."""
    sweep: dict[str, list[Any]] = {}
    for item in values:
        name, sep, options = item.partition("=")
        if not sep or not name.strip() or not options.strip():
            raise ValueError(f"--sweep {item!r}: expected NAME=VALUE[,VALUE...]")
        sweep[name.strip()] = [json.loads(v) if _is_number(v) else v for v in options.split(",")]
    return sweep


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def sweep_configs(
    base: AlgorithmConfig, sweep: Mapping[str, Sequence[Any]]
) -> list[AlgorithmConfig]:
    """One account per combination of strategy parameters; invalid combinations (e.g. a fast
    window not below the slow one) are skipped, and an empty result is an error."""
    if not sweep:
        return [base]
    names = list(sweep)
    strategy = base.strategy.model_dump()
    unknown = [name for name in names if name not in strategy]
    if unknown:
        raise ValueError(f"{base.strategy.kind} has no parameter {', '.join(unknown)}")
    configs = []
    for values in itertools.product(*(sweep[n] for n in names)):
        label = "-".join(f"{n}{v}" for n, v in zip(names, values, strict=True))
        try:
            config = base.model_validate(
                {
                    **base.model_dump(),
                    "account_id": f"{base.account_id}-{label}"[:64],
                    "strategy": {**strategy, **dict(zip(names, values, strict=True))},
                }
            )
        except ValueError:
            continue
        configs.append(config)
    if not configs:
        raise ValueError("no combination of the sweep is a valid strategy")
    return configs

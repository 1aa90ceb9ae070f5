"""Walk-forward windows over an event-time range.

Rolling: each training window has the same length and ends where its test window begins; the
next pair moves on by one test length, so the test windows tile the range after the first
training window without gaps or overlaps. Anchored: every training window starts at the
range's start and grows by one test length each time. The last test window is cut at the
range's end (it may be shorter); a range too short for one training window and a bit of test
is an error, as are more than `MAX_WINDOWS` windows. Times are UTC ms, windows half-open [from, to).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_UNIT_MS = {"s": 1_000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 7 * 86_400_000}
MAX_WINDOWS = 10_000  # more is a typo in the plan (test=1s over a year), not a study
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")


@dataclass(frozen=True, slots=True)
class Window:
    """One step: choose on [train_from, train_to), trade on [test_from, test_to)."""

    train_from: int
    train_to: int
    test_from: int
    test_to: int


@dataclass(frozen=True, slots=True)
class WalkForwardPlan:
    train_ms: int
    test_ms: int
    anchored: bool = False


def parse_duration(text: str) -> int:
    """`90d`, `12h`, `30m`, `45s`, `2w` -> milliseconds (> 0)."""
    found = _DURATION.match(text)
    if found is None:
        raise ValueError(f"{text!r} is not a duration like 90d, 12h, 30m, 45s or 2w")
    value = round(float(found.group(1)) * _UNIT_MS[found.group(2)])
    if value <= 0:
        raise ValueError(f"{text!r}: a duration must be positive")
    return value


def plan_parts(text: str) -> tuple[str, str]:
    """`train=90d,test=30d` -> ("90d", "30d"), each checked; both parts are required."""
    parts: dict[str, str] = {}
    for item in text.split(","):
        name, sep, value = item.partition("=")
        if not sep or name.strip() not in ("train", "test"):
            raise ValueError(f"--walk-forward {text!r}: expected train=DURATION,test=DURATION")
        parse_duration(value)
        parts[name.strip()] = value.replace(" ", "")
    if set(parts) != {"train", "test"}:
        raise ValueError(f"--walk-forward {text!r}: needs both train= and test=")
    return parts["train"], parts["test"]


def plan_of(train: str, test: str, anchored: bool = False) -> WalkForwardPlan:
    """The plan of a training and a test duration (`90d`, `30d`)."""
    return WalkForwardPlan(parse_duration(train), parse_duration(test), anchored)


def parse_plan(text: str, anchored: bool = False) -> WalkForwardPlan:
    """`train=90d,test=30d` -> the plan; both parts are required."""
    return plan_of(*plan_parts(text), anchored)


def walk_forward_windows(start: int, end: int, plan: WalkForwardPlan) -> list[Window]:
    """The windows over [start, end) (see the module docstring)."""
    windows = []
    test_from = start + plan.train_ms
    if (end - test_from) / plan.test_ms > MAX_WINDOWS:
        raise ValueError(f"the plan makes more than {MAX_WINDOWS} test windows: lengthen test=")
    while test_from < end:
        train_from = start if plan.anchored else test_from - plan.train_ms
        windows.append(Window(train_from, test_from, test_from, min(test_from + plan.test_ms, end)))
        test_from += plan.test_ms
    if not windows:
        raise ValueError(
            f"the data spans {(end - start) / 86_400_000:.2f} days: too short for a training "
            f"window of {plan.train_ms / 86_400_000:.2f} days and a test window after it"
        )
    return windows

"""The trading_hours rule: weekdays and the session, on the exchange's local wall clock."""

from __future__ import annotations

from datetime import datetime, time
from functools import lru_cache
from typing import Final
from zoneinfo import ZoneInfo

from flows.trading.orchestrator.verdicts import OrderIntent, RiskView, Verdict, reject
from schemas.config import RiskLimits

_FRIDAY_ISO: Final = 5


@lru_cache(maxsize=64)
def _zone(key: str) -> ZoneInfo:
    return ZoneInfo(key)


_US_PER_MINUTE: Final = 60_000_000


def _us_of_day(hour: int, minute: int, second: int, microsecond: int) -> int:
    return ((hour * 60 + minute) * 60 + second) * 1_000_000 + microsecond


def _clock(us_of_day: int) -> str:
    """HH:MM:SS.mmm, with the microseconds only when a configured time has them."""
    seconds, us = divmod(us_of_day, 1_000_000)
    minutes, second = divmod(seconds, 60)
    hour, minute = divmod(minutes, 60)
    ms, sub_ms = divmod(us, 1000)
    tail = f"{sub_ms:03d}" if sub_ms else ""
    return f"{hour:02d}:{minute:02d}:{second:02d}.{ms:03d}{tail}"


def _session_bound(clock: time) -> int:
    return _us_of_day(clock.hour, clock.minute, clock.second, clock.microsecond)


def trading_hours_rule(view: RiskView, intent: OrderIntent, limits: RiskLimits) -> Verdict | None:
    """Weekdays and session times are judged on the local wall clock of the exchange's zone.

    Observed is minutes after local midnight (fractional) against the open or close minute;
    on a weekend it is the ISO weekday (6 Saturday, 7 Sunday) against 5 (Friday). There is no
    holiday calendar: a weekday holiday counts as a trading day.
    """
    hours = limits.trading_hours
    if hours is None:
        return None
    # Whole seconds through zoneinfo and the milliseconds added back as integers: exact, where
    # ts / 1000 as a float could round 09:29:59.9995 onto the open.
    seconds, ms = divmod(intent.ts, 1000)
    local = datetime.fromtimestamp(seconds, tz=_zone(hours.timezone))
    weekday = local.isoweekday()
    if weekday > _FRIDAY_ISO:
        return reject(
            "trading_hours",
            weekday,
            _FRIDAY_ISO,
            f"{local:%A %Y-%m-%d} in {hours.timezone} is a weekend day; "
            "orders are accepted Monday to Friday",
        )
    # Microseconds, so that an open configured with sub-millisecond precision compares exactly.
    now = _us_of_day(local.hour, local.minute, local.second, ms * 1000)
    open_, close = _session_bound(hours.open), _session_bound(hours.close)
    if now < open_:
        return reject(
            "trading_hours",
            now / _US_PER_MINUTE,
            open_ / _US_PER_MINUTE,
            f"local time {_clock(now)} {hours.timezone} is before the open at {_clock(open_)}",
        )
    # The close itself is in the session: the closing auction trades at that instant, and a
    # daily bar (stamped at the close) fills there.
    if now > close:
        return reject(
            "trading_hours",
            now / _US_PER_MINUTE,
            close / _US_PER_MINUTE,
            f"local time {_clock(now)} {hours.timezone} is after the close at {_clock(close)}",
        )
    return None

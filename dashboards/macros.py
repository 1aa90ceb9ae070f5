"""Expand a panel's SQL the way Grafana and the ClickHouse plugin do, so it can run without them.

Grafana cannot run in CI, so the dashboards' queries are tested on ClickHouse (chdb) after this
expansion. It follows the three steps a query goes through on its way to ClickHouse:

1. the plugin's frontend resolves `$__conditionalAll(condition, $var)`: `1=1` when the variable
   is set to All (or is empty), else the condition (grafana/clickhouse-datasource,
   src/data/CHDatasource.ts, `applyConditionalAll`);
2. Grafana's template service interpolates `$var`, `${var}` and `${var:format}`; a variable
   set to All stands for all of its options, and a multi-value without a format is quoted by
   the plugin's own formatter as `'a','b'` (CHDatasource.ts, `format`);
3. the plugin's backend expands the time macros (pkg/macros/macros.go, applied by sqlds):
   `$__timeFilter(col)` with second precision, `$__timeFilter_ms(col)` with milliseconds, and so
   on. Times are epoch seconds or milliseconds, so the result does not depend on time zones.

Anything this module does not know is an error rather than left in place: a typo in a
dashboard must fail the test instead of reaching ClickHouse as literal text.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

ALL = "$__all"  # the value Grafana stores when "All" is selected

# Grafana's variable syntax: $name, ${name} and ${name:format}. `[[name]]` is deprecated and
# not accepted here.
_VARIABLE = re.compile(r"\$(\w+)|\$\{(\w+)(?::([^}]+))?\}")
_CONDITIONAL_ALL = "$__conditionalAll("
# sqlds matches each macro as `$__name\b` with optional parenthesised arguments.
_BACKEND_MACRO = re.compile(r"\$__(\w+)")


class ExpansionError(ValueError):
    """The SQL uses a variable, format or macro that Grafana would not expand as written."""


@dataclass(frozen=True, slots=True)
class TimeRange:
    """The dashboard's time range and the panel interval, in epoch milliseconds."""

    from_ms: int
    to_ms: int
    interval_ms: int = 60_000


@dataclass(frozen=True, slots=True)
class VariableValue:
    """What a template variable is set to: `selected` may be `(ALL,)`; `options` are its values."""

    selected: tuple[str, ...]
    options: tuple[str, ...] = ()
    multi: bool = False

    @property
    def is_all(self) -> bool:
        return ALL in self.selected

    def values(self) -> list[str]:
        return list(self.options) if self.is_all else list(self.selected)


def macro_arguments(sql: str, open_paren: int) -> tuple[list[str], int]:
    """Split the arguments of the call whose '(' is at `open_paren` on top-level commas.

    Returns the raw (untrimmed) arguments and the index just past the closing ')'.
    """
    depth = 0
    start = open_paren + 1
    args: list[str] = []
    for index in range(open_paren, len(sql)):
        char = sql[index]
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                args.append(sql[start:index])
                return args, index + 1
        elif char == "," and depth == 1:
            args.append(sql[start:index])
            start = index + 1
    raise ExpansionError(f"unbalanced parentheses after position {open_paren}: {sql[open_paren:]}")


def apply_conditional_all(sql: str, variables: Mapping[str, VariableValue]) -> str:
    """Step 1: `$__conditionalAll(cond, $var)` becomes `1=1` on All or empty, else `cond`."""
    index = sql.rfind(_CONDITIONAL_ALL)
    while index != -1:
        args, end = macro_arguments(sql, index + len(_CONDITIONAL_ALL) - 1)
        if len(args) != 2:
            raise ExpansionError(f"$__conditionalAll takes 2 arguments, got {len(args)}")
        reference = re.search(r"\$\{(\w+)\}|\$(\w+)", args[1].strip())
        if reference is None:
            raise ExpansionError(f"$__conditionalAll needs a $variable, got {args[1]!r}")
        name = reference.group(1) or reference.group(2)
        if name not in variables:
            raise ExpansionError(f"$__conditionalAll refers to unknown variable ${name}")
        value = variables[name]
        phrase = "1=1" if value.is_all or not value.values() else args[0]
        sql = sql[:index] + phrase + sql[end:]
        index = sql.rfind(_CONDITIONAL_ALL)
    return sql


def _quote(value: str, quote: str) -> str:
    return quote + value.replace(quote, "\\" + quote) + quote


_FORMATS: dict[str, Callable[[list[str]], str]] = {
    "singlequote": lambda values: ",".join(_quote(v, "'") for v in values),
    "doublequote": lambda values: ",".join(_quote(v, '"') for v in values),
    "sqlstring": lambda values: ",".join("'" + v.replace("'", "''") + "'" for v in values),
    "csv": ",".join,
    "raw": ",".join,
}


def format_value(value: VariableValue, fmt: str | None) -> str:
    """Step 2 for one reference: Grafana's formatters, or the plugin's own without a format."""
    values = value.values()
    if fmt is None:
        # The plugin quotes arrays (multi-value variables, or All) and passes single values raw.
        if value.multi or value.is_all:
            return "'" + "','".join(values) + "'"
        return values[0] if values else ""
    formatter = _FORMATS.get(fmt)
    if formatter is None:
        raise ExpansionError(f"unsupported variable format {fmt!r}")
    return formatter(values)


def interpolate_variables(
    sql: str, variables: Mapping[str, VariableValue], time_range: TimeRange
) -> str:
    """Step 2: replace template variables; `$__name` that is not a variable is left for step 3."""
    builtins = {"__from": str(time_range.from_ms), "__to": str(time_range.to_ms)}

    def replace(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        fmt = match.group(3)
        if name in builtins:
            return builtins[name]
        if name.startswith("__"):
            return match.group(0)  # a backend macro, expanded by the plugin's backend
        if name not in variables:
            raise ExpansionError(f"unknown template variable ${name}")
        return format_value(variables[name], fmt)

    return _VARIABLE.sub(replace, sql)


def _seconds(ms: int) -> int:
    return ms // 1000


def _date(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d")


def _backend_macros(time_range: TimeRange) -> dict[str, Callable[[Sequence[str]], str]]:
    """macros.go, one entry per macro; the interval is at least one second or millisecond."""
    from_s, to_s = _seconds(time_range.from_ms), _seconds(time_range.to_ms)
    from_ms, to_ms = time_range.from_ms, time_range.to_ms
    interval_s = max(time_range.interval_ms // 1000, 1)
    interval_ms = max(time_range.interval_ms, 1)

    def one(name: str, build: Callable[[str], str]) -> Callable[[Sequence[str]], str]:
        def expand(args: Sequence[str]) -> str:
            if len(args) != 1:
                raise ExpansionError(f"$__{name} takes 1 argument, got {len(args)}")
            return build(args[0])

        return expand

    def date_time_filter(args: Sequence[str]) -> str:
        if len(args) != 2:
            raise ExpansionError(f"$__dateTimeFilter takes 2 arguments, got {len(args)}")
        date_col, time_col = args
        return (
            f"({date_col} >= toDate('{_date(from_ms)}') AND {date_col} <= toDate('{_date(to_ms)}'))"
            f" AND ({time_col} >= toDateTime({from_s}) AND {time_col} <= toDateTime({to_s}))"
        )

    return {
        "fromTime": lambda _: f"toDateTime({from_s})",
        "toTime": lambda _: f"toDateTime({to_s})",
        "fromTime_ms": lambda _: f"fromUnixTimestamp64Milli({from_ms})",
        "toTime_ms": lambda _: f"fromUnixTimestamp64Milli({to_ms})",
        "timeFilter": one(
            "timeFilter", lambda c: f"{c} >= toDateTime({from_s}) AND {c} <= toDateTime({to_s})"
        ),
        "timeFilter_ms": one(
            "timeFilter_ms",
            lambda c: (
                f"{c} >= fromUnixTimestamp64Milli({from_ms}) "
                f"AND {c} <= fromUnixTimestamp64Milli({to_ms})"
            ),
        ),
        "dateFilter": one(
            "dateFilter",
            lambda c: f"{c} >= toDate('{_date(from_ms)}') AND {c} <= toDate('{_date(to_ms)}')",
        ),
        "dateTimeFilter": date_time_filter,
        "dt": date_time_filter,
        "timeInterval": one(
            "timeInterval",
            lambda c: f"toStartOfInterval(toDateTime({c}), INTERVAL {interval_s} second)",
        ),
        "timeInterval_ms": one(
            "timeInterval_ms",
            lambda c: (
                f"toStartOfInterval(toDateTime64({c}, 3), INTERVAL {interval_ms} millisecond)"
            ),
        ),
        "interval_s": lambda _: str(interval_s),
    }


def apply_backend_macros(sql: str, time_range: TimeRange) -> str:
    """Step 3: the plugin's backend macros; arguments are split on commas and trimmed (sqlds)."""
    macros = _backend_macros(time_range)
    out: list[str] = []
    position = 0
    for match in _BACKEND_MACRO.finditer(sql):
        if match.start() < position:
            continue  # inside the arguments of a macro already expanded
        name = match.group(1)
        if name not in macros:
            raise ExpansionError(f"unknown macro $__{name}")
        end = match.end()
        args: list[str] = []
        if end < len(sql) and sql[end] == "(":
            raw_args, end = macro_arguments(sql, end)
            args = [arg.strip() for arg in raw_args]
            if args == [""]:
                args = []
        out.append(sql[position : match.start()])
        out.append(macros[name](args))
        position = end
    out.append(sql[position:])
    return "".join(out)


def expand(sql: str, variables: Mapping[str, VariableValue], time_range: TimeRange) -> str:
    """The SQL ClickHouse receives for `sql` with these variables and this time range."""
    sql = apply_conditional_all(sql, variables)
    sql = interpolate_variables(sql, variables, time_range)
    return apply_backend_macros(sql, time_range)


def referenced_variables(sql: str) -> set[str]:
    """Names of the template variables a query uses (not the `$__` macros and built-ins)."""
    names = {m.group(1) or m.group(2) for m in _VARIABLE.finditer(sql)}
    return {name for name in names if not name.startswith("__")}


def backend_macro_calls(sql: str) -> list[tuple[str, list[str]]]:
    """(name, trimmed arguments) of every backend macro call, for checks on their arguments."""
    calls: list[tuple[str, list[str]]] = []
    for match in _BACKEND_MACRO.finditer(sql):
        name = match.group(1)
        if name == "conditionalAll":
            continue
        end = match.end()
        args: list[str] = []
        if end < len(sql) and sql[end] == "(":
            raw_args, _ = macro_arguments(sql, end)
            args = [arg.strip() for arg in raw_args]
        calls.append((name, args))
    return calls

"""The edges of hostile input, without a server: non-finite JSON numbers, times of day with an
offset, and what a run's error and paths show of the server."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from api.bodies import non_finite_number
from api.jobs import failure_message, redacted
from schemas.config import TradingHours

JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner),
    max_leaves=12,
)


@given(JSON_VALUES)
def test_finite_json_passes(value: object) -> None:
    assert non_finite_number(json.dumps(value).encode()) is None


@given(JSON_VALUES, st.sampled_from(["NaN", "Infinity", "-Infinity", "1e400", "-2E+999"]))
def test_a_non_finite_number_anywhere_is_found(value: object, number: str) -> None:
    body = json.dumps({"deep": [value, {"x": "__N__"}]}).replace('"__N__"', number)
    assert non_finite_number(body.encode()) == number
    assert not math.isfinite(json.loads(body)["deep"][1]["x"])  # what Python alone would take


def test_malformed_json_is_left_to_the_route() -> None:
    assert non_finite_number(b"{not json") is None
    assert non_finite_number(b'"NaN"') is None  # a string, not a number


@pytest.mark.parametrize(
    ("open_", "close", "message"),
    [
        ("09:30:00", "16:00:00Z", "no UTC offset"),
        ("09:30", "16:00+02:00", "no UTC offset"),
        ("09:30Z", "16:00Z", "no UTC offset"),  # both with offsets: refused, never ignored
        ("09:30", 0, "a time of day must be a string"),
        (34200, "16:00", "a time of day must be a string"),
        ("09:30", True, "a time of day must be a string"),
    ],
)
def test_trading_hours_are_times_of_day_in_their_zone(
    open_: object, close: object, message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        TradingHours.model_validate({"open": open_, "close": close})
    hours = TradingHours.model_validate({"open": "09:30", "close": "16:00:00"})
    assert hours.open.tzinfo is None


def test_redaction_keeps_data_paths_relative_and_hides_the_rest(tmp_path: Path) -> None:
    inside = tmp_path / "reports" / "bt-1.html"
    assert redacted(f"file:{tmp_path}/ticks/aapl.csv", tmp_path) == "file:ticks/aapl.csv"
    assert redacted(str(inside), tmp_path) == "reports/bt-1.html"
    assert redacted("cannot read /etc/strikeflow/secret.csv: denied", tmp_path) == (
        "cannot read .../secret.csv: denied"
    )
    rust = '(src/inputs.rs:402:46): error calling `build_part` in step "ticks"'
    assert redacted(rust, tmp_path) == 'error calling `build_part` in step "ticks"'
    assert redacted("see http://grafana:3000/d/x and a/b", tmp_path) == (
        "see http://grafana:3000/d/x and a/b"
    )


def test_a_failure_is_told_by_its_innermost_cause() -> None:
    try:
        try:
            raise ValueError("Failed to parse string: 'abc' as a scalar of type double")
        except ValueError as cause:
            raise RuntimeError("(src/inputs.rs:402:46): error calling build_part") from cause
    except RuntimeError as error:
        message = failure_message(error)
    assert message == "ValueError: Failed to parse string: 'abc' as a scalar of type double"
    looped = RuntimeError("outer")
    looped.__context__ = looped  # a cycle ends the walk
    assert failure_message(looped) == "RuntimeError: outer"

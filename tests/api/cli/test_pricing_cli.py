"""`strikeflow greeks` and `strikeflow iv` (api.cli.pricing, wired into api.cli)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from api.cli import app

runner = CliRunner()
HULL = ["--spot", "49", "--strike", "50", "--rate", "0.05", "--expiry", "0.3846"]


def test_greeks_json_gives_the_hull_example_in_textbook_and_trader_units() -> None:
    result = runner.invoke(app, ["greeks", *HULL, "--vol", "0.20", "--right", "call", "--json"])
    assert result.exit_code == 0, result.output
    greeks = json.loads(result.stdout)
    assert greeks["price"] == pytest.approx(2.40, abs=0.005)
    assert greeks["delta"] == pytest.approx(0.522, abs=0.0005)
    assert greeks["gamma"] == pytest.approx(0.066, abs=0.0005)
    assert greeks["vega"] == pytest.approx(12.1, abs=0.05)
    assert greeks["theta"] == pytest.approx(-4.31, abs=0.01)
    assert greeks["rho"] == pytest.approx(8.91, abs=0.01)
    assert greeks["vega_1pct"] == pytest.approx(greeks["vega"] / 100)
    assert greeks["theta_day"] == pytest.approx(greeks["theta"] / 365)


def test_greeks_of_a_put_with_a_dividend() -> None:
    args = ["greeks", *HULL, "--vol", "0.2", "--right", "put", "--dividend", "0.02", "--json"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    greeks = json.loads(result.stdout)
    assert greeks["price"] == pytest.approx(2.6324029728975447, rel=1e-12)
    assert greeks["delta"] < 0


def test_greeks_without_json_prints_a_table() -> None:
    result = runner.invoke(app, ["greeks", *HULL, "--vol", "0.20", "--right", "call"])
    assert result.exit_code == 0, result.output
    assert "vega_1pct" in result.stdout
    assert "2.400461" in result.stdout


def test_iv_json_recovers_the_hull_volatility() -> None:
    result = runner.invoke(app, ["iv", "--price", "2.40", *HULL, "--right", "call", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["iv"] == pytest.approx(0.19996191, abs=1e-8)


def test_iv_of_a_price_below_intrinsic_is_null_with_a_reason_and_exit_zero() -> None:
    args = ["iv", "--price", "0.5", "--spot", "60", "--strike", "50", "--rate", "0.05"]
    result = runner.invoke(app, [*args, "--expiry", "0.5", "--right", "call", "--json"])
    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)
    assert answer["iv"] is None
    assert "intrinsic" in answer["reason"]


def test_iv_without_json_says_why_there_is_none() -> None:
    args = ["iv", "--price", "0", *HULL, "--right", "put"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "no implied volatility" in result.stdout


@pytest.mark.parametrize(
    "args",
    [
        ["greeks", "--spot", "-49", "--strike", "50", "--rate", "0.05", "--vol", "0.2"],
        ["greeks", "--spot", "49", "--strike", "nan", "--rate", "0.05", "--vol", "0.2"],
        ["greeks", "--spot", "49", "--strike", "50", "--rate", "inf", "--vol", "0.2"],
        ["greeks", "--spot", "49", "--strike", "50", "--rate", "0.05", "--vol", "-0.2"],
        ["iv", "--price", "nan", "--spot", "49", "--strike", "50", "--rate", "0.05"],
        ["iv", "--price", "2.4", "--spot", "0", "--strike", "50", "--rate", "0.05"],
    ],
)
def test_bad_numbers_exit_2_with_a_message_and_no_traceback(args: list[str]) -> None:
    result = runner.invoke(app, [*args, "--expiry", "0.3846", "--right", "call", "--json"])
    assert result.exit_code == 2
    assert "Invalid value" in result.output
    assert "Traceback" not in result.output
    assert result.stdout == ""


@pytest.mark.parametrize("command", ["greeks", "iv"])
def test_an_unknown_right_exits_2(command: str) -> None:
    extra = ["--vol", "0.2"] if command == "greeks" else ["--price", "2.4"]
    result = runner.invoke(app, [command, *HULL, *extra, "--right", "straddle"])
    assert result.exit_code == 2
    assert "straddle" in result.output
    assert isinstance(result.exception, SystemExit)


def test_a_negative_expiry_is_bad_input_and_zero_is_expired() -> None:
    args = ["iv", "--price", "2.4", "--spot", "49", "--strike", "50", "--rate", "0.05"]
    negative = runner.invoke(app, [*args, "--expiry", "-1", "--right", "call", "--json"])
    assert negative.exit_code == 2
    expired = runner.invoke(app, [*args, "--expiry", "0", "--right", "call", "--json"])
    assert expired.exit_code == 0
    assert json.loads(expired.stdout) == {"iv": None, "reason": "option has expired (years <= 0)"}

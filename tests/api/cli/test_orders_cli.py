"""`strikeflow orders list / show / cancel / replace`, each a real CLI process talking to a real
server (chdb and broker of the session); the cancel's and the replace's commands are read back
from the control topic."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from clickhouse_connect.driver.client import Client

from schemas.config import ControlCommand
from sinks.store.rows import insert
from tests.api.cli.test_cli_runs import run_cli
from tests.api.test_api_server import READ_TOKEN, TOKEN, Api
from tests.flows_support import read_topic
from tests.orders_support import order_book

pytestmark = pytest.mark.integration

WIDE = {"COLUMNS": "220"}  # rich fits a table to the terminal; a subprocess has none


@pytest.fixture(scope="module", autouse=True)
def books(module_ch: Client) -> None:
    insert(module_ch, order_book("live", "alice") + order_book("live", "bob", "b"))


def test_orders_list_shows_resting_orders_as_a_table(api: Api, tmp_path: Path) -> None:
    done = run_cli(
        ["orders", "list", "--open", "--account", "alice", "--api", api.url],
        tmp_path, STRIKEFLOW_API_TOKEN=TOKEN, **WIDE,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert "resting orders of live" in done.stdout
    rows = [line for line in lines if "alice" in line]
    assert [row.split("│")[2].strip() for row in rows] == ["o4", "o3", "o1"]
    assert "partially_filled" in rows[2]
    assert "stop 181.45" in rows[1]


def test_orders_list_as_json_and_show_history(api: Api, tmp_path: Path) -> None:
    token = {"STRIKEFLOW_API_TOKEN": TOKEN}
    listed = run_cli(["orders", "list", "--status", "cancelled", "--json", "--api", api.url],
                     tmp_path, **token)  # fmt: skip
    assert listed.returncode == 0, listed.stderr
    assert [o["order_id"] for o in json.loads(listed.stdout)] == ["o5", "b5"]
    shown = run_cli(["orders", "show", "o5", "--api", api.url], tmp_path, **token, **WIDE)
    assert shown.returncode == 0, shown.stderr
    rows = [line.split("│") for line in shown.stdout.splitlines() if line.startswith("│")]
    statuses = [row[13].strip() for row in rows if row[2].strip() == "o5"]
    assert statuses == ["new", "cancelled"]
    as_json = run_cli(["orders", "show", "o5", "--json", "--api", api.url], tmp_path, **token)
    assert json.loads(as_json.stdout)["order"]["reason"] == "cancelled by operator"


def test_orders_cancel_sends_the_command_or_says_why_not(api: Api, tmp_path: Path) -> None:
    token = {"STRIKEFLOW_API_TOKEN": TOKEN}
    done = run_cli(["orders", "cancel", "b3", "--reason", "flat now", "--api", api.url],
                   tmp_path, **token)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "cancel of b3 sent to bob" in done.stderr
    bootstrap = api.settings.kafka_bootstrap_servers
    assert bootstrap is not None
    sent = [
        ControlCommand.model_validate_json(v)
        for _, v in read_topic(bootstrap, api.settings.topics.control)
    ]
    assert [(c.action.value, c.order_id, c.reason) for c in sent if c.account_id == "bob"] == [
        ("cancel_order", "b3", "flat now")
    ]
    filled = run_cli(["orders", "cancel", "b2", "--api", api.url], tmp_path, **token)
    assert filled.returncode == 1
    assert filled.stderr.strip().startswith("409: order b2 is filled, not open")
    read_only = run_cli(["orders", "cancel", "b4", "--api", api.url], tmp_path,
                        STRIKEFLOW_API_TOKEN=READ_TOKEN)  # fmt: skip
    assert read_only.returncode == 1
    assert read_only.stderr.startswith("403:")


def test_orders_replace_prints_the_command_or_says_why_not(api: Api, tmp_path: Path) -> None:
    token = {"STRIKEFLOW_API_TOKEN": TOKEN}
    done = run_cli(
        ["orders", "replace", "o4", "--limit-price", "212.5", "--quantity", "8",
         "--reason", "wider", "--api", api.url],
        tmp_path, **token,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "replace of o4 (quantity 8, limit_price 212.5) sent to alice: command" in done.stderr
    bootstrap = api.settings.kafka_bootstrap_servers
    assert bootstrap is not None
    sent = [
        ControlCommand.model_validate_json(v)
        for _, v in read_topic(bootstrap, api.settings.topics.control)
    ]
    [command] = [c for c in sent if c.action.value == "replace_order" and c.order_id == "o4"]
    assert (command.account_id, command.changes, command.reason) == (
        "alice",
        {"quantity": 8, "limit_price": 212.5},
        "wider",
    )
    wrong = run_cli(["orders", "replace", "o3", "--limit-price", "1", "--api", api.url],
                    tmp_path, **token)  # fmt: skip
    assert wrong.returncode == 1
    assert wrong.stderr.strip().startswith("422: limit_price: order o3: a stop order has no")
    nothing = run_cli(["orders", "replace", "o3", "--api", api.url], tmp_path, **token)
    assert nothing.returncode == 2
    assert "give at least one new term" in nothing.stderr


def test_orders_without_a_token_or_a_server_fail_with_one_line(tmp_path: Path) -> None:
    no_token = run_cli(["orders", "list"], tmp_path)
    assert no_token.returncode == 2
    assert "STRIKEFLOW_API_TOKEN" in no_token.stderr
    (tmp_path / "api-token").write_text("a-token\n")
    nobody = run_cli(["orders", "list", "--api", "http://127.0.0.1:9"], tmp_path)
    assert nobody.returncode == 1
    assert nobody.stderr.startswith("cannot reach the API at http://127.0.0.1:9")

"""The console's Orders page in a real browser (Debian's Chromium, driven by Playwright) against
a real server in this process, on the session's chdb and broker: order rows inserted into the
server's database show up, an order's history opens on a click, Cancel (confirmed) sends a
cancel_order command that arrives on the control topic, or shows the server's 409, and Replace
offers the terms the order's type has, shows the server's 422, and sends a replace_order whose
outcome it shows.

No flow runs here (the account stage's order rows are inserted as it writes them), so a sent
cancel stays pending; a replace is applied by inserting the rows the flow would write. The
tests run in order on one logged-in page. Screenshots go to test-artifacts/console/ (not
committed)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from clickhouse_connect.driver.client import Client

from schemas.config import ControlAction, ControlCommand
from sinks.store.rows import insert
from tests.api.console_browser import ARTIFACTS, CHROMIUM_ARGS, chromium_path
from tests.api.test_api_server import TOKEN, Api, trading_config
from tests.flows_support import read_topic
from tests.orders_support import T0, order_book, order_event

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

if chromium_path() is None:  # make test installs it (Makefile: system-packages)
    pytest.skip("Debian's chromium is not installed", allow_module_level=True)

from playwright.sync_api import Page, expect, sync_playwright  # noqa: E402


@pytest.fixture(scope="module")
def page(api: Api, module_ch: Client) -> Iterator[Page]:
    """A logged-in tab on the Orders page of alice, whose book is in the server's database."""
    for account in ("alice", "bob"):
        created = api.http.post("/configs", json=trading_config(account))
        assert created.status_code == 201, created.text
    insert(module_ch, order_book("live", "alice") + order_book("bt-1", "alice", "t"))
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        tab = browser.new_page(viewport={"width": 1280, "height": 900})
        tab.set_default_timeout(20_000)
        errors: list[str] = []
        tab.on("pageerror", lambda error: errors.append(str(error)))
        tab.goto(api.url + "/console/")
        tab.fill("#token", TOKEN)
        tab.click("#login button[type=submit]")
        expect(tab.locator("#nav")).to_be_visible()
        tab.goto(api.url + "/console/#/orders?account=alice")
        expect(tab.locator("#page")).to_have_attribute("data-page", "orders")
        yield tab
        assert not errors, errors
        browser.close()


def shoot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def cancels(api: Api) -> list[ControlCommand]:
    bootstrap = api.settings.kafka_bootstrap_servers
    assert bootstrap is not None
    messages = read_topic(bootstrap, api.settings.topics.control)
    sent = [ControlCommand.model_validate_json(value) for _, value in messages]
    return [command for command in sent if command.action == ControlAction.CANCEL_ORDER]


def test_resting_orders_show_up_with_their_prices_and_a_cancel_button(page: Page) -> None:
    rows = page.locator("#orders tbody tr")
    expect(rows).to_have_count(3)
    assert [rows.nth(n).get_attribute("data-order") for n in range(3)] == ["o4", "o3", "o1"]
    stop = page.locator("#orders tr[data-order='o3']")
    expect(stop).to_contain_text("stop_loss")
    expect(stop).to_contain_text("181.45")
    partial = page.locator("#orders tr[data-order='o1']")
    expect(partial).to_contain_text("partially_filled")
    expect(partial.get_by_role("button", name="Cancel o1")).to_be_visible()


def test_clicking_an_order_shows_its_history(page: Page) -> None:
    page.locator("#orders tr[data-order='o1'] a").click()
    history = page.locator("#order-history-rows tbody tr")
    expect(history).to_have_count(2)
    expect(history.nth(0)).to_contain_text("new")
    expect(history.nth(1)).to_contain_text("partially_filled")
    expect(history.nth(1)).to_contain_text("190.4")


def test_a_confirmed_cancel_reaches_the_control_topic(page: Page, api: Api) -> None:
    page.get_by_role("button", name="Cancel o3").click()
    dialog = page.get_by_role("dialog", name="Cancel o3")
    expect(dialog).to_contain_text("sell 10 AAPL stop")
    dialog.get_by_role("button", name="Keep it").click()
    expect(dialog).to_have_count(0)
    assert cancels(api) == []  # kept: nothing sent

    page.get_by_role("button", name="Cancel o3").click()
    page.get_by_label("Reason (optional)").fill("tighter stop")
    page.get_by_role("button", name="Cancel order").click()
    expect(page.locator("#order-answer")).to_contain_text("202: cancel of o3 sent to alice")
    # no flow runs here: after the server's wait for an outcome, the command is still pending
    expect(page.locator("#order-answer")).to_contain_text("pending", timeout=15_000)
    shoot(page, "orders")
    sent = cancels(api)
    assert [(c.account_id, c.order_id, c.reason) for c in sent] == [("alice", "o3", "tighter stop")]
    assert sent[0].command_id in page.locator("#order-answer").inner_text()


def test_replace_offers_the_terms_of_the_order_type_and_shows_the_outcome(
    page: Page, api: Api, module_ch: Client
) -> None:
    page.get_by_role("button", name="Replace o3").click()  # a stop: a stop price, no limit
    dialog = page.get_by_role("dialog", name="Replace o3")
    expect(dialog.get_by_label("Stop price")).to_have_value("181.45")
    assert dialog.get_by_label("Limit price").count() == 0
    assert dialog.get_by_label("Trail").count() == 0
    dialog.get_by_role("button", name="Keep it").click()
    expect(dialog).to_have_count(0)

    page.get_by_role("button", name="Replace o1").click()  # a limit buy, 40 of 100 filled
    dialog = page.get_by_role("dialog", name="Replace o1")
    expect(dialog.get_by_label("Limit price")).to_have_value("190.5")
    assert dialog.get_by_label("Stop price").count() == 0
    dialog.get_by_label("Quantity (new total)").fill("40")
    dialog.get_by_role("button", name="Replace order").click()
    answer = page.locator("#order-answer")
    expect(answer).to_contain_text("422: quantity: order o1: quantity 40 leaves nothing to work")
    expect(answer).to_have_class("status-line error")

    page.get_by_role("button", name="Replace o1").click()
    dialog = page.get_by_role("dialog", name="Replace o1")
    dialog.get_by_label("Limit price").fill("190.25")
    dialog.get_by_label("Quantity (new total)").fill("80")
    dialog.get_by_label("Reason (optional)").fill("chase")
    shoot(page, "orders-replace")
    dialog.get_by_role("button", name="Replace order").click()
    expect(answer).to_contain_text("202: replace of o1 sent to alice")
    found = re.search(r"\(command ([^)]+)\)", answer.inner_text())
    assert found is not None
    command_id = found[1]
    # the flow's rows for it, while the server waits for its outcome: o1 ends replaced, its
    # successor works the 40 left of the new 80
    successor = f"o1:replace:{command_id}"
    now = T0 + 20_000
    terms = {"limit_price": 190.25, "command_id": command_id}
    insert(module_ch, [
        order_event("live", "alice", "o1", 2, now, placed_ts=T0 + 1000, status="replaced",
                    filled_quantity=40, avg_fill_price=190.4,
                    reason=f"replaced by {successor} (command {command_id})",
                    command_id=command_id),
        order_event("live", "alice", successor, 0, now, quantity=40,
                    reason=f"replaces o1 (command {command_id})", **terms),
    ])  # fmt: skip
    expect(answer).to_contain_text(f"applied, now order {successor}")
    expect(page.locator(f"#orders tr[data-order='{successor}']")).to_contain_text("190.25")
    expect(page.locator("#orders tr[data-order='o1']")).to_have_count(0)
    shoot(page, "orders-replaced")
    bootstrap = api.settings.kafka_bootstrap_servers
    assert bootstrap is not None
    sent = [
        ControlCommand.model_validate_json(value)
        for _, value in read_topic(bootstrap, api.settings.topics.control)
    ]
    replaced = [c for c in sent if c.action == ControlAction.REPLACE_ORDER]
    assert [(c.command_id, c.order_id, c.changes, c.reason) for c in replaced] == [
        (command_id, "o1", {"quantity": 80, "limit_price": 190.25}, "chase")
    ]


def test_an_order_that_filled_meanwhile_shows_the_409(
    page: Page, api: Api, module_ch: Client
) -> None:
    page.get_by_role("button", name="Cancel o4").click()
    # while the operator reads the dialog, the take-profit fills
    filled = order_event("live", "alice", "o4", 1, T0 + 30_000, placed_ts=T0 + 4000,
                         purpose="take_profit", instrument="MSFT", underlying="MSFT",
                         side="sell", quantity=10, limit_price=210.1, status="filled",
                         filled_quantity=10, avg_fill_price=210.1)  # fmt: skip
    insert(module_ch, [filled])
    page.get_by_role("button", name="Cancel order").click()
    answer = page.locator("#order-answer")
    expect(answer).to_contain_text("409: order o4 is filled, not open")
    expect(answer).to_have_class("status-line error")
    expect(page.locator("#orders tr[data-order='o4']")).to_have_count(0)  # gone on refresh
    assert [c.order_id for c in cancels(api)] == ["o3"]


def test_all_orders_and_a_backtests_orders_have_no_cancel_button(page: Page) -> None:
    page.uncheck("#orders-open")
    expect(page.locator("#orders tbody tr")).to_have_count(7)  # o1..o6 and o1's successor
    expect(page.locator("#orders-title")).to_have_text("Orders")
    assert page.locator("#orders tr[data-order='o2'] button").count() == 0  # filled
    page.fill("#orders-run", "bt-1")
    page.locator("#orders-run").dispatch_event("change")
    expect(page.locator("#orders tr[data-order='t1']")).to_be_visible()
    assert page.locator("#orders button").count() == 0  # a backtest's orders are history
    expect(page.locator("#order-answer")).to_have_text("")
    shoot(page, "orders-backtest")
    page.set_viewport_size({"width": 390, "height": 844})  # a phone: the table scrolls inside
    expect(page.locator("#orders tr[data-order='t1']")).to_be_visible()
    shoot(page, "orders-390")

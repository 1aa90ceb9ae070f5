"""The web console in a real browser (Debian's Chromium, driven by Playwright) against a real
`strikeflow serve --feed`: bundled broker, chdb, simulated ticks. The tests of this module run
in order on one server and one logged-in page, as an operator would: log in, create a config,
start it, watch its decisions, halt it, try a bad edit, run backtests. Screenshots of every page
at 1280 and 390 px are kept under test-artifacts/console/ (not committed).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.api.console_browser import (
    ARTIFACTS,
    CHROMIUM_ARGS,
    Served,
    chromium_path,
    serve_with_feed,
)
from tests.api.test_api_server import eventually
from tests.flows_support import write_session_file

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600), pytest.mark.long(80)]

if chromium_path() is None:  # make test installs it (Makefile: system-packages)
    pytest.skip("Debian's chromium is not installed", allow_module_level=True)

from playwright.sync_api import Browser, Page, expect, sync_playwright  # noqa: E402

ACCOUNT = "console-1"
PAGES = ("control", "feed", "positions", "orders", "configs", "backtests", "analytics")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with serve_with_feed(tmp_path_factory.mktemp("console")) as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def page(browser: Browser, served: Served) -> Iterator[Page]:
    """One tab, logged in by the first test; page errors fail the test that caused them."""
    tab = browser.new_page(viewport={"width": 1280, "height": 900})
    tab.set_default_timeout(20_000)
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    tab.errors = errors  # type: ignore[attr-defined]
    yield tab
    tab.close()


class Traffic:
    """The tab's HTTP requests (its WebSocket is not one): how many are open, how many were
    answered, and when the last one started or ended. Playwright calls these back while the
    test waits in a page call (page.wait_for_timeout), not during time.sleep."""

    def __init__(self, tab: Page) -> None:
        self.open = 0
        self.answered = 0
        self.last = time.monotonic()
        tab.on("request", self._started)
        tab.on("requestfinished", self._ended)
        tab.on("requestfailed", self._ended)

    def _started(self, _request: object) -> None:
        self.open += 1
        self.last = time.monotonic()

    def _ended(self, _request: object) -> None:
        self.open -= 1
        self.answered += 1
        self.last = time.monotonic()

    def settle(self, page: Page, since: int, quiet: float = 0.5, timeout: float = 20.0) -> None:
        """Until a request made after `since` answers were counted is answered, none is open
        and none started for `quiet` s: the page shows its data (pages poll every 2 to 4 s)."""
        deadline = time.monotonic() + timeout
        while not (
            self.answered > since and self.open == 0 and time.monotonic() - self.last >= quiet
        ):
            assert time.monotonic() < deadline, "the page's requests never settled"
            page.wait_for_timeout(50)


@pytest.fixture(scope="module")
def traffic(page: Page) -> Traffic:
    return Traffic(page)


@pytest.fixture(autouse=True)
def no_page_errors(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "page" in request.fixturenames:
        tab: Any = request.getfixturevalue("page")
        assert not tab.errors, tab.errors


def go(page: Page, name: str) -> None:
    page.click(f"nav a[href='#/{name}']")
    expect(page.locator("#page")).to_have_attribute("data-page", name)


def shoot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_login_takes_the_token_once_and_keeps_it_out_of_the_page(
    page: Page, served: Served
) -> None:
    page.goto(served.url + "/")
    assert page.url.endswith("/console/")
    expect(page.locator("#login")).to_be_visible()
    page.fill("#token", "not-the-token")
    page.click("#login button[type=submit]")
    expect(page.locator("#login-error")).to_have_text("invalid token")
    page.fill("#token", served.token)
    page.click("#login button[type=submit]")
    expect(page.locator("#nav")).to_be_visible()
    expect(page.locator("#login")).to_be_hidden()
    cookie = next(c for c in page.context.cookies() if c["name"] == "strikeflow_session")
    assert cookie["httpOnly"]
    assert cookie["sameSite"] == "Strict"
    assert cookie["value"] != served.token
    stored = page.evaluate("[localStorage.length, sessionStorage.length, document.cookie]")
    assert stored == [0, 0, ""]  # the page cannot read the session, and keeps nothing
    assert served.token not in page.url
    assert page.locator("#token").input_value() == ""


def test_the_health_strip_shows_the_running_pipeline(page: Page, served: Served) -> None:
    """The strip polls /ready and /metrics of the real server, whose feed is ticking."""
    strip = page.locator("#health")
    expect(strip).to_be_visible()
    expect(page.locator("#h-clickhouse")).to_have_text("ClickHouse up")
    expect(page.locator("#h-broker")).to_have_text("broker up")
    expect(page.locator("#h-flow")).to_have_text("flow running")
    ticks = page.locator("#h-ticks")

    def ticking() -> float | None:
        value = ticks.inner_text().removeprefix("ticks/s ").replace(",", "")
        return float(value) if value not in ("—", "0.0") else None

    assert eventually(ticking, timeout=60, what="ticks/s from two scrapes") > 0
    expect(page.locator("#h-tick")).to_contain_text("ago", timeout=30_000)
    for item in ("#h-lag", "#h-watermark", "#h-decision", "#h-dead", "#h-rows", "#h-queue"):
        expect(page.locator(item)).to_be_visible()
    assert page.locator("#h-retries").get_attribute("class") == "health-item good"
    shoot(page, "health-strip-1280")


def create_config_in_form(page: Page) -> None:
    go(page, "configs")
    page.click("#new-config")
    form = page.locator("#config-form")
    form.locator("input[name='account_id']").fill(ACCOUNT)
    form.locator("input[name='symbols']").fill("AAPL")
    form.locator("input[name='strategy.fast']").fill("2")
    form.locator("input[name='strategy.slow']").fill("5")
    form.locator("input[name='sizing.quantity']").fill("10")
    # trade at any hour (the feed's session is shifted to now) and without a position cap
    form.get_by_label("limits.trading_hours: set (unchecked: none)").uncheck()
    form.get_by_label("limits.max_open_positions: set (unchecked: none)").uncheck()
    page.click("#save-config")
    expect(page.locator("#config-status")).to_contain_text(f"{ACCOUNT}: version 1 saved")


def test_a_config_made_in_the_form_trades_and_the_kill_switch_halts_it(
    page: Page, served: Served
) -> None:
    create_config_in_form(page)
    go(page, "control")
    row = page.locator(f"#accounts tr[data-account='{ACCOUNT}']")
    row.get_by_role("button", name=f"Start {ACCOUNT}").click()
    expect(row.locator("td.wrap")).to_contain_text("start applied → running", timeout=30_000)
    expect(row.locator(".state")).to_have_text("running", timeout=10_000)

    go(page, "feed")
    page.fill("#feed-account", ACCOUNT)
    page.uncheck("#kind-signal")
    page.uncheck("#kind-fill")
    page.uncheck("#kind-alert")
    page.click("#page form button[type=submit]")
    decision = page.locator("#feed-rows tr[data-kind='decision']").first
    expect(decision).to_contain_text(ACCOUNT, timeout=30_000)
    expect(decision).to_contain_text("approved")  # the verdict with its rule and reason
    assert page.locator("#feed-rows tr:not([data-kind='decision'])").count() == 0
    page.click("#feed-pause")
    expect(page.locator("#feed-pause")).to_have_text("Resume")
    shown = page.locator("#feed-rows tr").count()
    time.sleep(2)
    assert page.locator("#feed-rows tr").count() == shown  # paused: nothing drawn
    page.click("#feed-pause")

    go(page, "control")
    row.get_by_role("button", name=f"Kill {ACCOUNT}").click()
    dialog = page.locator("dialog[open]")
    dialog.get_by_label("Reason").fill("console test halt")
    dialog.get_by_role("button", name="Confirm").click()
    expect(row.locator("td.wrap")).to_contain_text("kill-switch applied → halted", timeout=30_000)
    expect(row.locator(".state")).to_have_text("halted", timeout=10_000)
    state = served.http.get(f"/accounts/{ACCOUNT}/state").json()
    assert state["status"] == "halted"
    assert "console test halt" in state["reason"]
    time.sleep(3)  # the feed keeps ticking: no decision after the halt may be approved
    approved = served.http.get(
        "/decisions", params={"account": ACCOUNT, "approved": "true", "limit": 1}
    ).json()["items"]
    assert approved
    assert approved[0]["ts"] <= state["ts"]


def test_an_invalid_edit_shows_the_fields_message_and_changes_nothing(
    page: Page, served: Served
) -> None:
    before = served.http.get(f"/configs/{ACCOUNT}/versions").json()
    go(page, "configs")
    page.get_by_role("button", name=f"Edit {ACCOUNT}").click()
    page.fill("#config-form input[name='strategy.fast']", "-3")
    page.click("#save-config")
    field = page.locator(".field[data-path='strategy.fast']")
    expect(field).to_have_class("field invalid")
    expect(field.locator(".error")).to_contain_text("greater than or equal to 1")
    assert served.http.get(f"/configs/{ACCOUNT}/versions").json() == before
    shoot(page, "configs-invalid-1280")


def test_a_valid_edit_is_a_new_version_shown_with_its_diff(page: Page, served: Served) -> None:
    go(page, "configs")
    page.get_by_role("button", name=f"Edit {ACCOUNT}").click()
    page.fill("#config-form input[name='strategy.slow']", "6")
    page.click("#save-config")
    expect(page.locator("#config-status")).to_contain_text(f"{ACCOUNT}: version 2 saved")
    diff = page.locator("#config-diff tbody tr")
    expect(diff).to_have_count(1)
    expect(diff).to_contain_text("strategy.slow")
    assert diff.locator("td").all_inner_texts() == ["strategy.slow", "5", "6"]
    versions = served.http.get(f"/configs/{ACCOUNT}/versions").json()
    assert [v["strategy"]["slow"] for v in versions] == [5, 6]
    shoot(page, "configs-diff-1280")


def progress_of(page: Page, run_id: str) -> tuple[str, float]:
    row = page.locator(f"#runs tr[data-run='{run_id}']")
    value = row.locator("progress").evaluate("bar => bar.value")
    return str(row.get_attribute("data-status")), float(value)


def test_a_swept_backtest_runs_from_the_form_and_a_second_is_cancelled(
    page: Page, served: Served, tmp_path: Path
) -> None:
    # ~23,000 ticks: long enough to watch its progress, short enough for the suite
    ticks = write_session_file(tmp_path / "ticks-console.parquet", ["AAPL"], 60)
    go(page, "backtests")
    page.set_input_files("#bt-upload", str(ticks))
    expect(page.locator("#bt-file")).to_have_value("uploads/ticks-console.parquet")
    page.select_option("#bt-config", ACCOUNT)
    page.fill("#bt-account", "sweep-a")
    page.fill("#bt-sweep", "fast = 2, 3\nslow = 5, 8")
    page.fill("#bt-wf-train", "2h")  # a trading day of 6.5 hours: four test windows of 75 minutes
    page.fill("#bt-wf-test", "75m")
    page.select_option("#bt-wf-objective", "total_return")
    page.click("#bt-launch")
    first = page.locator("#runs tr").nth(1)
    expect(first).to_be_visible()
    run_a = str(first.get_attribute("data-run"))
    page.fill("#bt-account", "sweep-b")
    page.fill("#bt-sweep", "fast = 4, 6")
    page.fill("#bt-wf-train", "")
    page.fill("#bt-wf-test", "")
    page.click("#bt-launch")
    run_b = eventually(
        lambda: next(
            (
                r["run_id"]
                for r in served.http.get("/backtests").json()
                if r["accounts"][0].startswith("sweep-b")
            ),
            None,
        ),
        what="the second run",
    )
    page.get_by_role("button", name=f"Cancel {run_b}").click()  # it waits behind the first
    expect(page.locator(f"#runs tr[data-run='{run_b}']")).to_have_attribute(
        "data-status", "cancelled", timeout=30_000
    )
    seen: list[tuple[str, float]] = []

    def finished() -> bool | None:
        seen.append(progress_of(page, run_a))
        return True if seen[-1][0] in ("completed", "failed") else None

    eventually(finished, timeout=240, what="the swept backtest to finish")
    assert seen[-1][0] == "completed"
    assert any(0 < value < 1 or status == "running" for status, value in seen), seen
    page.get_by_role("button", name=f"Results of {run_a}").click()
    ranked = page.locator("#ranked tbody tr")
    expect(page.locator("#bt-result")).not_to_contain_text("results of")  # no error shown
    expect(ranked).to_have_count(4, timeout=60_000)
    shown = ranked.locator("td:nth-child(3)").all_inner_texts()  # "▲ +1.20 %", "▼ −0.31 %"
    returns = [
        float(text.strip("▲▼· %").replace("−", "-").replace("+", "").replace(",", ""))
        for text in shown
    ]
    assert returns == sorted(returns, reverse=True), shown
    expect(page.locator("#bt-equity canvas").first).to_be_visible()
    expect(page.locator("#bt-drawdown canvas").first).to_be_visible()
    # The sweep was launched with a walk-forward: its windows and chosen parameters are shown.
    windows = page.locator("#wf-windows tbody tr")
    expect(windows).to_have_count(4, timeout=30_000)
    assert all("fast=" in text for text in windows.locator("td:nth-child(3)").all_inner_texts())
    expect(page.locator("#wf-summary")).to_contain_text("Out of sample")
    expect(page.locator("#wf-equity canvas").first).to_be_visible()
    shoot(page, "backtests-result-1280")


def test_the_positions_page_shows_the_accounts_worst_scenario_loss(
    page: Page, served: Served
) -> None:
    # A shock budget no order reaches, set in the form (version 3), so that the snapshots carry
    # the book's worst scenario loss; then re-armed after the kill switch, so that it trades.
    go(page, "configs")
    page.get_by_role("button", name=f"Edit {ACCOUNT}").click()
    form = page.locator("#config-form")
    form.get_by_label("limits.max_scenario_loss: set (unchecked: none)").check()
    form.locator("input[name='limits.max_scenario_loss']").fill("1000000")
    page.click("#save-config")
    expect(page.locator("#config-status")).to_contain_text(f"{ACCOUNT}: version 3 saved")
    go(page, "control")
    row = page.locator(f"#accounts tr[data-account='{ACCOUNT}']")
    row.get_by_role("button", name=f"Start {ACCOUNT}").click()
    expect(row.locator(".state")).to_have_text("running", timeout=30_000)
    go(page, "positions")
    page.select_option("#pos-account", ACCOUNT)
    cell = page.locator("#pos-scenario-loss")

    def shown_as_recorded() -> bool | None:
        rows = served.http.get("/positions", params={"account": ACCOUNT}).json()
        book = next((r for r in rows if r["instrument"] == ""), None)
        if book is None or book["scenario_loss"] <= 0:
            return None  # no snapshot while holding a position yet
        return True if cell.inner_text() == f"{book['scenario_loss']:,.2f} $" else None

    eventually(shown_as_recorded, timeout=180, what="the account's worst scenario loss")
    shoot(page, "positions-scenario-1280")
    stopped = served.http.post(f"/accounts/{ACCOUNT}/stop")  # no trading in the later tests
    assert stopped.status_code == 202, stopped.text


@pytest.mark.parametrize("width", [1280, 390])
def test_every_page_fits_the_screen_and_is_screenshotted(
    page: Page, traffic: Traffic, width: int
) -> None:
    page.set_viewport_size({"width": width, "height": 900})
    for name in PAGES:
        answered = traffic.answered
        go(page, name)
        traffic.settle(page, answered)  # its data shown and the charts drawn
        overflow = page.evaluate("document.documentElement.scrollWidth")
        assert overflow <= width + 1, f"{name} is {overflow}px wide at {width}px"
        shoot(page, f"{name}-{width}")
    page.set_viewport_size({"width": 1280, "height": 900})

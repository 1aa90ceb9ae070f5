"""`strikeflow orders list / show / cancel / replace`: orders through the running API.

Unlike `configs`, these commands talk to `strikeflow serve` over HTTP rather than opening the
database: orders matter while trading runs, and then the server holds the embedded ClickHouse
(one process per path), and a cancel or a replace must go through the server's check that the
order is still open (and that the new terms fit its type) before its command reaches the flow.
The server is STRIKEFLOW_API_HOST and STRIKEFLOW_API_PORT (or `--api`); the token is
STRIKEFLOW_API_TOKEN, else the one `serve` wrote to <data_dir>/api-token.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import quote

import typer
from rich.console import Console
from rich.table import Table

from api.cli.common import console
from schemas.settings import Settings

if TYPE_CHECKING:
    import httpx

orders_app = typer.Typer(
    no_args_is_help=True, help="Orders: list, show, cancel and replace (via the API)."
)

ApiOption = Annotated[
    str | None, typer.Option("--api", help="The API's URL (default: from the settings).")
]
RunOption = Annotated[str, typer.Option("--run", help="'live', or a backtest's run id.")]


def _client(api: str | None) -> httpx.Client:
    import httpx  # deferred, like the other groups' heavy imports: `strikeflow --help` stays quick

    settings = Settings()
    url = api or f"http://{settings.api_host}:{settings.api_port}"
    token = settings.api_token.get_secret_value() if settings.api_token else None
    if token is None:
        path = settings.data_dir / "api-token"
        try:
            token = path.read_text().strip()
        except OSError:
            raise typer.BadParameter(
                f"no API token: set STRIKEFLOW_API_TOKEN or start `strikeflow serve` (which "
                f"writes {path})"
            ) from None
    return httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=30)


def _call(api: str | None, method: str, path: str, **options: Any) -> Any:
    """The answer's JSON; an error answer or an unreachable server ends the command (exit 1)
    with one line saying why."""
    import httpx

    with _client(api) as client:
        try:
            answer = client.request(method, path, **options)
        except httpx.TransportError as error:
            console.print(f"cannot reach the API at {client.base_url}: {error}")
            raise typer.Exit(1) from None
    if answer.is_success:
        return answer.json()
    try:
        detail = answer.json()["detail"]
    except (ValueError, KeyError, TypeError):
        detail = answer.text
    if isinstance(detail, list):  # a 422 lists the invalid fields
        detail = "; ".join(f"{p['loc'][-1]}: {p['msg']}" for p in detail)
    console.print(f"{answer.status_code}: {detail}")
    raise typer.Exit(1)


def _price(value: float | None) -> str:
    return "" if value is None else f"{value:,.2f}"


def _prices(order: dict[str, Any]) -> str:
    """The prices that make the order work: its stop, trail and limit, those it has."""
    parts = []
    if order.get("stop_price") is not None:
        parts.append(f"stop {_price(order['stop_price'])}")
    if order.get("trail_percent") is not None:
        parts.append(f"trail {order['trail_percent'] * 100:.2f} %")
    elif order.get("trail_amount") is not None:
        parts.append(f"trail {_price(order['trail_amount'])}")
    if order.get("limit_price") is not None:
        parts.append(f"limit {_price(order['limit_price'])}")
    return "  ".join(parts)


def _time(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S")


def orders_table(orders: list[dict[str, Any]], title: str) -> Table:
    """Orders as the API returns them, one row each: what, how much, at what price, how long."""
    table = Table(title=title)
    for column in ("placed (UTC)", "order", "account", "instrument", "side", "type"):
        table.add_column(column)
    for column in ("qty", "filled", "avg fill", "prices"):
        table.add_column(column, justify="right")
    for column in ("TIF", "purpose", "status"):
        table.add_column(column)
    # a long reason would wrap every row it is on: cut it, `--json` has it whole
    table.add_column("reason", max_width=32, no_wrap=True, overflow="ellipsis")
    for order in orders:
        table.add_row(
            _time(order["placed_ts"]),
            order["order_id"],
            order["account_id"],
            order["instrument"],
            order["side"],
            order["order_type"],
            f"{order['quantity']:,}",
            f"{order['filled_quantity']:,}",
            _price(order["avg_fill_price"] or None),
            _prices(order),
            order["time_in_force"],
            order["purpose"],
            order["status"],
            order["reason"],
        )
    return table


@orders_app.command("list")
def list_orders(
    open_only: Annotated[
        bool, typer.Option("--open", help="Only resting orders (new, partially filled).")
    ] = False,
    account: Annotated[str | None, typer.Option(help="Only this account.")] = None,
    run: RunOption = "live",
    symbol: Annotated[str | None, typer.Option(help="Only this underlying.")] = None,
    status: Annotated[str | None, typer.Option(help="Only orders in this status now.")] = None,
    purpose: Annotated[str | None, typer.Option(help="Only this purpose.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="At most this many.")] = 100,
    as_json: Annotated[bool, typer.Option("--json", help="The orders as JSON.")] = False,
    api: ApiOption = None,
) -> None:
    """Orders of a run, newest placed first, each in its latest state."""
    params = {
        "run": run,
        "account": account,
        "symbol": symbol,
        "status": status,
        "purpose": purpose,
        "limit": limit,
        "open": "true" if open_only else None,
    }
    chosen = {name: value for name, value in params.items() if value is not None}
    page = _call(api, "GET", "/orders", params=chosen)
    if as_json:
        print(json.dumps(page["items"], indent=2))
        return
    title = f"{'resting ' if open_only else ''}orders of {run}"
    Console().print(orders_table(page["items"], title))
    if page["next_cursor"]:
        console.print(f"more than {limit}: narrow the filters or raise --limit")


@orders_app.command("show")
def show(
    order_id: Annotated[str, typer.Argument(help="The order's id.")],
    run: RunOption = "live",
    as_json: Annotated[bool, typer.Option("--json", help="The order and history as JSON.")] = False,
    api: ApiOption = None,
) -> None:
    """An order's status history, oldest first: its last row is its state."""
    detail = _call(api, "GET", f"/orders/{quote(order_id, safe='')}", params={"run": run})
    if as_json:
        print(json.dumps(detail, indent=2))
        return
    Console().print(orders_table(detail["history"], f"order {order_id} in {run}"))


@orders_app.command("cancel")
def cancel(
    order_id: Annotated[str, typer.Argument(help="The resting live order's id.")],
    reason: Annotated[str, typer.Option(help="Why; recorded with the command.")] = "",
    api: ApiOption = None,
) -> None:
    """Ask the live flow to cancel a resting order (a cancel_order command)."""
    sent = _call(api, "POST", f"/orders/{quote(order_id, safe='')}/cancel", json={"reason": reason})
    console.print(
        f"cancel of {order_id} sent to {sent['account_id']}: command {sent['command_id']} "
        f"(see `GET /commands/{sent['command_id']}`)"
    )


@orders_app.command("replace")
def replace(
    order_id: Annotated[str, typer.Argument(help="The resting live order's id.")],
    quantity: Annotated[
        int | None,
        typer.Option(min=1, help="New total quantity, the part already filled included."),
    ] = None,
    limit_price: Annotated[float | None, typer.Option(help="New limit price.")] = None,
    stop_price: Annotated[float | None, typer.Option(help="New stop price.")] = None,
    trail_amount: Annotated[
        float | None, typer.Option(help="New trail of a trailing stop, in currency.")
    ] = None,
    trail_percent: Annotated[
        float | None, typer.Option(help="New trail of a trailing stop, a fraction (0.02 = 2 %).")
    ] = None,
    reason: Annotated[str, typer.Option(help="Why; recorded with the command.")] = "",
    api: ApiOption = None,
) -> None:
    """Ask the live flow to replace a resting order's terms (a replace_order command): the
    order ends 'replaced' and a new one, in its place, works the new terms."""
    terms = {
        "quantity": quantity,
        "limit_price": limit_price,
        "stop_price": stop_price,
        "trail_amount": trail_amount,
        "trail_percent": trail_percent,
    }
    given = {name: value for name, value in terms.items() if value is not None}
    if not given:
        raise typer.BadParameter(
            "give at least one new term: --quantity, --limit-price, --stop-price, "
            "--trail-amount or --trail-percent"
        )
    path = f"/orders/{quote(order_id, safe='')}/replace"
    sent = _call(api, "POST", path, json={**given, "reason": reason})
    changes = ", ".join(f"{name} {sent[name]}" for name in given)
    console.print(
        f"replace of {order_id} ({changes}) sent to {sent['account_id']}: command "
        f"{sent['command_id']}; `strikeflow orders show {order_id}` names its successor once "
        "the flow has applied it"
    )


def register(app: typer.Typer) -> None:
    """Add the `orders` command group to the `strikeflow` CLI."""
    app.add_typer(orders_app, name="orders")

// Orders of one account and run: the resting ones (or all), refreshed every 3 s, each with a
// Cancel button (live run only; confirmed first, the server's 202 or 409 shown as it came),
// and an order's status history on clicking its id.
import { get, post, query } from "../lib/api.js";
import { el, fmt, num, replace, table } from "../lib/dom.js";

const REFRESH_MS = 3000;
const OPEN = new Set(["new", "partially_filled"]);
// columns a 390 px phone leaves out (placed time, trail, TIF, purpose), so Cancel is in reach
const NARROW_HIDDEN = new Set([0, 9, 10, 11]);
const HEADERS = [
  "Placed (UTC)", "Order", "Instrument", "Side", "Type", ["Qty", true], ["Filled", true],
  ["Limit", true], ["Stop", true], ["Trail", true], "TIF", "Purpose", "Status", "",
];

function trail(order) {
  if (order.trail_percent !== null) return fmt.pct(order.trail_percent);
  return fmt.number(order.trail_amount);
}

// Ask before cancelling; resolves to { reason } or null when the operator keeps the order.
function confirmCancel(order) {
  const input = el("input", { type: "text", maxlength: "500", name: "reason", "aria-label": "Reason (optional)" });
  const what = `${order.side} ${order.quantity - order.filled_quantity} ${order.instrument} ${order.order_type}`;
  const dialog = el("dialog", { "aria-label": `Cancel ${order.order_id}` },
    el("form", { method: "dialog" },
      el("p", {}, `Cancel order ${order.order_id} (${what}, ${order.purpose})?`),
      el("label", {}, "Reason (optional) ", input),
      el("div", { class: "buttons" },
        el("button", { type: "button", onclick: () => dialog.close("keep") }, "Keep it"),
        el("button", { value: "ok", class: "danger", type: "submit" }, "Cancel order"))));
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => {
      dialog.remove();
      resolve(dialog.returnValue === "ok" ? { reason: input.value.trim() } : null);
    });
    document.body.append(dialog);
    dialog.showModal();
    input.focus();
  });
}

function historyTable(detail) {
  const order = detail.order;
  const links = [order.parent_id && `bracket of ${order.parent_id}`, order.oco_group && `OCO group ${order.oco_group}`]
    .filter(Boolean).join("; ");
  return [
    el("p", {}, `${order.order_id}: ${order.side} ${fmt.int(order.quantity)} ${order.instrument} `,
      `${order.order_type}, ${order.time_in_force}, ${order.purpose}`, links ? ` (${links})` : ""),
    table(["Time (UTC)", ["Seq", true], "Status", ["Filled", true], ["Avg fill", true], "Reason"],
      detail.history.map((row) => el("tr", {}, el("td", {}, fmt.time(row.ts)), num(row.sequence),
        el("td", {}, row.status), num(fmt.int(row.filled_quantity)),
        num(row.filled_quantity ? fmt.number(row.avg_fill_price) : "—"), el("td", { class: "wrap" }, row.reason))),
      { id: "order-history-rows" }),
  ];
}

export function mount(container) {
  const account = el("select", { id: "orders-account", "aria-label": "Account" });
  const run = el("input", { id: "orders-run", type: "text", value: "live", size: "14", "aria-label": "Run" });
  const resting = el("input", { id: "orders-open", type: "checkbox", checked: true });
  const rows = el("div", { id: "orders-table" });
  const answer = el("p", { id: "order-answer", class: "status-line", role: "status" });
  const history = el("div", { id: "order-history" });
  const status = el("span", { class: "muted" });
  let alive = true;

  replace(container, el("h1", {}, "Orders"),
    el("div", { class: "toolbar" },
      el("label", { for: "orders-account" }, "Account "), account,
      el("label", { for: "orders-run" }, "Run "), run,
      el("label", {}, resting, " resting only"), status),
    el("h2", { id: "orders-title" }, "Resting orders"), rows, answer,
    el("h2", {}, "Order history"), history);

  async function showHistory(orderId) {
    try {
      const detail = await get(`/orders/${encodeURIComponent(orderId)}${query({ run: run.value })}`);
      replace(history, historyTable(detail));
    } catch (error) {
      replace(history, el("p", { class: "error" }, error.message));
    }
  }

  async function cancel(order) {
    const chosen = await confirmCancel(order);
    if (chosen === null) return;
    answer.className = "status-line pending";
    answer.textContent = `cancel ${order.order_id}: sent…`;
    try {
      const sent = await post(`/orders/${encodeURIComponent(order.order_id)}/cancel`, chosen.reason ? chosen : undefined);
      answer.className = "status-line ok";
      answer.textContent = `202: cancel of ${order.order_id} sent to ${sent.account_id} (command ${sent.command_id})`;
      const outcome = await get(`/commands/${encodeURIComponent(sent.command_id)}?wait=5`);
      if (outcome.status === "rejected") {
        answer.className = "status-line error";
        answer.textContent = `the flow refused the cancel of ${order.order_id}: ${outcome.reason}`;
      } else if (outcome.status === "applied") answer.textContent += ": applied";
      else answer.textContent += ": pending (the flow has not taken it yet)";
    } catch (error) {
      answer.className = "status-line error";
      answer.textContent = `${error.status}: ${error.message}`;
    }
    refresh();
  }

  function orderRow(order, live) {
    const button = live && OPEN.has(order.status)
      ? el("button", { type: "button", class: "danger", "aria-label": `Cancel ${order.order_id}`, onclick: () => cancel(order) }, "Cancel")
      : "";
    return el("tr", { "data-order": order.order_id },
      el("td", {}, fmt.time(order.placed_ts)),
      el("td", {}, el("a", { href: "#/orders", onclick: (event) => { event.preventDefault(); showHistory(order.order_id); } }, order.order_id)),
      el("td", {}, order.instrument), el("td", {}, order.side), el("td", {}, order.order_type),
      num(fmt.int(order.quantity)), num(fmt.int(order.filled_quantity)), num(fmt.number(order.limit_price)),
      num(fmt.number(order.stop_price)), num(trail(order)), el("td", {}, order.time_in_force),
      el("td", {}, order.purpose), el("td", {}, order.status), el("td", {}, button));
  }

  async function accounts() {
    const configs = await get("/configs?include_disabled=true");
    replace(account, configs.map((c) => el("option", { value: c.account_id }, c.account_id)));
    const wanted = new URLSearchParams(location.hash.split("?")[1] || "").get("account");
    if (wanted) account.value = wanted;
  }

  async function refresh() {
    const chosen = account.value;
    if (!chosen) { status.textContent = "No accounts yet."; return; }
    const filters = { account: chosen, run: run.value, open: resting.checked ? "true" : undefined, limit: 200 };
    const page = await get(`/orders${query(filters)}`);
    if (!alive || chosen !== account.value) return;
    const live = run.value === "live";
    document.getElementById("orders-title").textContent = resting.checked ? "Resting orders" : "Orders";
    const shown = page.items.length
      ? table(HEADERS, page.items.map((order) => orderRow(order, live)), { id: "orders" })
      : el("p", { class: "muted" }, resting.checked ? "No resting orders." : "No orders.");
    for (const line of shown.querySelectorAll("tr")) {
      for (const index of NARROW_HIDDEN) line.children[index].classList.add("hide-narrow");
    }
    replace(rows, shown);
    status.textContent = `updated ${new Date().toLocaleTimeString()}`;
  }

  const tick = () => refresh().catch((error) => { status.textContent = `Could not refresh: ${error.message}`; });
  for (const control of [account, run, resting]) control.addEventListener("change", () => { replace(history); answer.textContent = ""; tick(); });
  accounts().then(tick);
  const timer = setInterval(tick, REFRESH_MS);
  return () => { alive = false; clearInterval(timer); };
}

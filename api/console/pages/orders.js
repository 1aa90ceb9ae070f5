// Orders of one account and run: the resting ones (or all), refreshed every 3 s, each with
// Cancel and Replace buttons (live run only; Cancel confirmed first, Replace a form of the terms
// the order's type has; the server's 202 and the command's outcome, or its 4xx, shown as they
// came), and an order's status history on clicking its id.
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

// The prices a replace may change, by order type (schemas/order_terms.py: REPLACEABLE_TERMS);
// the quantity may always change. "trail" is a trailing stop's trail, by amount or percent.
const PRICE_TERMS = {
  market: [], limit: ["limit_price"], stop: ["stop_price"], stop_limit: ["stop_price", "limit_price"],
  trailing_stop: ["trail"],
};
const PRICE_LABELS = { limit_price: "Limit price", stop_price: "Stop price" };

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

function termField(id, label, input) {
  input.id = id;
  return el("div", { class: "field" }, el("label", { for: id }, label), input);
}

const priceInput = (name, value) => el("input", { type: "number", name, min: "0", step: "any", value: value ?? "" });

// Ask for an order's new terms; resolves to the request body (the terms that changed, and the
// reason if given) or null when the operator keeps the order. The server checks the terms.
function askReplace(order) {
  const terms = PRICE_TERMS[order.order_type] || [];
  const quantity = el("input", { type: "number", name: "quantity", min: "1", step: "1", required: true, value: String(order.quantity) });
  const prices = terms.filter((name) => name !== "trail").map((name) => [name, priceInput(name, order[name])]);
  const byPercent = order.trail_percent !== null;
  const trailKind = el("select", { name: "trail_kind" },
    el("option", { value: "trail_amount", selected: !byPercent }, "amount ($ per unit)"),
    el("option", { value: "trail_percent", selected: byPercent }, "percent"));
  const trailValue = priceInput("trail", byPercent ? Number((order.trail_percent * 100).toPrecision(12)) : order.trail_amount);
  const reason = el("input", { type: "text", maxlength: "500", name: "reason" });
  const what = `${order.side} ${fmt.int(order.quantity)} ${order.instrument} ${order.order_type}, ${fmt.int(order.filled_quantity)} filled, ${order.purpose}`;
  const dialog = el("dialog", { "aria-label": `Replace ${order.order_id}` },
    el("form", { method: "dialog" },
      el("p", {}, `Replace order ${order.order_id} (${what}) with new terms:`),
      termField("replace-quantity", "Quantity (new total)", quantity),
      prices.map(([name, input]) => termField(`replace-${name}`, PRICE_LABELS[name], input)),
      terms.includes("trail") ? [termField("replace-trail-kind", "Trail by", trailKind), termField("replace-trail", "Trail", trailValue)] : [],
      termField("replace-reason", "Reason (optional)", reason),
      el("div", { class: "buttons" },
        el("button", { type: "button", onclick: () => dialog.close("keep") }, "Keep it"),
        el("button", { value: "ok", type: "submit" }, "Replace order"))));
  function body() {
    const chosen = {};
    if (Number(quantity.value) !== order.quantity) chosen.quantity = Number(quantity.value);
    for (const [name, input] of prices) {
      if (input.value !== "" && Number(input.value) !== order[name]) chosen[name] = Number(input.value);
    }
    if (terms.includes("trail") && trailValue.value !== "") {
      const percent = trailKind.value === "trail_percent";
      // the form shows a percent; the API takes a fraction (0.02 is 2 %)
      const value = percent ? Number((Number(trailValue.value) / 100).toPrecision(12)) : Number(trailValue.value);
      if (value !== order[trailKind.value]) chosen[trailKind.value] = value;
    }
    if (reason.value.trim()) chosen.reason = reason.value.trim();
    return chosen;
  }
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => {
      dialog.remove();
      resolve(dialog.returnValue === "ok" ? body() : null);
    });
    document.body.append(dialog);
    dialog.showModal();
    (prices.length ? prices[0][1] : quantity).focus();
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

  // Send a cancel or a replace (`verb`) of `order`, then show the flow's verdict (the server
  // waits up to 5 s for it) or the server's 4xx.
  async function send(order, verb, body) {
    answer.className = "status-line pending";
    answer.textContent = `${verb} ${order.order_id}: sent…`;
    try {
      const sent = await post(`/orders/${encodeURIComponent(order.order_id)}/${verb}`, body);
      answer.className = "status-line ok";
      answer.textContent = `202: ${verb} of ${order.order_id} sent to ${sent.account_id} (command ${sent.command_id})`;
      const outcome = await get(`/commands/${encodeURIComponent(sent.command_id)}?wait=5`);
      if (outcome.status === "rejected") {
        answer.className = "status-line error";
        answer.textContent = `the flow refused the ${verb} of ${order.order_id}: ${outcome.reason}`;
      } else if (outcome.status === "applied") {
        const successor = outcome.orders.find((row) => row.order_id !== order.order_id);
        answer.textContent += successor ? `: applied, now order ${successor.order_id}` : ": applied";
      } else answer.textContent += ": pending (the flow has not taken it yet)";
    } catch (error) {
      answer.className = "status-line error";
      answer.textContent = `${error.status}: ${error.message}`;
    }
    refresh();
  }

  async function cancel(order) {
    const chosen = await confirmCancel(order);
    if (chosen !== null) await send(order, "cancel", chosen.reason ? chosen : undefined);
  }

  async function replaceTerms(order) {
    const chosen = await askReplace(order);
    if (chosen !== null) await send(order, "replace", chosen);
  }

  function orderRow(order, live) {
    const id = order.order_id;
    const button = live && OPEN.has(order.status)
      ? el("span", { class: "buttons" },
        el("button", { type: "button", "aria-label": `Replace ${id}`, onclick: () => replaceTerms(order) }, "Replace"),
        el("button", { type: "button", class: "danger", "aria-label": `Cancel ${id}`, onclick: () => cancel(order) }, "Cancel"))
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

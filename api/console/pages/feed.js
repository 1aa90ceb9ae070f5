// Live feed: signals, decisions, fills and alerts from the WebSocket, with their reasons.
// Rendering happens once per animation frame for everything that arrived since the last one,
// and the table keeps the newest BUFFER rows, so an hour of trading costs what a minute does.
import { stream } from "../lib/api.js";
import { el, fmt, replace } from "../lib/dom.js";

const BUFFER = 500;
// At most ten redraws a second: nobody reads faster, and each redraw costs the browser a
// style and layout pass over the table whatever the number of new rows.
const MIN_FRAME_MS = 100;
const KINDS = ["signal", "decision", "fill", "alert"];
// The field an event's symbol is in, as the server filters (api/ws.py); alerts have none.
const SYMBOL_FIELD = { signal: "symbol", decision: "symbol", fill: "underlying" };

// Events the server had already queued under the previous filter still arrive after a new one
// is sent: the page applies the filter it shows to them too, as the server does.
function wanted(filter, event) {
  if (!filter.kinds.includes(event.kind)) return false;
  if (filter.accounts.length && !filter.accounts.includes(event.data.account_id)) return false;
  const symbol = event.data[SYMBOL_FIELD[event.kind]];
  return !(filter.symbols.length && symbol && !filter.symbols.includes(symbol));
}

function cells(event) {
  const d = event.data;
  const symbol = d.symbol || d.underlying || "";
  switch (event.kind) {
    case "decision": return [symbol, `${d.side} ${d.quantity} ${d.instrument}`, fmt.number(d.price),
      el("span", { class: d.approved ? "ok" : "error" }, d.approved ? "approved" : "rejected"),
      d.rule, fmt.number(d.observed), fmt.number(d.limit), d.reason];
    case "signal": return [symbol, `${d.direction} ${d.strategy}`, fmt.number(d.price),
      "", "strength", fmt.number(d.strength), "", d.reason];
    case "fill": return [symbol, `${d.side} ${d.quantity} ${d.instrument}`, fmt.number(d.price),
      `pnl ${fmt.money(d.realised_pnl)}`, d.reason, "", "", ""];
    default: return ["", d.severity, "", d.kind, "", fmt.number(d.value), fmt.number(d.threshold), d.message];
  }
}

// One row is cloned from a template and filled with textContent: several times cheaper than
// building eleven cells from scratch, which matters at hundreds of events a second.
const TEMPLATE = (() => {
  const tr = document.createElement("tr");
  ["", "", "", "", "", "num", "", "", "num", "num", "wrap"].forEach((name) => {
    const td = document.createElement("td");
    if (name) td.className = name;
    tr.append(td);
  });
  return tr;
})();

function row(event) {
  const tr = TEMPLATE.cloneNode(true);
  tr.dataset.kind = event.kind;
  const values = [fmt.clock(event.data.ts), event.kind, event.data.account_id, ...cells(event)];
  const tds = tr.children;
  for (let i = 0; i < values.length; i += 1) {
    const value = values[i];
    if (value instanceof Node) tds[i].append(value);
    else if (value !== undefined && value !== null) tds[i].textContent = value;
  }
  return tr;
}

export function mount(container) {
  // counters a benchmark reads (benchmarks/console_speed.py): arrivals, rows drawn, frames
  const stats = window.feedStats = { received: 0, rendered: 0, dropped: 0, frames: 0, maxPending: 0, frameGaps: [], drawMs: [], waitMs: [], arrivalAges: [] };
  const body = el("tbody", { id: "feed-rows" });
  const connection = el("span", { class: "muted", id: "feed-status" }, "connecting…");
  const counter = el("span", { class: "muted", id: "feed-count" });
  const kinds = KINDS.map((kind) => el("input", { type: "checkbox", checked: true, value: kind, id: `kind-${kind}` }));
  const account = el("input", { type: "text", placeholder: "account,…", id: "feed-account", "aria-label": "Accounts" });
  const symbol = el("input", { type: "text", placeholder: "symbol,…", id: "feed-symbol", "aria-label": "Symbols" });
  const pause = el("button", { type: "button", id: "feed-pause" }, "Pause");
  let pending = [];
  let filter = { kinds: KINDS, accounts: [], symbols: [] };
  let paused = false;
  let frame = 0;
  let timer = 0;
  let lastFrame = 0;

  function schedule() {
    if (paused || frame || timer) return;
    const wait = Math.max(0, MIN_FRAME_MS - (performance.now() - lastFrame));
    timer = setTimeout(() => { timer = 0; frame = requestAnimationFrame(draw); }, wait);
  }

  const socket = stream({}, (event) => {
    if (!wanted(filter, event)) return;
    stats.received += 1;
    event.arrived = performance.now();
    // one arrival in ten: how late events reach the page, to tell the stream's lag from ours
    if (stats.received % 10 === 0) stats.arrivalAges.push(Date.now() - event.data.ts);
    if (stats.arrivalAges.length > 10000) stats.arrivalAges.splice(0, 5000);
    pending.push(event);
    if (pending.length > BUFFER) { // only the newest BUFFER could be shown anyway
      stats.dropped += pending.length - BUFFER;
      pending = pending.slice(-BUFFER);
    }
    stats.maxPending = Math.max(stats.maxPending, pending.length);
    schedule();
  }, (text) => { connection.textContent = text; });

  function draw(now) {
    frame = 0;
    if (lastFrame) stats.frameGaps.push(now - lastFrame);
    if (stats.frameGaps.length > 10000) stats.frameGaps.splice(0, 5000);
    lastFrame = now;
    stats.frames += 1;
    const batch = pending;
    pending = [];
    const fragment = document.createDocumentFragment();
    for (let i = batch.length - 1; i >= 0; i -= 1) fragment.append(row(batch[i]));
    body.prepend(fragment);
    while (body.childElementCount > BUFFER) body.lastElementChild.remove();
    stats.rendered += batch.length;
    // how long the oldest event of this frame waited in the page, from its arrival until drawn:
    // a page that falls behind shows waits that grow
    if (batch.length) stats.waitMs.push(performance.now() - batch[0].arrived);
    if (stats.waitMs.length > 10000) stats.waitMs.splice(0, 5000);
    stats.drawMs.push(performance.now() - now); // this frame's own script time
    if (stats.drawMs.length > 10000) stats.drawMs.splice(0, 5000);
    counter.textContent = `${body.childElementCount} rows shown (newest ${BUFFER} kept) · ${stats.received} received`;
  }

  function applyFilters() {
    const list = (input) => input.value.split(",").map((s) => s.trim()).filter(Boolean);
    const chosen = kinds.filter((k) => k.checked).map((k) => k.value);
    filter = { kinds: chosen.length ? chosen : KINDS, accounts: list(account), symbols: list(symbol) };
    if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(filter));
    pending = [];
    body.replaceChildren();
  }

  pause.addEventListener("click", () => {
    paused = !paused;
    pause.textContent = paused ? "Resume" : "Pause";
    pause.setAttribute("aria-pressed", String(paused));
    connection.textContent = paused ? "paused: new events wait (the newest 500 are kept)" : "connected";
    if (pending.length) schedule();
  });
  const filterForm = el("form", { class: "toolbar", onsubmit: (e) => { e.preventDefault(); applyFilters(); } },
    kinds.map((box) => el("label", {}, box, ` ${box.value}`)), account, symbol,
    el("button", { type: "submit" }, "Filter"), pause, connection);
  socket.addEventListener("open", () => { connection.textContent = "connected"; });

  replace(container, el("h1", {}, "Live feed"), filterForm, counter,
    el("div", { class: "scroll" }, el("table", { id: "feed" },
      el("colgroup", {}, ["time", "kind", "account", "symbol", "what", "price", "verdict", "rule", "value", "value", "reason"]
        .map((name) => el("col", { class: name }))),
      el("thead", {}, el("tr", {}, ["Time (UTC)", "Kind", "Account", "Symbol", "What", "Price", "Verdict", "Rule", "Observed", "Limit", "Reason"]
        .map((h, i) => el("th", { scope: "col", class: [5, 8, 9].includes(i) ? "num" : undefined }, h)))),
      body)));
  return () => { if (frame) cancelAnimationFrame(frame); clearTimeout(timer); socket.close(); };
}

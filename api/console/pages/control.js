// Control center: every account's state, money, exposure and Greeks, updating every 2 s; the
// commands, each with the flow's verdict (applied, or refused with the reason).
import { command, get } from "../lib/api.js";
import { askReason, el, fmt, num, replace, signed, stateBadge } from "../lib/dom.js";

const REFRESH_MS = 2000;
const ACTIONS = [
  ["start", "Start", false],
  ["pause", "Pause", false],
  ["resume", "Resume", false],
  ["reduce-only", "Reduce only", false],
  ["stop", "Stop", true],
  ["kill-switch", "Kill", true],
];
// columns a 390 px phone leaves out, so the state, equity and the buttons fit
const NARROW_HIDDEN = new Set([4, 6, 7, 8, 9, 10]);
const HEADERS = [
  "Account", "State", ["Equity", true], ["PnL total", true], ["PnL day", true], ["Open", true],
  ["Exposure", true], ["Δ delta", true], ["Γ gamma", true], ["ν vega", true], ["Θ theta", true],
  "Commands", "Last command",
];

function summarise(positions) {
  const byAccount = new Map();
  for (const row of positions) {
    const entry = byAccount.get(row.account_id) || { equity: null, exposure: 0, delta: 0, gamma: 0, vega: 0, theta: 0, open: 0 };
    if (row.instrument === "") entry.equity = row.equity;
    else {
      entry.open += 1;
      entry.exposure += Math.abs(row.market_value);
      for (const greek of ["delta", "gamma", "vega", "theta"]) entry[greek] += row[greek];
    }
    byAccount.set(row.account_id, entry);
  }
  return byAccount;
}

function latestDays(daily) {
  const latest = new Map();
  for (const row of daily) {
    const seen = latest.get(row.account_id);
    if (!seen || row.day >= seen.day) latest.set(row.account_id, row);
  }
  return latest;
}

// Send a command (asking for a reason first if it is drastic) and show the flow's verdict.
async function send(account, action, drastic, verdictCell, refresh) {
  let reason = "";
  if (drastic) {
    reason = await askReason(`${action} ${account}: why?`);
    if (reason === null) return;
  }
  verdictCell.className = "pending";
  verdictCell.textContent = `${action}: sent…`;
  try {
    const outcome = await command(account, action, reason);
    if (outcome.status === "applied") {
      verdictCell.className = "ok";
      verdictCell.textContent = `${action} applied → ${outcome.state ? outcome.state.status : ""}`;
    } else if (outcome.status === "rejected") {
      verdictCell.className = "error";
      verdictCell.textContent = `${action} refused: ${outcome.reason}`;
    } else {
      verdictCell.className = "pending";
      verdictCell.textContent = `${action} pending (the flow has not applied it yet)`;
    }
  } catch (error) {
    verdictCell.className = "error";
    verdictCell.textContent = `${action} refused: ${error.message}`;
  }
  refresh();
}

// The account's cells, from its config, applied state, positions summary and latest day.
function accountCells(config, state, found, day) {
  const equity = found.equity ?? (state ? state.equity : config.starting_cash);
  return [
    el("td", {}, config.account_id, config.enabled ? "" : " (disabled)"),
    el("td", {}, stateBadge(state ? state.status : "stopped")),
    num(fmt.money(equity)),
    signed(equity - config.starting_cash),
    day ? signed(day.pnl) : num("—"),
    num(fmt.int(state ? state.open_positions : 0)),
    num(fmt.money(found.exposure || 0)),
    num(fmt.number(found.delta || 0)), num(fmt.number(found.gamma || 0)),
    num(fmt.number(found.vega || 0)), num(fmt.number(found.theta || 0)),
  ];
}

export function mount(container) {
  const body = el("tbody");
  const alerts = el("div");
  const status = el("p", { class: "status-line muted" });
  const rows = new Map();
  replace(container,
    el("h1", {}, "Control center"), status,
    el("div", { class: "scroll" }, el("table", { id: "accounts" },
      el("thead", {}, el("tr", {}, HEADERS.map((h, i) => el("th", {
        scope: "col", class: [Array.isArray(h) ? "num" : "", NARROW_HIDDEN.has(i) ? "hide-narrow" : ""].join(" ").trim() || undefined,
      }, Array.isArray(h) ? h[0] : h)))),
      body)),
    el("h2", {}, "Latest alerts"), alerts);

  function rowFor(account) {
    let row = rows.get(account);
    if (row) return row;
    const cells = Array.from({ length: 11 }, () => el("td"));
    const verdict = el("span", { class: "muted" }, "—");
    const buttons = el("div", { class: "buttons" }, ACTIONS.map(([action, label, drastic]) =>
      el("button", {
        type: "button", class: drastic ? "danger" : undefined, "data-action": action,
        "aria-label": `${label} ${account}`,
        onclick: () => send(account, action, drastic, verdict, refresh),
      }, label)));
    const tr = el("tr", { "data-account": account }, cells, el("td", {}, buttons), el("td", { class: "wrap" }, verdict));
    row = { tr, cells };
    rows.set(account, row);
    body.append(tr);
    return row;
  }

  async function refresh() {
    try {
      const [states, configs, positions, daily, recent] = await Promise.all([
        get("/accounts"), get("/configs?include_disabled=true"), get("/positions"),
        get("/analytics/daily"), get("/alerts?limit=10"),
      ]);
      const byState = new Map(states.map((s) => [s.account_id, s]));
      const money = summarise(positions);
      const days = latestDays(daily);
      const accounts = [...new Set([...configs.map((c) => c.account_id), ...byState.keys()])].sort();
      for (const config of configs) {
        const state = byState.get(config.account_id);
        const row = rowFor(config.account_id);
        const values = accountCells(config, state, money.get(config.account_id) || {}, days.get(config.account_id));
        values.forEach((cell, index) => {
          if (NARROW_HIDDEN.has(index)) cell.classList.add("hide-narrow");
          row.cells[index].replaceWith(cell);
        });
        row.cells = values;
      }
      status.textContent = `${accounts.length} accounts · updated ${new Date().toLocaleTimeString()}`;
      replace(alerts, recent.items.length
        ? el("ul", {}, recent.items.map((a) => el("li", {},
          `${fmt.time(a.ts)} `, el("span", { class: a.severity === "critical" ? "error" : a.severity === "warning" ? "pending" : "muted" }, a.severity),
          ` ${a.account_id} ${a.kind}: ${a.message}`)))
        : el("p", { class: "muted" }, "No alerts."));
      if (!configs.length) status.textContent = "No accounts yet: create a config on the Configs page.";
    } catch (error) {
      status.textContent = `Could not refresh: ${error.message}`;
    }
  }

  refresh();
  const timer = setInterval(refresh, REFRESH_MS);
  return () => clearInterval(timer);
}

// Positions and fills of one account (live run), with realised and unrealised PnL, and its
// equity curve and drawdown, refreshed every 3 s so they grow as the flow trades.
import { get, query } from "../lib/api.js";
import { EquityCharts } from "../lib/charts.js";
import { el, fmt, num, replace, signed, table } from "../lib/dom.js";

const REFRESH_MS = 3000;

export function mount(container) {
  const account = el("select", { id: "pos-account", "aria-label": "Account" });
  const summary = el("div", { id: "pos-summary" });
  const positions = el("div", { id: "pos-table" });
  const fills = el("div", { id: "fills-table" });
  const equityBox = el("div", { class: "chart", id: "pos-equity" });
  const drawdownBox = el("div", { class: "chart small", id: "pos-drawdown" });
  const status = el("span", { class: "muted" });
  let charts = null;
  let alive = true;

  replace(container, el("h1", {}, "Positions and fills"),
    el("div", { class: "toolbar" }, el("label", { for: "pos-account" }, "Account "), account, status),
    summary, el("h2", {}, "Open positions"), positions,
    el("div", { class: "grid2" },
      el("div", {}, el("h2", {}, "Equity"), equityBox),
      el("div", {}, el("h2", {}, "Drawdown (%)"), drawdownBox)),
    el("h2", {}, "Latest fills"), fills);

  async function accounts() {
    const configs = await get("/configs?include_disabled=true");
    replace(account, configs.map((c) => el("option", { value: c.account_id }, c.account_id)));
    const wanted = new URLSearchParams(location.hash.split("?")[1] || "").get("account");
    if (wanted) account.value = wanted;
  }

  async function refresh() {
    const chosen = account.value;
    if (!chosen) { status.textContent = "No accounts yet."; return; }
    const [rows, page, series] = await Promise.all([
      get(`/positions${query({ account: chosen })}`), get(`/fills${query({ account: chosen, limit: 50 })}`),
      get(`/series/equity${query({ account: chosen, points: 1500 })}`),
    ]);
    if (!alive || chosen !== account.value) return;
    const cash = rows.find((r) => r.instrument === "");
    const open = rows.filter((r) => r.instrument !== "");
    const unrealised = open.reduce((sum, r) => sum + r.unrealised_pnl, 0);
    const realised = page.items.reduce((sum, f) => sum + f.realised_pnl, 0);
    // The account row carries the book's worst loss over the max_scenario_loss shock grid (0: rule off).
    replace(summary, table([["Equity", true], ["Cash", true], ["Unrealised", true], ["Realised (fills shown)", true], ["Worst scenario loss", true], "As of (UTC)"],
      [el("tr", {}, num(fmt.money(cash ? cash.equity : null)), num(fmt.money(cash ? cash.cash : null)),
        signed(unrealised), signed(realised), el("td", { class: "num", id: "pos-scenario-loss" }, fmt.money(cash ? cash.scenario_loss : null)),
        el("td", {}, fmt.time(cash ? cash.ts : 0)))]));
    replace(positions, open.length ? table(
      ["Instrument", "Underlying", ["Qty", true], ["Avg", true], ["Mark", true], ["Value", true], ["Unrealised", true], ["Realised", true], ["Δ", true], ["Γ", true], ["ν", true], ["Θ", true]],
      open.map((r) => el("tr", {}, el("td", {}, r.instrument), el("td", {}, r.underlying), num(fmt.int(r.quantity)),
        num(fmt.number(r.avg_price)), num(fmt.number(r.mark_price)), num(fmt.money(r.market_value)),
        signed(r.unrealised_pnl), signed(r.realised_pnl), num(fmt.number(r.delta)), num(fmt.number(r.gamma)),
        num(fmt.number(r.vega)), num(fmt.number(r.theta))))) : el("p", { class: "muted" }, "Flat: no open position."));
    replace(fills, page.items.length ? table(
      ["Time (UTC)", "Instrument", "Side", ["Qty", true], ["Price", true], ["Commission", true], ["Slippage", true], ["Realised", true], "Why"],
      page.items.map((f) => el("tr", {}, el("td", {}, fmt.time(f.ts)), el("td", {}, f.instrument), el("td", {}, f.side),
        num(fmt.int(f.quantity)), num(fmt.number(f.price)), num(fmt.money(f.commission)), num(fmt.money(f.slippage)),
        signed(f.realised_pnl), el("td", {}, f.reason))), { id: "fills" }) : el("p", { class: "muted" }, "No fills yet."));
    if (!charts) charts = new EquityCharts(equityBox, drawdownBox);
    charts.update(series);
    status.textContent = `updated ${new Date().toLocaleTimeString()}`;
  }

  account.addEventListener("change", () => { if (charts) charts.remove(); charts = null; refresh(); });
  const tick = () => refresh().catch((error) => { status.textContent = `Could not refresh: ${error.message}`; });
  accounts().then(tick);
  const timer = setInterval(tick, REFRESH_MS);
  return () => { alive = false; clearInterval(timer); if (charts) charts.remove(); };
}

// Analytics of a run (live or a backtest): daily performance, cumulative return, rejections by
// rule over time, and per-strategy results.
import { get, query } from "../lib/api.js";
import { histogramChart, lineChart } from "../lib/charts.js";
import { el, fmt, num, replace, signed, table } from "../lib/dom.js";

export function mount(container) {
  const run = el("select", { id: "an-run", "aria-label": "Run" });
  const account = el("select", { id: "an-account", "aria-label": "Account" });
  const bucket = el("select", { id: "an-bucket", "aria-label": "Bucket" },
    [["60", "1 min"], ["300", "5 min"], ["3600", "1 hour"], ["86400", "1 day"]].map(([v, t]) => el("option", { value: v }, t)));
  const body = el("div", { id: "an-body" });
  const status = el("p", { class: "status-line muted" });
  let charts = [];
  let alive = true;

  replace(container, el("h1", {}, "Analytics"),
    el("div", { class: "toolbar" }, el("label", {}, "Run ", run), el("label", {}, "Account ", account), el("label", {}, "Rejections per ", bucket)),
    status, body);

  async function choices() {
    const [runs, configs] = await Promise.all([get("/backtests?limit=50"), get("/configs?include_disabled=true")]);
    replace(run, el("option", { value: "live" }, "live"), runs.map((r) => el("option", { value: r.run_id }, `${r.run_id} (${r.status})`)));
    replace(account, el("option", { value: "" }, "all"), configs.map((c) => el("option", { value: c.account_id }, c.account_id)));
  }

  function accountsOf(daily) {
    const byAccount = new Map();
    for (const row of daily) {
      if (!byAccount.has(row.account_id)) byAccount.set(row.account_id, []);
      byAccount.get(row.account_id).push(row);
    }
    return byAccount;
  }

  async function render() {
    const filters = { run: run.value, account: account.value };
    const [daily, rules, strategies, overTime] = await Promise.all([
      get(`/analytics/daily${query(filters)}`), get(`/analytics/rejections${query(filters)}`),
      get(`/analytics/strategies${query(filters)}`), get(`/series/rejections${query({ ...filters, bucket_seconds: bucket.value })}`),
    ]);
    if (!alive) return;
    charts.forEach((c) => c.remove());
    charts = [];
    const cumulativeBox = el("div", { class: "chart", id: "an-cumulative" });
    const rejectionsBox = el("div", { class: "chart small", id: "an-rejections" });
    replace(body,
      el("div", { class: "grid2" },
        el("div", {}, el("h2", {}, "Cumulative return (%)"), daily.length ? cumulativeBox : el("p", { class: "muted" }, "No daily performance yet.")),
        el("div", {}, el("h2", {}, "Rejections by rule over time"), overTime.length ? rejectionsBox : el("p", { class: "muted" }, "No rejections."))),
      el("h2", {}, "Daily performance"),
      daily.length ? table(["Day", "Account", ["Start equity", true], ["End equity", true], ["PnL", true], ["Return", true], ["Trades", true], ["Win rate", true], ["Max drawdown", true], ["Commissions", true]],
        daily.map((d) => el("tr", {}, el("td", {}, d.day), el("td", {}, d.account_id), num(fmt.money(d.start_equity)), num(fmt.money(d.end_equity)),
          signed(d.pnl), signed(d.return_pct, fmt.pct), num(fmt.int(d.trades)), num(fmt.pct(d.win_rate)), num(fmt.pct(d.max_drawdown)),
          num(fmt.money(d.commissions)))), { id: "daily" }) : el("p", { class: "muted" }, "—"),
      el("h2", {}, "Rejections by rule"),
      rules.length ? table(["Rule", ["Rejected", true]], rules.map((r) => el("tr", {}, el("td", {}, r.rule), num(fmt.int(r.rejected)))), { id: "rules" }) : el("p", { class: "muted" }, "None."),
      el("h2", {}, "Per strategy"),
      strategies.length ? table(["Strategy", ["Accounts", true], ["Signals", true], ["Approved", true], ["Rejected", true], ["Fills", true], ["Realised PnL", true], ["Commissions", true]],
        strategies.map((s) => el("tr", {}, el("td", {}, s.strategy), num(fmt.int(s.accounts)), num(fmt.int(s.signals)), num(fmt.int(s.approved)),
          num(fmt.int(s.rejected)), num(fmt.int(s.fills)), signed(s.realised_pnl), num(fmt.money(s.commissions)))), { id: "strategies" }) : el("p", { class: "muted" }, "None."));
    if (daily.length) {
      // compound each account's daily returns; the chart shows the first account (or the chosen one)
      const [first, rows] = [...accountsOf(daily).entries()][0];
      let growth = 1;
      const points = rows.map((d) => { growth *= 1 + d.return_pct; return { ts: d.ts, value: (growth - 1) * 100 }; });
      charts.push(lineChart(cumulativeBox, points, first, (p) => p.value));
    }
    if (overTime.length) {
      const byRule = new Map();
      for (const r of overTime) {
        if (!byRule.has(r.rule)) byRule.set(r.rule, []);
        byRule.get(r.rule).push({ ts: r.ts, value: r.rejected });
      }
      charts.push(histogramChart(rejectionsBox, byRule));
    }
    status.textContent = `run ${run.value}${account.value ? `, ${account.value}` : ""}`;
  }

  const show = () => render().catch((error) => { status.textContent = error.message; });
  for (const control of [run, account, bucket]) control.addEventListener("change", show);
  choices().then(show);
  return () => { alive = false; charts.forEach((c) => c.remove()); };
}

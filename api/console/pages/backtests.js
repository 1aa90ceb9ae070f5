// Backtests: launch from a form (a config, optionally swept; a tick file from the data
// directory, uploaded here if need be, or a time range of the ticks topic), follow progress,
// cancel, and compare the accounts of a finished run: ranked metrics, equity and drawdown, trades;
// a sweep may be walked forward (pages/walkforward.js).
import { get, post, query, request, del } from "../lib/api.js";
import { EquityCharts } from "../lib/charts.js";
import { el, fmt, num, replace, signed, table } from "../lib/dom.js";
import { OBJECTIVES, renderWalkForward, walkForwardRequest } from "./walkforward.js";

const POLL_MS = 1000;
const ACTIVE = new Set(["pending", "queued", "running"]);

// "fast = 2, 3, 5" per line -> { fast: [2, 3, 5] }; numbers and true/false are typed.
export function parseSweep(text) {
  const sweep = {};
  for (const line of text.split("\n").map((l) => l.trim()).filter(Boolean)) {
    const [name, values] = line.split("=").map((part) => (part || "").trim());
    if (!name || !values) throw new Error(`sweep line "${line}": write name = value, value, …`);
    sweep[name] = values.split(",").map((v) => v.trim()).filter(Boolean).map((v) =>
      (v === "true" ? true : v === "false" ? false : Number.isNaN(Number(v)) ? v : Number(v)));
  }
  return sweep;
}

const utcMs = (value) => (value ? Date.parse(`${value}Z`) : undefined); // datetime-local, read as UTC

const tallTable = (...args) => {
  const found = table(...args);
  found.classList.add("tall");
  return found;
};

// The runs with their progress, and what can be done with each.
function runsTable(runs, cancel, showResult) {
  return runs.length ? table(
    ["Run", "Status", "Progress", ["Ticks", true], ["Accounts", true], "Source", "Created (UTC)", ""],
    runs.map((r) => el("tr", { "data-run": r.run_id, "data-status": r.status },
      el("td", {}, r.run_id), el("td", { class: r.status === "failed" ? "error" : r.status === "completed" ? "ok" : "pending" }, r.status),
      el("td", {}, el("progress", { class: "progress", max: 1, value: r.progress, "aria-label": `progress of ${r.run_id}` }), ` ${fmt.pct(r.progress)}`),
      num(fmt.int(r.ticks)), num(String(r.accounts.length)), el("td", {}, r.source),
      el("td", {}, fmt.time(r.created_ts)),
      el("td", {}, el("div", { class: "buttons" },
        ACTIVE.has(r.status) ? el("button", { type: "button", class: "danger", "aria-label": `Cancel ${r.run_id}`, onclick: () => cancel(r.run_id) }, "Cancel") : null,
        r.status === "completed" || r.status === "cancelled" ? el("button", { type: "button", "aria-label": `Results of ${r.run_id}`, onclick: () => showResult(r.run_id) }, "Results") : null,
        r.error ? el("span", { class: "error" }, r.error) : null)))),
    { id: "runs" }) : el("p", { class: "muted" }, "No backtests yet.");
}

// A finished run: its accounts ranked by total return, boxes for the charts, the trades.
function resultView(runId, result) {
  const ranked = [...result.accounts].sort((a, b) => b.metrics.total_return - a.metrics.total_return);
  const equityBox = el("div", { class: "chart", id: "bt-equity" });
  const drawdownBox = el("div", { class: "chart small", id: "bt-drawdown" });
  const trades = ranked.flatMap((a) => a.trades).sort((a, b) => a.entry_ts - b.entry_ts).slice(0, 200);
  const node = el("div", {},
    el("h2", {}, `Results of ${runId} (${result.status}), best total return first`),
    table(["#", "Account", ["Total return", true], ["Sharpe", true], ["Max drawdown", true], ["Trades", true], ["Win rate", true], ["Profit factor", true], ["Final equity", true]],
      ranked.map((a, i) => el("tr", { "data-account": a.account_id },
        num(String(i + 1)), el("td", {}, a.account_id), signed(a.metrics.total_return, fmt.pct), num(fmt.number(a.metrics.sharpe)),
        num(fmt.pct(a.metrics.max_drawdown)), num(fmt.int(a.metrics.trade_count)), num(fmt.pct(a.metrics.win_rate)),
        num(fmt.number(a.metrics.profit_factor)), num(fmt.money(a.metrics.final_equity)))), { id: "ranked" }),
    el("h2", {}, "Equity"), equityBox, el("h2", {}, "Drawdown (%)"), drawdownBox,
    el("h2", {}, `Trades (the first ${trades.length})`),
    tallTable(["Account", "Instrument", "Direction", ["Qty", true], "Entry (UTC)", ["Entry", true], "Exit (UTC)", ["Exit", true], ["PnL", true]],
      trades.map((t) => el("tr", {}, el("td", {}, t.account_id), el("td", {}, t.instrument), el("td", {}, t.direction),
        num(fmt.int(t.quantity)), el("td", {}, fmt.time(t.entry_ts)), num(fmt.number(t.entry_price)),
        el("td", {}, fmt.time(t.exit_ts)), num(fmt.number(t.exit_price)), signed(t.pnl)))));
  return { node, equityBox, drawdownBox };
}

export function mount(container) {
  const configSelect = el("select", { id: "bt-config", name: "config", "aria-label": "Config" });
  const prefix = el("input", { type: "text", id: "bt-account", name: "account", "aria-label": "Account id of the run", placeholder: "account id (default bt-<config>)" });
  const sweep = el("textarea", { id: "bt-sweep", rows: 3, cols: 30, "aria-label": "Sweep", placeholder: "fast = 2, 3, 5\nslow = 10, 20" });
  const sourceFile = el("input", { type: "radio", name: "source", value: "file", checked: true, id: "bt-source-file" });
  const sourceTopic = el("input", { type: "radio", name: "source", value: "topic", id: "bt-source-topic" });
  const fileSelect = el("select", { id: "bt-file", "aria-label": "Tick file" });
  const upload = el("input", { type: "file", id: "bt-upload", accept: ".csv,.parquet", "aria-label": "Upload a tick file" });
  const symbol = el("input", { type: "text", id: "bt-symbol", placeholder: "symbol of a one-symbol file", "aria-label": "Symbol" });
  const from = el("input", { type: "datetime-local", step: 1, id: "bt-from", "aria-label": "From (UTC)" });
  const to = el("input", { type: "datetime-local", step: 1, id: "bt-to", "aria-label": "To (UTC)" });
  const wfTrain = el("input", { type: "text", id: "bt-wf-train", size: 6, placeholder: "train, e.g. 90d", "aria-label": "Walk-forward training window" });
  const wfTest = el("input", { type: "text", id: "bt-wf-test", size: 6, placeholder: "test, e.g. 30d", "aria-label": "Walk-forward test window" });
  const wfObjective = el("select", { id: "bt-wf-objective", "aria-label": "Walk-forward objective" }, ...OBJECTIVES.map((o) => el("option", { value: o }, o)));
  const wfAnchored = el("input", { type: "checkbox", id: "bt-wf-anchored" });
  const formError = el("p", { class: "error", role: "alert", id: "bt-error" });
  const runsBox = el("div", { id: "bt-runs" });
  const resultBox = el("div", { id: "bt-result" });
  let configs = [];
  let timer = 0;
  let charts = null;
  let wfChart = null;
  let alive = true;

  async function loadChoices() {
    const [found, files] = await Promise.all([get("/configs?include_disabled=true"), get("/files")]);
    configs = found;
    replace(configSelect, found.map((c) => el("option", { value: c.account_id }, `${c.account_id} (v${c.version}, ${c.strategy.kind})`)));
    replace(fileSelect, files.length ? files.map((f) => el("option", { value: f.name }, `${f.name} (${fmt.int(f.size / 1024)} KiB)`)) : [el("option", { value: "" }, "no tick files: upload one")]);
  }

  upload.addEventListener("change", async () => {
    const file = upload.files[0];
    if (!file) return;
    formError.textContent = "";
    try {
      const saved = await request("PUT", `/files/${encodeURIComponent(file.name)}`, file, { raw: true });
      await loadChoices();
      fileSelect.value = saved.name;
    } catch (error) {
      formError.textContent = `upload: ${error.message}`;
    }
  });

  async function launch(event) {
    event.preventDefault();
    formError.textContent = "";
    try {
      const base = configs.find((c) => c.account_id === configSelect.value);
      if (!base) throw new Error("choose a config (create one on the Configs page)");
      const config = { ...base, account_id: prefix.value.trim() || `bt-${base.account_id}`.slice(0, 64), enabled: true };
      const body = { configs: [config], sweep: parseSweep(sweep.value) };
      const walk = walkForwardRequest(wfTrain.value, wfTest.value, wfObjective.value, wfAnchored.checked);
      if (walk) body.walk_forward = walk;
      if (sourceFile.checked) {
        if (!fileSelect.value) throw new Error("choose or upload a tick file");
        body.file = fileSelect.value;
        if (symbol.value.trim()) body.symbol = symbol.value.trim();
      } else {
        body.from_ts = utcMs(from.value);
        body.to_ts = utcMs(to.value);
      }
      const run = await post("/backtests", body);
      await refresh();
      follow();
      return run;
    } catch (error) {
      formError.textContent = error.message;
      return null;
    }
  }

  async function cancel(runId) {
    try { await del(`/backtests/${encodeURIComponent(runId)}`); } catch (error) { formError.textContent = error.message; }
    refresh();
  }

  async function refresh() {
    const runs = await get("/backtests?limit=20");
    if (!alive) return [];
    replace(runsBox, runsTable(runs, cancel, showResult));
    return runs;
  }

  function follow() {
    if (timer) return;
    timer = setInterval(async () => {
      const runs = await refresh();
      if (!runs.some((r) => ACTIVE.has(r.status))) { clearInterval(timer); timer = 0; }
    }, POLL_MS);
  }

  async function showResult(runId) {
    try {
      await renderResult(runId);
    } catch (error) {
      replace(resultBox, el("p", { class: "error", role: "alert" }, `results of ${runId}: ${error.message}`));
    }
  }

  async function renderResult(runId) {
    const [result, series, run] = await Promise.all([
      get(`/backtests/${encodeURIComponent(runId)}/result`), get(`/series/equity${query({ run: runId, points: 1000 })}`),
      get(`/backtests/${encodeURIComponent(runId)}`),
    ]);
    const { node, equityBox, drawdownBox } = resultView(runId, result);
    replace(resultBox, node);
    if (charts) charts.remove();
    if (wfChart) { wfChart.remove(); wfChart = null; }
    charts = new EquityCharts(equityBox, drawdownBox);
    charts.update(series);
    if (run.research && run.research.walk_forward) {
      const box = el("div", { id: "bt-walk-forward" });
      resultBox.append(box);
      try {
        wfChart = await renderWalkForward(box, runId);
      } catch (error) {
        box.append(el("p", { class: "error", role: "alert" }, `walk-forward: ${error.message}`));
      }
    }
    resultBox.scrollIntoView();
  }

  const form = el("form", { class: "panel", id: "bt-form", novalidate: true, onsubmit: launch },
    el("div", { class: "grid2" },
      el("div", {},
        el("div", { class: "field" }, el("label", { for: "bt-config" }, "Config"), configSelect),
        el("div", { class: "field" }, el("label", { for: "bt-account" }, "Account id"), prefix),
        el("div", { class: "field" }, el("label", { for: "bt-sweep" }, "Sweep (optional)"), sweep),
        el("div", { class: "field" }, el("label", { for: "bt-wf-train" }, "Walk-forward (optional)"),
          el("div", { class: "buttons" }, wfTrain, wfTest, wfObjective, el("label", {}, wfAnchored, " anchored")))),
      el("div", {},
        el("div", { class: "field" }, el("label", {}, sourceFile, " File"), fileSelect),
        el("div", { class: "field" }, el("label", { for: "bt-upload" }, "…or upload"), upload),
        el("div", { class: "field" }, el("label", { for: "bt-symbol" }, "Symbol"), symbol),
        el("div", { class: "field" }, el("label", {}, sourceTopic, " Topic from (UTC)"), from),
        el("div", { class: "field" }, el("label", { for: "bt-to" }, "to (UTC)"), to))),
    formError, el("button", { type: "submit", id: "bt-launch" }, "Launch backtest"));

  replace(container, el("h1", {}, "Backtests"), form, el("h2", {}, "Runs"), runsBox, resultBox);
  loadChoices().catch((error) => { formError.textContent = error.message; });
  refresh().then((runs) => { if (runs.some((r) => ACTIVE.has(r.status))) follow(); });
  return () => { alive = false; clearInterval(timer); if (charts) charts.remove(); if (wfChart) wfChart.remove(); };
}

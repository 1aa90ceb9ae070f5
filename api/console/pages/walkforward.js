// A walk-forward of a finished sweep: the stitched out-of-sample equity beside the combination
// that looks best over the whole range, and the parameters chosen on each training window.
import { get } from "../lib/api.js";
import { linesChart } from "../lib/charts.js";
import { el, fmt, num, signed, table } from "../lib/dom.js";

export const OBJECTIVES = ["sharpe", "sortino", "calmar", "total_return", "psr"];

// The form's walk-forward fields -> the request's `walk_forward`, or undefined when left empty.
export function walkForwardRequest(train, test, objective, anchored) {
  const [trainText, testText] = [train.trim(), test.trim()];
  if (!trainText && !testText) return undefined;
  if (!trainText || !testText) throw new Error("walk-forward: give both train and test (e.g. 90d and 30d)");
  return { train: trainText, test: testText, objective, anchored };
}

const parameters = (chosen) => Object.entries(chosen).map(([name, value]) => `${name}=${value}`).join(", ");

// Fetch the run's walk-forward (with the plan it was launched with) and draw it into `box`;
// returns the chart, to be removed with the view.
export async function renderWalkForward(box, runId) {
  const report = await get(`/backtests/${encodeURIComponent(runId)}/walk-forward`);
  const chartBox = el("div", { class: "chart", id: "wf-equity" });
  const efficiency = report.efficiency === null ? "— (in-sample return not positive)" : fmt.number(report.efficiency);
  box.append(
    el("h2", {}, `Walk-forward: ${report.objective}, ${report.combinations} combinations, ${report.windows.length} windows`),
    el("p", { class: "muted", id: "wf-summary" },
      `Out of sample ${fmt.pct(report.out_of_sample.total_return)} total return, Sharpe ${fmt.number(report.out_of_sample.sharpe)}; `
      + `best in sample (${report.in_sample_best.account_id}) ${fmt.pct(report.in_sample_best.metrics.total_return)}; efficiency ${efficiency}`),
    chartBox,
    table(["Test from (UTC)", "Test to (UTC)", "Chosen", ["IS score", true], ["IS return", true], ["OOS return", true]],
      report.windows.map((w) => el("tr", {},
        el("td", {}, fmt.time(w.test_from)), el("td", {}, fmt.time(w.test_to)), el("td", {}, parameters(w.parameters)),
        num(fmt.number(w.score)), signed(w.in_sample.total_return, fmt.pct), signed(w.out_of_sample.total_return, fmt.pct))),
      { id: "wf-windows" }));
  return linesChart(chartBox, [
    { name: "out of sample (stitched)", ts: report.equity.ts, values: report.equity.equity },
    { name: `in-sample best: ${report.in_sample_best.account_id}`, ts: report.in_sample_best.equity.ts, values: report.in_sample_best.equity.equity },
  ]);
}

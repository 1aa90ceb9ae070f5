// Equity and drawdown charts on TradingView's lightweight-charts (vendored; a global).

const COLOURS = ["#58a6ff", "#3fb950", "#d29922", "#f85149", "#bc8cff", "#39c5cf", "#ff7b72", "#e3b341"];

function chartIn(container) {
  const { createChart } = window.LightweightCharts;
  return createChart(container, {
    autoSize: true,
    layout: { background: { color: "transparent" }, textColor: "#8b97a5", fontSize: 11 },
    grid: { vertLines: { color: "#1d242c" }, horzLines: { color: "#1d242c" } },
    timeScale: { timeVisible: true, secondsVisible: true },
    rightPriceScale: { borderColor: "#2a333d" },
  });
}

// lightweight-charts wants strictly increasing times in seconds
function points(rows, value) {
  const out = [];
  let last = -Infinity;
  for (const row of rows) {
    const time = row.ts / 1000;
    if (time <= last) continue;
    last = time;
    out.push({ time, value: value(row) });
  }
  return out;
}

// One line per account: equity in the top chart, drawdown (in %, below zero) in the bottom one.
export class EquityCharts {
  constructor(equityBox, drawdownBox) {
    this.equity = chartIn(equityBox);
    this.drawdown = chartIn(drawdownBox);
    this.lines = new Map();
  }

  update(seriesList) {
    const { LineSeries, AreaSeries } = window.LightweightCharts;
    seriesList.forEach((series, index) => {
      let found = this.lines.get(series.account_id);
      if (!found) {
        const color = COLOURS[this.lines.size % COLOURS.length];
        found = {
          equity: this.equity.addSeries(LineSeries, { color, lineWidth: 2, title: series.account_id }),
          drawdown: this.drawdown.addSeries(AreaSeries, {
            lineColor: color, topColor: "rgba(248,81,73,0.05)", bottomColor: "rgba(248,81,73,0.35)",
            invertFilledArea: true, lineWidth: 1, title: index < 4 ? series.account_id : "",
            priceFormat: { type: "percent" },
          }),
        };
        this.lines.set(series.account_id, found);
      }
      found.equity.setData(points(series.points, (p) => p.equity));
      found.drawdown.setData(points(series.points, (p) => -p.drawdown * 100));
    });
    if (seriesList.length) {
      this.equity.timeScale().fitContent();
      this.drawdown.timeScale().fitContent();
    }
  }

  remove() {
    this.equity.remove();
    this.drawdown.remove();
  }
}

export function lineChart(container, rows, title, format = (v) => v) {
  const { LineSeries } = window.LightweightCharts;
  const chart = chartIn(container);
  const line = chart.addSeries(LineSeries, { color: COLOURS[0], lineWidth: 2, title });
  line.setData(points(rows, format));
  chart.timeScale().fitContent();
  return chart;
}

// Bars per key (e.g. rejections per rule), one series each, over shared buckets.
export function histogramChart(container, byKey) {
  const { HistogramSeries } = window.LightweightCharts;
  const chart = chartIn(container);
  [...byKey.entries()].forEach(([key, rows], index) => {
    const bars = chart.addSeries(HistogramSeries, { color: COLOURS[index % COLOURS.length], title: key });
    bars.setData(points(rows, (r) => r.value));
  });
  chart.timeScale().fitContent();
  return chart;
}

const MAX_POINTS = 1000; // the chart keeps a minimum bar spacing: more points would not fit

// At most MAX_POINTS evenly spaced rows of `rows`, always with the last.
function thinned(rows) {
  if (rows.length <= MAX_POINTS) return rows;
  const step = rows.length / MAX_POINTS;
  const kept = Array.from({ length: MAX_POINTS - 1 }, (_, i) => rows[Math.floor(i * step)]);
  kept.push(rows[rows.length - 1]);
  return kept;
}

// Named lines on one chart, each {name, ts: [...ms], values: [...]} (e.g. out-of-sample equity
// beside the in-sample best), each thinned to at most MAX_POINTS points.
export function linesChart(container, lines) {
  const { LineSeries } = window.LightweightCharts;
  const chart = chartIn(container);
  lines.forEach((line, index) => {
    const series = chart.addSeries(LineSeries, { color: COLOURS[index % COLOURS.length], lineWidth: 2, title: line.name });
    const rows = line.ts.map((ts, i) => ({ ts, value: line.values[i] }));
    series.setData(points(thinned(rows), (p) => p.value));
  });
  chart.timeScale().fitContent();
  return chart;
}

// The health strip under the header: the pipeline at a glance, from the same endpoints an
// operator's Prometheus scrapes (`/ready` and `/metrics`), every few seconds. Rates are the
// counters' growth between two polls; "—" until there are two.

const POLL_MS = 4000;
const STALE_TICK_S = 30; // a live feed that is quieter than this is worth a look

// Prometheus' text format -> name -> [{ labels, value }]; HELP/TYPE lines are skipped.
export function parseMetrics(text) {
  const found = new Map();
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)/.exec(line);
    if (!match) continue;
    const labels = {};
    for (const pair of (match[3] || "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[pair[1]] = pair[2];
    if (!found.has(match[1])) found.set(match[1], []);
    found.get(match[1]).push({ labels, value: Number(match[4]) });
  }
  return found;
}

const total = (metrics, name) => (metrics.get(name) || []).reduce((sum, s) => sum + s.value, 0);
const highest = (metrics, name) => Math.max(-Infinity, ...(metrics.get(name) || []).map((s) => s.value));

// The smallest bucket bound holding `q` of the observations added between two polls.
function quantileSince(before, after, name, q) {
  const bounds = (after.get(`${name}_bucket`) || []).map((s) => s.labels.le);
  const count = (metrics, le) => (metrics.get(`${name}_bucket`) || []).filter((s) => s.labels.le === le).reduce((sum, s) => sum + s.value, 0);
  const added = bounds.map((le) => [le, count(after, le) - count(before, le)]);
  const all = added.find(([le]) => le === "+Inf");
  if (!all || all[1] <= 0) return null;
  const hit = added.filter(([le]) => le !== "+Inf").map(([le, n]) => [Number(le), n]).sort((a, b) => a[0] - b[0]).find(([, n]) => n >= q * all[1]);
  return hit ? hit[0] : Infinity;
}

const rate = (before, after, name, seconds) => (before ? Math.max(0, total(after, name) - total(before, name)) / seconds : null);
const perSecond = (value) => (value === null ? "—" : value >= 100 ? Math.round(value).toLocaleString("en-US") : value.toFixed(1));
const duration = (seconds) => (seconds === null ? "—" : seconds === Infinity ? "> 10 s" : seconds < 1 ? `${Math.round(seconds * 1000)} ms` : `${seconds.toFixed(1)} s`);

function item(id, label, value, state) {
  const node = document.createElement("span");
  node.className = `health-item ${state}`;
  node.id = id;
  node.title = label;
  node.textContent = `${label} ${value}`;
  return node;
}

// What the strip says, from /ready and two scrapes of /metrics `seconds` apart.
export function healthItems(ready, before, after, seconds) {
  const items = [];
  if (ready) {
    items.push(item("h-clickhouse", "ClickHouse", ready.clickhouse ? "up" : "down", ready.clickhouse ? "good" : "bad"));
    items.push(item("h-broker", "broker", ready.broker ? "up" : "down", ready.broker ? "good" : "bad"));
    if (ready.flow_thread !== null) items.push(item("h-flow", "flow", ready.flow_thread ? "running" : "stopped", ready.flow_thread ? "good" : "bad"));
    const age = ready.heartbeat_age_seconds;
    items.push(item("h-tick", "last tick", age === null ? "never" : `${duration(age)} ago`, age !== null && age <= STALE_TICK_S ? "good" : "warn"));
  }
  if (after) {
    const ticks = rate(before, after, "strikeflow_ticks_in_total", seconds);
    items.push(item("h-ticks", "ticks/s", perSecond(ticks), ticks ? "good" : "quiet"));
    const lag = total(after, "strikeflow_consumer_lag_messages");
    items.push(item("h-lag", "lag", Math.round(lag).toLocaleString("en-US"), lag > 10_000 ? "warn" : "good"));
    const delay = highest(after, "strikeflow_watermark_delay_seconds");
    items.push(item("h-watermark", "watermark", Number.isFinite(delay) ? duration(Math.max(0, delay)) : "—", delay > 10 ? "warn" : "good"));
    const decisions = before ? quantileSince(before, after, "strikeflow_decision_delay_seconds", 0.99) : null;
    items.push(item("h-decision", "decision p99", duration(decisions), decisions !== null && decisions > 1 ? "warn" : "good"));
    const dead = rate(before, after, "strikeflow_dead_letters_total", seconds);
    items.push(item("h-dead", "dead letters/s", perSecond(dead), dead ? "warn" : "good"));
    items.push(item("h-rows", "rows/s", perSecond(rate(before, after, "strikeflow_rows_written_total", seconds)), "good"));
    const queue = total(after, "strikeflow_sink_queue_batches");
    items.push(item("h-queue", "sink queue", String(Math.round(queue)), queue > 20 ? "warn" : "good"));
    const retries = rate(before, after, "strikeflow_insert_retries_total", seconds);
    items.push(item("h-retries", "retries/s", perSecond(retries), retries ? "bad" : "good"));
  }
  return items;
}

async function fetched(path, parse) {
  const answer = await fetch(path, { credentials: "same-origin" });
  // /ready answers 503 with the same body when something is down: that is news, not an error
  if (!answer.ok && answer.status !== 503) throw new Error(`${path}: HTTP ${answer.status}`);
  return parse(answer);
}

export class HealthStrip {
  constructor(container) {
    this.container = container;
    this.timer = 0;
    this.previous = null;
  }

  start() {
    this.stop();
    this.container.hidden = false;
    const poll = async () => {
      try {
        const [ready, text] = await Promise.all([fetched("/ready", (a) => a.json()), fetched("/metrics", (a) => a.text())]);
        const now = { at: performance.now(), metrics: parseMetrics(text) };
        const seconds = this.previous ? (now.at - this.previous.at) / 1000 : 0;
        this.container.replaceChildren(...healthItems(ready, this.previous && this.previous.metrics, now.metrics, seconds));
        this.previous = now;
      } catch (error) {
        this.container.replaceChildren(item("h-error", "health", error.message, "bad"));
      }
    };
    poll();
    this.timer = setInterval(poll, POLL_MS);
  }

  stop() {
    clearInterval(this.timer);
    this.timer = 0;
    this.previous = null;
    this.container.hidden = true;
  }
}

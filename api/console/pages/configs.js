// Configs: every account's algorithm config, edited as a form built from the API's own schema
// (validation messages at the field), every version kept with a diff between two, and disable.
import { ApiError, del, get, post, put } from "../lib/api.js";
import { el, fmt, replace, stateBadge, table } from "../lib/dom.js";
import { SchemaForm } from "../lib/schemaform.js";

const SERVER_FIELDS = ["account_id", "version", "created_ts"];

function flatten(value, prefix = "", out = {}) {
  if (value && typeof value === "object" && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value)) flatten(v, prefix ? `${prefix}.${k}` : k, out);
  } else out[prefix] = Array.isArray(value) ? value.join(", ") : String(value);
  return out;
}

export function diffRows(older, newer) {
  const a = flatten(older);
  const b = flatten(newer);
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].filter((k) => k !== "created_ts" && k !== "version").sort();
  return keys.filter((k) => a[k] !== b[k]).map((k) => el("tr", {},
    el("td", {}, k), el("td", { class: "diff-old" }, a[k] ?? "—"), el("td", { class: "diff-new" }, b[k] ?? "—")));
}

export function mount(container) {
  const list = el("div", { id: "config-list" });
  const editor = el("div", { id: "config-editor", class: "panel", hidden: true });
  const versions = el("div", { id: "config-versions" });
  const status = el("p", { class: "status-line", id: "config-status", role: "status" });
  let schemas = null;
  let alive = true;

  replace(container, el("h1", {}, "Configs"),
    el("div", { class: "toolbar" }, el("button", { type: "button", id: "new-config", onclick: () => edit(null) }, "New config"), status),
    list, editor, versions);

  async function components() {
    if (!schemas) schemas = (await get("/openapi.json")).components.schemas;
    return schemas;
  }

  async function load() {
    const [configs, states] = await Promise.all([get("/configs?include_disabled=true"), get("/accounts")]);
    if (!alive) return;
    const byAccount = new Map(states.map((s) => [s.account_id, s.status]));
    replace(list, configs.length ? table(
      ["Account", "State", ["Version", true], "Strategy", "Symbols", "Enabled", "Changed (UTC)", ""],
      configs.map((c) => el("tr", { "data-account": c.account_id },
        el("td", {}, c.account_id), el("td", {}, stateBadge(byAccount.get(c.account_id) || "stopped")),
        el("td", { class: "num" }, `v${c.version}`), el("td", {}, c.strategy.kind), el("td", {}, c.symbols.join(" ")),
        el("td", {}, c.enabled ? "✓ yes" : "✗ no"), el("td", {}, fmt.time(c.created_ts)),
        el("td", {}, el("div", { class: "buttons" },
          el("button", { type: "button", "aria-label": `Edit ${c.account_id}`, onclick: () => edit(c) }, "Edit"),
          el("button", { type: "button", "aria-label": `Versions of ${c.account_id}`, onclick: () => showVersions(c.account_id) }, "Versions"),
          c.enabled ? el("button", { type: "button", class: "danger", "aria-label": `Disable ${c.account_id}`, onclick: () => disable(c.account_id) }, "Disable") : null)))),
      { id: "configs" }) : el("p", { class: "muted" }, "No configs yet."));
  }

  async function edit(config) {
    const found = await components();
    const form = new SchemaForm(found);
    const schema = found[config ? "ConfigUpdate" : "ConfigCreate"];
    const values = config ? Object.fromEntries(Object.entries(config).filter(([k]) => !SERVER_FIELDS.includes(k))) : { symbols: ["AAPL"] };
    const built = form.build(schema, values, "", "");
    const topError = el("p", { class: "error", role: "alert", id: "form-error" });
    const submit = el("button", { type: "submit", id: "save-config" }, config ? `Save as version ${config.version + 1}` : "Create");
    const element = el("form", { novalidate: true, id: "config-form" }, built.node, topError,
      el("div", { class: "buttons" }, submit, el("button", { type: "button", onclick: () => { editor.hidden = true; } }, "Close")));
    element.addEventListener("submit", async (event) => {
      event.preventDefault();
      form.clearErrors();
      topError.textContent = "";
      submit.disabled = true;
      try {
        const body = built.read();
        const saved = config ? await put(`/configs/${encodeURIComponent(config.account_id)}`, body) : await post("/configs", body);
        status.className = "status-line ok";
        status.textContent = `${saved.account_id}: version ${saved.version} saved and sent to the flow`;
        editor.hidden = true;
        load();
        showVersions(saved.account_id);
      } catch (error) {
        if (error instanceof ApiError && error.fields) topError.textContent = form.showErrors(error.fields).join("; ");
        else topError.textContent = error.message;
        const first = element.querySelector(".field.invalid input, .field.invalid select");
        if (first) first.focus();
      } finally {
        submit.disabled = false;
      }
    });
    replace(editor, el("h2", {}, config ? `Edit ${config.account_id} (now v${config.version})` : "New config"), element);
    editor.hidden = false;
    editor.querySelector("input, select").focus();
  }

  async function showVersions(account) {
    const all = await get(`/configs/${encodeURIComponent(account)}/versions`);
    const older = el("select", { "aria-label": "Older version", id: "diff-from" }, all.map((v, i) => el("option", { value: i, selected: i === Math.max(0, all.length - 2) }, `v${v.version}`)));
    const newer = el("select", { "aria-label": "Newer version", id: "diff-to" }, all.map((v, i) => el("option", { value: i, selected: i === all.length - 1 }, `v${v.version}`)));
    const diff = el("div", { id: "config-diff" });
    const render = () => {
      const rows = diffRows(all[Number(older.value)], all[Number(newer.value)]);
      replace(diff, rows.length ? table(["Field", "From", "To"], rows) : el("p", { class: "muted" }, "No differences."));
    };
    older.addEventListener("change", render);
    newer.addEventListener("change", render);
    replace(versions, el("h2", {}, `Versions of ${account}`),
      table(["Version", "Changed (UTC)", "Enabled", "Strategy"], all.map((v) => el("tr", {},
        el("td", {}, `v${v.version}`), el("td", {}, fmt.time(v.created_ts)), el("td", {}, v.enabled ? "✓ yes" : "✗ no"),
        el("td", {}, `${v.strategy.kind} ${JSON.stringify(v.strategy)}`)))),
      el("div", { class: "toolbar" }, "Diff ", older, " → ", newer), diff);
    render();
  }

  async function disable(account) {
    if (!window.confirm(`Disable ${account}? It is stopped and keeps its versions.`)) return;
    try {
      const saved = await del(`/configs/${encodeURIComponent(account)}`);
      status.className = "status-line ok";
      status.textContent = `${account}: disabled as version ${saved.version}, and stopped`;
    } catch (error) {
      status.className = "status-line error";
      status.textContent = error.message;
    }
    load();
  }

  load().catch((error) => { status.textContent = error.message; });
  return () => { alive = false; };
}

// DOM building without innerHTML (values from the API are never parsed as HTML), and the
// number formats every page shares: right-aligned, with units, signs and arrows.

export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else if (name === "class") node.className = value;
    else if (name in node && typeof value !== "string") node[name] = value;
    else node.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

const money2 = new Intl.NumberFormat("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
const plain = new Intl.NumberFormat("en-US", { maximumFractionDigits: 4 });

export const fmt = {
  money: (v) => (v === null || v === undefined ? "—" : `${money2.format(v)} $`),
  number: (v) => (v === null || v === undefined ? "—" : plain.format(v)),
  int: (v) => (v === null || v === undefined ? "—" : Math.round(v).toLocaleString("en-US")),
  pct: (v) => (v === null || v === undefined ? "—" : `${money2.format(v * 100)} %`),
  time: (ms) => (ms ? new Date(ms).toISOString().replace("T", " ").slice(0, 19) : "—"),
  clock: (ms) => new Date(ms).toISOString().slice(11, 23),
};

// A signed cell: ▲ +1.23 $ in green, ▼ −1.23 $ in red, · 0.00 $ for flat; readable without colour.
export function signed(value, format = fmt.money) {
  if (value === null || value === undefined || Number.isNaN(value)) return el("td", { class: "num" }, "—");
  const shown = format(Math.abs(value));
  if (Math.abs(value) < 1e-9) return el("td", { class: "num" }, `· ${shown}`);
  return value > 0
    ? el("td", { class: "num up" }, `▲ +${shown}`)
    : el("td", { class: "num down" }, `▼ −${shown}`);
}

export const num = (text) => el("td", { class: "num" }, text);

export function table(headers, rows, attributes = {}) {
  const head = el("tr", {}, headers.map((h) => {
    const [label, numeric] = Array.isArray(h) ? h : [h, false];
    return el("th", { class: numeric ? "num" : undefined, scope: "col" }, label);
  }));
  return el("div", { class: "scroll" }, el("table", attributes, el("thead", {}, head), el("tbody", {}, rows)));
}

export function stateBadge(status) {
  return el("span", { class: `state state-${status}` }, status);
}

export function replace(node, ...children) {
  node.replaceChildren(...children.flat().filter((c) => c !== null && c !== undefined));
}

// Ask for a reason before a drastic command; resolves to the reason, or null if cancelled.
export function askReason(title) {
  return new Promise((resolve) => {
    const input = el("input", { type: "text", required: true, maxlength: "500", "aria-label": "Reason", name: "reason" });
    const dialog = el("dialog", { "aria-label": title },
      el("form", { method: "dialog" },
        el("p", {}, title),
        el("label", {}, "Reason ", input),
        el("div", { class: "buttons" },
          el("button", { value: "cancel", type: "button", onclick: () => dialog.close("cancel") }, "Cancel"),
          el("button", { value: "ok", class: "danger", type: "submit" }, "Confirm"))));
    dialog.addEventListener("close", () => {
      const reason = input.value.trim();
      dialog.remove();
      resolve(dialog.returnValue === "ok" && reason ? reason : null);
    });
    document.body.append(dialog);
    dialog.showModal();
    input.focus();
  });
}

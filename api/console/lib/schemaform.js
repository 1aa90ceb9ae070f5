// A form built from a JSON Schema (the API's own, from /openapi.json), so the console never
// keeps a second list of a config's fields. The browser does not validate (novalidate): the
// server's validation messages, by field path, are shown at their fields (showErrors).
import { el } from "./dom.js";

let counter = 0;

const humanise = (name) => name.charAt(0).toUpperCase() + name.slice(1).replaceAll("_", " ");

export class SchemaForm {
  constructor(components) {
    this.components = components; // openapi components.schemas
    this.slots = new Map(); // dotted path -> field element
  }

  resolve(schema) {
    let found = schema;
    while (found && found.$ref) found = this.components[found.$ref.split("/").pop()];
    return found || {};
  }

  // Render `schema` holding `value` at `path`; returns { node, read } where read() gives the value.
  build(schema, value, path, label) {
    const resolved = this.resolve(schema);
    if (resolved.oneOf && resolved.discriminator) return this.union(resolved, value, path, label);
    if (resolved.anyOf) {
      const options = resolved.anyOf.map((s) => this.resolve(s));
      const others = options.filter((s) => s.type !== "null");
      if (others.length === 1 && others.length < options.length) return this.nullable(others[0], value, path, label, resolved);
      const choices = others.flatMap((s) => s.enum || (s.const !== undefined ? [s.const] : []));
      if (choices.length) return this.choice(choices, value ?? resolved.default, path, label, resolved);
    }
    if (resolved.type === "object" && resolved.properties) return this.object(resolved, value || {}, path, label);
    if (resolved.enum) return this.choice(resolved.enum, value ?? resolved.default, path, label, resolved);
    return this.scalar(resolved, value ?? resolved.default, path, label);
  }

  field(path, label, control, schema) {
    const error = el("span", { class: "error", role: "alert" });
    const node = el("div", { class: "field", "data-path": path },
      el("label", { for: control.id, title: schema.description || "" }, label), control, error);
    this.slots.set(path, node);
    return node;
  }

  scalar(schema, value, path, label) {
    const id = `f${++counter}`;
    const name = label || schema.title || path;
    if (schema.const !== undefined) return { node: null, read: () => schema.const };
    if (schema.type === "boolean") {
      const box = el("input", { type: "checkbox", id, name: path, checked: Boolean(value) });
      return { node: this.field(path, name, box, schema), read: () => box.checked };
    }
    if (schema.type === "array") {
      const input = el("input", { type: "text", id, name: path, value: (value || []).join(", "), placeholder: "comma-separated" });
      const read = () => input.value.split(",").map((s) => s.trim()).filter(Boolean);
      return { node: this.field(path, name, input, schema), read };
    }
    const numeric = schema.type === "number" || schema.type === "integer";
    const input = el("input", { type: "text", id, name: path, inputmode: numeric ? "decimal" : undefined, value: value ?? "" });
    const read = () => {
      const text = input.value.trim();
      if (!numeric) return text;
      const number = Number(text);
      return text === "" ? null : Number.isNaN(number) ? text : number; // the server names the fault
    };
    return { node: this.field(path, name, input, schema), read };
  }

  choice(options, value, path, label, schema) {
    const id = `f${++counter}`;
    const select = el("select", { id, name: path }, options.map((o) => el("option", { value: o, selected: o === value }, o)));
    return { node: this.field(path, label || schema.title || path, select, schema), read: () => select.value };
  }

  nullable(inner, value, path, label, outer) {
    const present = value !== null && value !== undefined;
    const shown = present ? value : (outer.default ?? inner.default ?? null);
    const child = this.build(inner, shown, path, label || outer.title || path.split(".").pop());
    const toggle = el("input", { type: "checkbox", checked: present, "aria-label": `${path}: set (unchecked: none)` });
    const wrap = el("div", { class: "nullable" }, el("label", { class: "muted" }, toggle, ` ${label || outer.title || path} set`), child.node);
    const sync = () => { child.node.toggleAttribute("inert", !toggle.checked); child.node.style.opacity = toggle.checked ? "1" : ".45"; };
    toggle.addEventListener("change", sync);
    sync();
    return { node: wrap, read: () => (toggle.checked ? child.read() : null) };
  }

  object(schema, value, path, label) {
    const readers = {};
    const children = [];
    for (const [name, property] of Object.entries(schema.properties)) {
      const childPath = path ? `${path}.${name}` : name;
      const child = this.build(property, value[name], childPath, property.title || humanise(name));
      readers[name] = child.read;
      if (child.node) children.push(child.node);
    }
    const read = () => Object.fromEntries(Object.entries(readers).map(([k, r]) => [k, r()]));
    if (!path) return { node: el("div", {}, children), read };
    return { node: el("fieldset", { "data-path": path }, el("legend", {}, label || schema.title || path), children), read };
  }

  union(schema, value, path, label) {
    const mapping = schema.discriminator.mapping;
    const key = schema.discriminator.propertyName;
    // in the schema's own order (the model's first strategy is its default), not the mapping's
    const order = schema.oneOf.map((s) => s.$ref);
    const kinds = Object.keys(mapping).sort((a, b) => order.indexOf(mapping[a]) - order.indexOf(mapping[b]));
    const current = value && value[key] ? value[key] : kinds[0];
    const id = `f${++counter}`;
    const select = el("select", { id, name: `${path}.${key}` }, kinds.map((k) => el("option", { value: k, selected: k === current }, k)));
    const holder = el("div");
    let child = null;
    const show = (kind, given) => {
      for (const slot of [...this.slots.keys()]) if (slot.startsWith(`${path}.`) && slot !== `${path}.${key}`) this.slots.delete(slot);
      child = this.build({ $ref: mapping[kind] }, given || { [key]: kind }, path, kind);
      holder.replaceChildren(child.node);
    };
    select.addEventListener("change", () => show(select.value));
    const kindField = this.field(`${path}.${key}`, `${label || path}: kind`, select, schema);
    show(current, value);
    return { node: el("div", {}, kindField, holder), read: () => ({ ...child.read(), [key]: select.value }) };
  }

  clearErrors() {
    for (const slot of this.slots.values()) {
      slot.classList.remove("invalid");
      slot.querySelector(".error").textContent = "";
    }
  }

  // Put each message at its field; a discriminated union adds its kind to the server's path
  // (strategy.ma_cross.fast), which the form leaves out. Returns the messages with no field.
  showErrors(fields) {
    this.clearErrors();
    const unplaced = [];
    for (const [path, message] of Object.entries(fields)) {
      const parts = path.split(".");
      let slot = this.slots.get(path);
      for (let i = 0; !slot && i < parts.length; i += 1) slot = this.slots.get([...parts.slice(0, i), ...parts.slice(i + 1)].join("."));
      if (!slot) { unplaced.push(path ? `${path}: ${message}` : message); continue; }
      slot.classList.add("invalid");
      slot.querySelector(".error").textContent = message;
    }
    return unplaced;
  }
}

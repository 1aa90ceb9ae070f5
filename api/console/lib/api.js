// The REST API and the WebSocket, as any client uses them. The session cookie (HttpOnly, set by
// POST /session) travels with same-origin requests; the page never sees or keeps the token.

export class ApiError extends Error {
  constructor(status, message, fields) {
    super(message);
    this.status = status;
    this.fields = fields; // dotted field path -> message, for 422 answers
  }
}

function fieldErrors(detail) {
  const fields = {};
  for (const problem of detail) {
    const path = (problem.loc || []).filter((part) => part !== "body" && part !== "query");
    // a discriminated union puts the chosen kind in the path: strategy.ma_cross.fast
    const key = path.join(".");
    fields[key] = fields[key] ? `${fields[key]}; ${problem.msg}` : problem.msg;
  }
  return fields;
}

export async function request(method, path, body, options = {}) {
  const init = { method, credentials: "same-origin", headers: {} };
  if (body !== undefined) {
    if (options.raw) {
      init.body = body;
      init.headers["Content-Type"] = "application/octet-stream";
    } else {
      init.body = JSON.stringify(body);
      init.headers["Content-Type"] = "application/json";
    }
  }
  const answer = await fetch(path, init);
  // a restarted server forgets sessions: any 401 brings back the login (app.js)
  if (answer.status === 401 && path !== "/session") window.dispatchEvent(new Event("session-ended"));
  if (answer.status === 204) return null;
  const text = await answer.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = text; }
  if (!answer.ok) {
    const detail = data && data.detail;
    if (Array.isArray(detail)) {
      const fields = fieldErrors(detail);
      const summary = Object.entries(fields).map(([k, v]) => (k ? `${k}: ${v}` : v)).join("; ");
      throw new ApiError(answer.status, summary, fields);
    }
    throw new ApiError(answer.status, typeof detail === "string" ? detail : `HTTP ${answer.status}`);
  }
  return data;
}

export const get = (path) => request("GET", path);
export const post = (path, body) => request("POST", path, body);
export const put = (path, body) => request("PUT", path, body);
export const del = (path) => request("DELETE", path);

export function query(params) {
  const found = Object.entries(params).filter(([, v]) => v !== undefined && v !== null && v !== "");
  return found.length ? `?${new URLSearchParams(found)}` : "";
}

// Send a control command and wait (up to 5 s, on the server) for the flow's verdict.
export async function command(account, action, reason) {
  const sent = await post(`/accounts/${encodeURIComponent(account)}/${action}`, reason ? { reason } : undefined);
  return get(`/commands/${encodeURIComponent(sent.command_id)}?wait=5`);
}

export function stream(filters, onEvent, onStatus) {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(`${scheme}://${location.host}/ws${query(filters)}`);
  socket.onmessage = (message) => {
    const data = JSON.parse(message.data);
    if (data.type === "event") onEvent(data);
    else onStatus(data.type === "error" ? `stream: ${data.detail}` : "connected");
  };
  socket.onclose = (event) => onStatus(`disconnected (${event.code}${event.reason ? `: ${event.reason}` : ""})`);
  return socket;
}

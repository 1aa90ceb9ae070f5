// The console's shell: login, the page chosen by the URL's hash, and each page's clean-up.
import { ApiError, del, get, post } from "./lib/api.js";
import { replace } from "./lib/dom.js";
import { HealthStrip } from "./lib/health.js";

const PAGES = {
  control: () => import("./pages/control.js"),
  feed: () => import("./pages/feed.js"),
  positions: () => import("./pages/positions.js"),
  orders: () => import("./pages/orders.js"),
  configs: () => import("./pages/configs.js"),
  backtests: () => import("./pages/backtests.js"),
  analytics: () => import("./pages/analytics.js"),
};

const page = document.getElementById("page");
const health = new HealthStrip(document.getElementById("health"));
const login = document.getElementById("login");
let cleanup = null;
let shown = 0; // bumps on every navigation, so a slow page load cannot land on the wrong page

function showLogin(message = "") {
  if (cleanup) cleanup();
  cleanup = null;
  health.stop();
  replace(page);
  document.getElementById("nav").hidden = true;
  document.getElementById("logout").hidden = true;
  document.getElementById("who").textContent = "";
  document.getElementById("login-error").textContent = message;
  login.hidden = false;
  document.getElementById("token").focus();
}

async function route() {
  const name = (location.hash.replace(/^#\//, "") || "control").split("?")[0];
  const load = PAGES[name] || PAGES.control;
  const mine = ++shown;
  if (cleanup) cleanup();
  cleanup = null;
  for (const link of document.querySelectorAll("nav a")) {
    link.toggleAttribute("aria-current", link.getAttribute("href") === `#/${name}`);
    if (link.hasAttribute("aria-current")) link.setAttribute("aria-current", "page");
  }
  const module = await load();
  if (mine !== shown) return;
  replace(page);
  page.dataset.page = name;
  cleanup = module.mount(page);
}

async function start() {
  let session;
  try {
    session = await get("/session");
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return showLogin();
    return showLogin(error.message);
  }
  login.hidden = true;
  document.getElementById("nav").hidden = false;
  document.getElementById("logout").hidden = false;
  document.getElementById("who").textContent = session.role === "read" ? "read-only" : "";
  health.start();
  await route();
}

login.addEventListener("submit", async (event) => {
  event.preventDefault();
  const field = document.getElementById("token");
  try {
    await post("/session", { token: field.value });
    field.value = "";
    await start();
  } catch (error) {
    field.value = "";
    showLogin(error.message);
  }
});

document.getElementById("logout").addEventListener("click", async () => {
  await del("/session");
  showLogin();
});

window.addEventListener("session-ended", () => {
  if (login.hidden) showLogin("the session ended (or the server restarted): log in again");
});

window.addEventListener("hashchange", () => { if (login.hidden) route(); });
start();

// index.js: the field-service demo's entry: registers the Service Worker, signs in, opens the user's offline store, and routes between the views.
import * as api from "./app/api.js";
import { accountsView } from "./app/accounts.js";
import { conflictsView } from "./app/conflicts.js";
import { debounce, h } from "./app/dom.js";
import { accountView, workorderView } from "./app/forms.js";
import { current, markDownloaded, openStore, signOut, USERS } from "./app/session.js";
import { signInView } from "./app/signin.js";
import { renderStatus } from "./app/status.js";
import { statusView } from "./app/statuspage.js";
import { syncErrorsView } from "./app/syncerrors.js";

const $ = (id) => document.getElementById(id);
const main = $("view");

if ("serviceWorker" in navigator) {
  navigator.serviceWorker.register("sw.js").catch((e) => console.warn("Service Worker not registered:", e));
}

let toastTimer;
function toast(text, kind = "info") {
  const el = $("toast");
  el.textContent = text;
  el.className = kind;
  el.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => (el.hidden = true), 3000);
}

// Back to the previous view when the app has one, else home (a form opened from a bookmark).
let depth = 0;
window.addEventListener("hashchange", () => depth++);
const back = () => (depth > 0 ? history.back() : (location.hash = "#/"));

/** `#/workorder/wo-00012` → the view to show and its argument. */
function route(ctx) {
  const [, name = "", arg] = location.hash.match(/^#\/([^/]*)\/?(.*)$/) ?? [];
  const id = arg ? decodeURIComponent(arg) : null;
  for (const a of document.querySelectorAll("nav.tabs a")) {
    a.classList.toggle("active", a.dataset.tab === ({ conflicts: "conflicts", errors: "errors", status: "status" }[name] ?? "accounts"));
  }
  const root = h("div.view");
  main.replaceChildren(root);
  window.scrollTo(0, 0);
  switch (name) {
    case "workorder": return workorderView(ctx, root, id);
    case "account": return accountView(ctx, root, id);
    case "conflicts": return conflictsView(ctx, root);
    case "errors": return syncErrorsView(ctx, root);
    case "status": return statusView(ctx, root);
    default: return accountsView(ctx, root);
  }
}

function showStatus(s, session) {
  if (s.initialSync.done) markDownloaded(session);
  renderStatus($("status"), s);
  for (const [id, n] of [["conflict-badge", s.conflicts], ["error-badge", s.errors]]) {
    $(id).textContent = String(n);
    $(id).hidden = n === 0;
  }
}

async function syncNow(store) {
  const button = $("sync-now");
  button.disabled = true;
  try {
    const { result, status } = await store.sync();
    if (result === "completed") toast("Up to date");
    else if (result === "offline") toast("Offline: changes sync when the connection returns");
    else toast(`Sync failed (${status.errorCode ?? "error"}); it is retried by itself`, "error");
  } catch (e) {
    toast(`${e.code ?? "error"}: ${e.message}`, "error");
  } finally {
    button.disabled = false;
  }
}

async function start() {
  const session = current();
  if (!session) return signInView(main);
  const user = USERS.find((u) => u.id === session.user);
  $("user").textContent = user?.name ?? session.user;
  const signOutButton = $("sign-out");
  signOutButton.hidden = false;
  let store = null;
  signOutButton.addEventListener("click", async () => {
    if (store && store.status().pending > 0
      && !confirm("Changes on this device are not synced yet. Sign out and lose them?")) return;
    await signOut(store, session);
    location.hash = "";
    location.reload();
  });

  try {
    store = await openStore(session);
  } catch (e) {
    // Only the very first launch needs the network: later ones open from the kept profile.
    main.replaceChildren(h("section.panel", {},
      h("p", {}, e.code === "network" ? "The first sign-in on this device needs a connection." : `Could not open the store: ${e.code ?? "error"}: ${e.message}`),
      h("button", { type: "button", onclick: () => location.reload() }, "Try again")));
    return;
  }
  // Reads after an online write go to the server anyway; the sync brings the store's own copy up to date.
  api.configure({ token: session.token, afterWrite: () => store.sync().catch(() => {}) });
  const ctx = { store, session, toast, back };
  window.demo = { store, api }; // for the e2e tests and the screenshot script

  document.querySelector(".row.status").hidden = false;
  document.querySelector("nav.tabs").hidden = false;
  $("sync-now").addEventListener("click", () => syncNow(store));

  showStatus(store.status(), session);
  let view = route(ctx);
  window.addEventListener("hashchange", () => { view = route(ctx); });
  store.on("status", (s) => {
    showStatus(s, session);
    Promise.resolve(view).then((v) => v?.onStatus?.(s));
  });
  // Remote changes (pulled by sync, or from another tab) show in the open list without a reload.
  store.on("change", debounce(() => Promise.resolve(view).then((v) => v?.refresh?.()), 150));
}

start();

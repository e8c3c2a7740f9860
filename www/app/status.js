// status.js: the always-visible sync status (connected, offline, syncing, error with its code, pending, conflicts, sync errors) and the first download's progress, from store.status().
import { h } from "./dom.js";

/** The one word the indicator shows, and its colour class. */
export function describe(s) {
  if (s.state === "unauthorized") return { kind: "error", text: "Sign-in refused" };
  if (!s.online || s.state === "offline") return { kind: "offline", text: "Offline" };
  if (s.state === "syncing") return { kind: "syncing", text: "Syncing…" };
  if (s.state === "error") return { kind: "error", text: `Error: ${s.errorCode ?? "sync failed"}` };
  return { kind: "online", text: "Connected" };
}

const plural = (n, one, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;
const clock = (ms) => new Date(ms).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });

/** Fills `el` (the status bar) with the indicator and its counters. */
export function renderStatus(el, s) {
  const { kind, text } = describe(s);
  const title = [
    s.lastError && `Last error: ${s.lastError}`,
    s.lastSyncAt && `Last complete sync: ${new Date(s.lastSyncAt).toLocaleString()}`,
  ].filter(Boolean).join("\n");
  const parts = [
    h(`span.pill.${kind}`, { id: "sync-state", title, role: "status" }, h("span.dot"), text),
    s.pending > 0 && h("span.count.pending", { id: "sync-pending" }, `${plural(s.pending, "change")} pending`),
    s.conflicts > 0 && h("a.count.conflicts", { id: "sync-conflicts", href: "#/conflicts" }, plural(s.conflicts, "conflict")),
    s.errors > 0 && h("a.count.errors", { id: "sync-errors", href: "#/errors" }, plural(s.errors, "sync error")),
    kind === "online" && s.pending === 0 && s.lastSyncAt && h("span.muted.small", {}, `synced ${clock(s.lastSyncAt)}`),
  ];
  el.replaceChildren(...parts.filter(Boolean));
}

/** Rows and total of the first download over every table (total null while any table has no estimate). */
export function downloadTotals(initialSync) {
  const tables = Object.values(initialSync.tables);
  const rows = tables.reduce((n, t) => n + t.rows, 0);
  const total = tables.length && tables.every((t) => t.total != null) ? tables.reduce((n, t) => n + t.total, 0) : null;
  return { rows, total };
}

/** The first download's panel: one bar over all tables, and a line per table. */
export function progressPanel(s) {
  const { rows, total } = downloadTotals(s.initialSync);
  const bar = h("progress", { id: "download-bar", max: total || 1 });
  if (total != null) bar.value = Math.min(rows, total); // no value: an indeterminate bar
  const waiting = !s.online || s.state === "offline"
    ? "Offline: the download goes on when the connection returns."
    : s.state === "error" || s.state === "unauthorized" ? `Paused: ${s.errorCode ?? s.state}. It is retried by itself.` : null;
  return h("section.panel.download", { id: "download" },
    h("h2", {}, "Downloading your data for offline use"),
    bar,
    h("p.small", { id: "download-text" }, total != null ? `${rows} of ${total} rows` : `${rows} rows`),
    h("ul.tables", {}, Object.entries(s.initialSync.tables).map(([name, t]) =>
      h("li", {}, h("span", {}, name), h("span.muted", {}, t.done ? `${t.rows} ✓` : `${t.rows}${t.total != null ? ` / ${t.total}` : ""}`)))),
    waiting && h("p.note", {}, waiting),
  );
}

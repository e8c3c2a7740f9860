// statuspage.js: the device's offline status, as Power Apps' offline status page shows it: each table's rows, size and last sync (with a button to sync that table alone), pending uploads, conflicts and sync errors, and the storage the browser gives the app (store.usage() and store.status()).
import { h } from "./dom.js";

const kb = (bytes) => (bytes < 1000 ? `${bytes} B` : bytes < 1e6 ? `${(bytes / 1000).toFixed(1)} kB` : `${(bytes / 1e6).toFixed(1)} MB`);
const when = (ms) => (ms ? new Date(ms).toLocaleString([], { dateStyle: "short", timeStyle: "short" }) : "never");

/** "every 5 min", "every day": how often a table pulls by itself. */
export function every(seconds) {
  if (seconds % 86400 === 0) return seconds === 86400 ? "every day" : `every ${seconds / 86400} days`;
  if (seconds % 3600 === 0) return seconds === 3600 ? "every hour" : `every ${seconds / 3600} h`;
  if (seconds % 60 === 0) return `every ${seconds / 60} min`;
  return `every ${seconds} s`;
}

export function statusView(ctx, root) {
  const body = h("div", { id: "device-status" });
  root.replaceChildren(h("h2.view-title", {}, "Device status"),
    h("p.muted.small", {}, "What this device keeps for offline use, and when each table last synced."), body);
  async function refresh() {
    const usage = await ctx.store.usage();
    const profile = ctx.store.profile;
    const s = ctx.store.status();
    const syncOne = async (table) => {
      const r = await ctx.store.sync({ tables: [table] });
      ctx.toast(r.result === "completed" ? `${table}: up to date` : `${table}: ${r.result}`, r.result === "failed" ? "error" : "info");
      refresh();
    };
    const rows = Object.entries(usage.tables).map(([name, t]) => h("tr", { dataset: { table: name } },
      h("th", {}, name),
      h("td.num", {}, String(t.rows)),
      h("td.num", {}, kb(t.bytes)),
      h("td", {}, when(usage.lastSyncAt[name]), h("div.muted.small", {}, every(profile.tables[name].syncIntervalSeconds))),
      h("td", {}, h("button.ghost.small.sync-table", { type: "button", onclick: () => syncOne(name) }, "Sync"))));
    const total = Object.values(usage.tables).reduce((n, t) => n + t.bytes, 0);
    body.replaceChildren(
      h("table.tables", {},
        h("thead", {}, h("tr", {}, h("th", {}, "Table"), h("th.num", {}, "Rows"), h("th.num", {}, "Size"), h("th", {}, "Last sync"), h("th", {}))),
        h("tbody", {}, rows)),
      h("dl.facts", {},
        h("dt", {}, "Pending changes"), h("dd", { id: "status-pending" }, String(s?.pending ?? 0)),
        h("dt", {}, "Conflicts"), h("dd", {}, String(s?.conflicts ?? 0)),
        h("dt", {}, "Sync errors"), h("dd", {}, String(s?.errors ?? 0)),
        h("dt", {}, "Data kept"), h("dd", {}, kb(total)),
        h("dt", {}, "Storage used by the app"), h("dd", { id: "status-storage" }, usage.usage == null ? "unknown" : `${kb(usage.usage)} of ${kb(usage.quota)}`),
        h("dt", {}, "Last complete sync"), h("dd", {}, when(s?.lastSyncAt))));
  }
  refresh();
  return { refresh, onStatus: refresh };
}

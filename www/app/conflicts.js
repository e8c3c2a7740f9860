// conflicts.js: the conflicts the store kept (tables with conflict "manual"): each shows base, mine and the server's values of the columns that differ; the user keeps mine, the server's, or edits a merged row.
import { h, STATUSES } from "./dom.js";

const show = (v) => (v === undefined ? "—" : v === null ? "null" : typeof v === "string" ? v : JSON.stringify(v));
const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

/** Columns whose local and server values differ (or, with a side deleted, every column of the other). */
function differing(c) {
  const cols = new Set([...Object.keys(c.local ?? {}), ...Object.keys(c.server ?? {})]);
  return [...cols].filter((col) => !same(c.local?.[col], c.server?.[col]));
}

/** Reads an edited text back as the type the column had: numbers stay numbers, JSON values stay JSON. */
function parseAs(text, example) {
  if (typeof example === "string" || example === undefined) return text;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** The merge form: one input per differing column, suggested by a three-way merge (my change where I made one, else the server's). */
function mergeForm(c, cols, onSubmit) {
  const inputs = cols.map((col) => {
    const mine = !same(c.local?.[col], c.base?.[col]);
    const suggested = mine ? c.local?.[col] : c.server?.[col];
    const text = suggested === undefined ? "" : typeof suggested === "string" ? suggested : JSON.stringify(suggested);
    // A work order's status is one of a few values: a select, not free text.
    const input = col === "status" && (suggested === undefined || STATUSES.includes(suggested))
      ? h("select", { name: col }, STATUSES.map((s) => h("option", { value: s, selected: s === suggested }, s)))
      : h("input", { name: col, value: text });
    return [col, input, suggested];
  });
  const form = h("form.merge", {},
    h("p.small.muted", {}, "Edit the merged row (prefilled with your change where you made one, else the server's):"),
    inputs.map(([col, input]) => h("label", {}, h("span", {}, col), input)),
    h("div.actions", {}, h("button", { type: "submit" }, "Save merged row")));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const row = { ...c.server };
    for (const [col, input, suggested] of inputs) row[col] = parseAs(input.value, suggested);
    onSubmit(row);
  });
  return form;
}

function conflictCard(ctx, c, reload) {
  const cols = differing(c);
  const resolve = async (choice) => {
    try {
      await ctx.store.resolveConflict(c.id, choice);
      ctx.toast("Conflict resolved");
      reload();
    } catch (e) {
      ctx.toast(`${e.code ?? "error"}: ${e.message}`, "error");
    }
  };
  const mergeSlot = h("div");
  const title = c.local?.title ?? c.server?.title ?? c.local?.name ?? c.server?.name ?? "";
  return h("li.panel.conflict", { dataset: { id: c.id } },
    h("h3", {}, `${c.table} ${c.key}`, title && h("span.muted", {}, ` · ${title}`)),
    c.local === null && h("p.note", {}, "You deleted this row; the server changed it."),
    c.server === null && h("p.note", {}, "The server deleted this row; you changed it."),
    h("table.diff", {},
      h("thead", {}, h("tr", {}, h("th", {}, "column"), h("th", {}, "before"), h("th", {}, "mine"), h("th", {}, "server"))),
      h("tbody", {}, cols.map((col) => h("tr", {},
        h("th", {}, col), h("td", {}, show(c.base?.[col])), h("td.mine", {}, show(c.local?.[col])), h("td.theirs", {}, show(c.server?.[col])))))),
    h("div.actions", {},
      h("button.keep-local", { type: "button", onclick: () => resolve("local") }, c.local === null ? "Delete it" : "Keep mine"),
      h("button.keep-server", { type: "button", onclick: () => resolve("server") }, "Keep server's"),
      c.local && c.server && h("button.ghost.edit-merge", {
        type: "button",
        onclick: () => mergeSlot.replaceChildren(mergeForm(c, cols, resolve)),
      }, "Edit a merge")),
    mergeSlot);
}

export function conflictsView(ctx, root) {
  const list = h("ul.conflicts", { id: "conflicts" });
  root.replaceChildren(h("h2.view-title", {}, "Conflicts"),
    h("p.muted.small", {}, "Changes of yours that met a different change on the server. Nothing is lost until you choose."),
    list);
  async function refresh() {
    const conflicts = await ctx.store.conflicts();
    list.replaceChildren(...(conflicts.length
      ? conflicts.map((c) => conflictCard(ctx, c, refresh))
      : [h("li.muted", {}, "No conflicts.")]));
  }
  refresh();
  let count = ctx.store.status().conflicts;
  // Not refreshed on every change event: that would wipe a merge being edited.
  return {
    onStatus(s) {
      if (s.conflicts !== count) {
        count = s.conflicts;
        refresh();
      }
    },
  };
}

// syncerrors.js: the changes the server refused for good (validation, permission, read-only), with the server's reason; retry pushes the change again, discard drops it and the row shows the server's state.
import { h } from "./dom.js";

function errorCard(ctx, e, reload) {
  // discardSyncError changes no row, so no change event makes the store recount its status;
  // a sync cycle ends with a recount, so the "N sync errors" indicator follows at once.
  const discard = async (id) => {
    await ctx.store.discardSyncError(id);
    ctx.store.sync().catch(() => {});
  };
  const act = async (what, fn, done) => {
    try {
      await fn(e.id);
      ctx.toast(done);
      reload();
    } catch (err) {
      ctx.toast(`${what}: ${err.code ?? "error"}: ${err.message}`, "error");
    }
  };
  return h("li.panel.syncerror", { dataset: { id: e.id } },
    h("h3", {}, `${e.op} ${e.table} ${e.key}`, h("span.chip.reason", {}, e.reason)),
    h("p", {}, e.message),
    e.row && h("pre.row", {}, JSON.stringify(e.row, null, 1)),
    h("div.actions", {},
      h("button.retry", { type: "button", onclick: () => act("Retry", (id) => ctx.store.retrySyncError(id), "Sent again") }, "Retry"),
      h("button.ghost.discard", { type: "button", onclick: () => act("Discard", discard, "Discarded") }, "Discard")));
}

export function syncErrorsView(ctx, root) {
  const list = h("ul.syncerrors", { id: "syncerrors" });
  root.replaceChildren(h("h2.view-title", {}, "Sync errors"),
    h("p.muted.small", {}, "Changes the server refused. Retry after fixing the cause, or discard to get the server's version back."),
    list);
  async function refresh() {
    const errors = await ctx.store.syncErrors();
    list.replaceChildren(...(errors.length
      ? errors.map((e) => errorCard(ctx, e, refresh))
      : [h("li.muted", {}, "No sync errors.")]));
  }
  refresh();
  let count = ctx.store.status().errors;
  return {
    refresh,
    onStatus(s) {
      if (s.errors !== count) {
        count = s.errors;
        refresh();
      }
    },
  };
}

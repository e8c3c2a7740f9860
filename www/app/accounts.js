// accounts.js: the home view: the first download's progress, then the technician's accounts with their recent work orders, a search box and paging.
import * as api from "./api.js";
import { h, relativeDay, statusChip } from "./dom.js";
import { wasDownloaded } from "./session.js";
import { progressPanel } from "./status.js";

const PAGE = 40;
// Kept across visits, so coming back from a form shows the same search and page.
let search = "";
let shown = PAGE;

/**
 * Every word typed must appear in the name or the city. `$filter`'s contains() is case-sensitive
 * and names are capitalised, so "river" also looks for "River".
 */
function searchFilter(text) {
  const words = text.trim().split(/\s+/).filter(Boolean);
  if (!words.length) return undefined;
  return words.map((w) => {
    const variants = [...new Set([w, w[0].toUpperCase() + w.slice(1)])].map(api.literal);
    return `(${variants.map((v) => `contains(name,${v}) or contains(city,${v})`).join(" or ")})`;
  }).join(" and ");
}

/** One page of accounts and, in a second request, the work orders of those accounts. */
async function load() {
  const accounts = await api.list("accounts", {
    filter: searchFilter(search), orderby: "name", top: shown, count: true, select: "id,name,city",
  });
  const ids = accounts.value.map((a) => a.id);
  const orders = ids.length
    ? await api.list("workorders", {
      filter: `accountId in (${ids.map(api.literal).join(",")})`,
      orderby: "modifiedOn desc", select: "id,accountId,title,status,modifiedOn",
    })
    : { value: [] };
  const byAccount = new Map(ids.map((id) => [id, []]));
  for (const w of orders.value) byAccount.get(w.accountId)?.push(w);
  return { accounts: accounts.value, count: accounts.count, byAccount };
}

const workorderItem = (w) =>
  h("li", {}, h("a.wo", { href: `#/workorder/${encodeURIComponent(w.id)}`, dataset: { id: w.id } },
    statusChip(w.status), h("span.title", {}, w.title), h("span.when", {}, relativeDay(w.modifiedOn))));

const accountCard = (a, orders) =>
  h("li.card", { dataset: { id: a.id } },
    h("a.account", { href: `#/account/${encodeURIComponent(a.id)}` }, h("strong", {}, a.name), h("span.muted", {}, a.city ?? "")),
    orders.length ? h("ul.orders", {}, orders.map(workorderItem)) : h("p.muted.small.none", {}, "No work orders in the last 30 days"));

/** The view: `refresh()` reloads the list after changes; `onStatus(s)` swaps the progress panel for the list. */
export function accountsView(ctx, root) {
  let downloading = !ctx.store.status().initialSync.done && !wasDownloaded(ctx.session);
  let seq = 0;
  const input = h("input", {
    id: "search", type: "search", placeholder: "Search accounts by name or city", value: search,
    autocomplete: "off", enterKeyHint: "search",
  });
  const summary = h("p.muted.small", { id: "list-summary" }, "Loading…");
  const list = h("ul.accounts", { id: "accounts" });
  const more = h("button.ghost.more", { type: "button", hidden: true }, "Show more");
  const notice = h("p.note", { id: "list-notice", hidden: true });
  const body = h("div", {}, input, summary, notice, list, more);

  async function refresh() {
    if (downloading) return;
    const mine = ++seq;
    try {
      const { accounts, count, byAccount } = await load();
      if (mine !== seq) return; // a newer search answered first
      notice.hidden = true;
      summary.textContent = `${count} account${count === 1 ? "" : "s"}${count > accounts.length ? `, showing ${accounts.length}` : ""}`;
      list.replaceChildren(...accounts.map((a) => accountCard(a, byAccount.get(a.id))));
      more.hidden = count <= accounts.length;
    } catch (e) {
      if (mine !== seq) return;
      // Keep what is on screen: an offline refresh should not blank the list.
      notice.textContent = e.offline
        ? "Offline: the list cannot be loaded right now. It refreshes when the connection returns."
        : `Could not load the accounts: ${e.code}: ${e.message}`;
      notice.hidden = false;
      if (!list.children.length) summary.textContent = "";
    }
  }

  let timer;
  input.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      search = input.value;
      shown = PAGE;
      refresh();
    }, 200);
  });
  more.addEventListener("click", () => {
    shown += PAGE;
    refresh();
  });

  function show(s) {
    root.replaceChildren(downloading ? progressPanel(s) : body);
  }
  show(ctx.store.status());
  refresh();
  return {
    refresh,
    onStatus(s) {
      if (downloading && s.initialSync.done) {
        downloading = false;
        show(s);
        refresh();
      } else if (downloading) {
        show(s);
      } else if (s.online && !notice.hidden) {
        refresh(); // the connection came back
      }
    },
  };
}

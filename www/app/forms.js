// forms.js: the edit forms: a work order (status, title, notes, with its photo panel) and an account (name, city, with its work orders), saved with PATCH through the data layer.
import * as api from "./api.js";
import { h, relativeDay, statusChip, STATUSES } from "./dom.js";
import { photoPanel } from "./photo.js";

const field = (label, control) => h("label", {}, h("span", {}, label), control);
const readOnly = (label, value) => h("div.ro", {}, h("span", {}, label), h("span", {}, value ?? "—"));
const message = (e) => (e.offline ? "Offline: not saved. Try again when the connection returns." : `${e.code}: ${e.message}`);

/** A form whose submit PATCHes the columns `columns()` gives, then goes back. */
function editForm(ctx, table, key, fields, columns) {
  const error = h("p.error", { role: "alert", hidden: true });
  const save = h("button", { type: "submit", id: "save" }, "Save");
  const form = h("form.panel.edit", { autocomplete: "off" }, ...fields, error,
    h("div.actions", {}, save, h("button.ghost", { type: "button", onclick: () => ctx.back() }, "Cancel")));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    save.disabled = true;
    error.hidden = true;
    try {
      await api.patch(table, key, columns());
      ctx.toast("Saved");
      ctx.back();
    } catch (e) {
      error.textContent = message(e);
      error.hidden = false;
    } finally {
      save.disabled = false;
    }
  });
  return form;
}

function notFound(root, what, e) {
  root.replaceChildren(h("section.panel", {},
    h("p", {}, e ? message(e) : `This ${what} is not among your data (any more).`),
    h("a", { href: "#/" }, "Back to the accounts")));
}

export async function workorderView(ctx, root, id) {
  let w;
  try {
    // One request: the work order with its account and part ($expand of its lookups, protocol §8), answered by
    // the server online and by the store's interceptor offline.
    const found = await api.list("workorders", {
      filter: `id eq ${api.literal(id)}`, top: 1, expand: "account($select=name),product($select=name,sku,price)",
    });
    w = found.value[0];
  } catch (e) {
    return notFound(root, "work order", e);
  }
  if (!w) return notFound(root, "work order");
  const { account, product, ...row } = w;
  w = row;
  const status = h("select", { name: "status" }, STATUSES.map((s) => h("option", { value: s, selected: s === w.status }, s)));
  const title = h("input", { name: "title", value: w.title ?? "", required: true, maxLength: 120 });
  const notes = h("textarea", { name: "notes", rows: 4, maxLength: 2000, value: w.notes ?? "" });
  const photo = photoPanel(ctx, w.id);
  root.replaceChildren(
    h("h2.view-title", {}, `Work order ${w.id}`),
    h("section.panel.facts", {},
      readOnly("Account", account ? h("a", { href: `#/account/${encodeURIComponent(account.id)}` }, account.name) : w.accountId),
      readOnly("Part", product ? `${product.name} (${product.sku}, €${product.price.toFixed(2)})` : w.productId),
      readOnly("Scheduled", w.scheduledFor ? new Date(w.scheduledFor).toLocaleString([], { dateStyle: "medium", timeStyle: "short" }) : null),
      readOnly("Modified", relativeDay(w.modifiedOn))),
    photo.el,
    editForm(ctx, "workorders", w.id, [field("Status", status), field("Title", title), field("Notes", notes)],
      // A work order edited now is "modified in the last 30 days": it stays in the profile's scope.
      () => ({ status: status.value, title: title.value.trim(), notes: notes.value, modifiedOn: new Date().toISOString() })),
  );
  return { onStatus: photo.refresh };
}

export async function accountView(ctx, root, id) {
  let a;
  let orders;
  try {
    [a, orders] = await Promise.all([
      api.get("accounts", id),
      api.list("workorders", { filter: `accountId eq ${api.literal(id)}`, orderby: "modifiedOn desc" }),
    ]);
  } catch (e) {
    return notFound(root, "account", e);
  }
  if (!a) return notFound(root, "account");
  const name = h("input", { name: "name", value: a.name ?? "", required: true, maxLength: 120 });
  const city = h("input", { name: "city", value: a.city ?? "", maxLength: 80 });
  root.replaceChildren(
    h("h2.view-title", {}, a.name),
    editForm(ctx, "accounts", a.id, [field("Name", name), field("City", city), readOnly("Address", a.address), readOnly("Phone", a.phone)],
      () => ({ name: name.value.trim(), city: city.value.trim() })),
    h("h3", {}, "Work orders, last 30 days"),
    orders.value.length
      ? h("ul.orders.panel", {}, orders.value.map((w) =>
        h("li", {}, h("a.wo", { href: `#/workorder/${encodeURIComponent(w.id)}` },
          statusChip(w.status), h("span.title", {}, w.title), h("span.when", {}, relativeDay(w.modifiedOn))))))
      : h("p.muted", {}, "None."),
  );
}

// index.js: the field-service demo: opens the offline store, seeds it, and wires search, edit, delete and the pending counter.
import { OfflineStore } from "offline-tables";

const DB_NAME = "offline-tables-demo";
const ME = "u1";
const PROFILE = {
  version: 1,
  tables: {
    accounts: {
      key: "id",
      indexes: ["ownerId", "city"],
      conflict: "merge",
      syncIntervalSeconds: 300,
      scope: { owner: "ownerId" },
    },
    workorders: {
      key: "id",
      indexes: ["accountId", "status", "modifiedOn"],
      conflict: "manual",
      scope: {
        related: { table: "accounts", column: "accountId" },
        modifiedWithinDays: { column: "modifiedOn", days: 30 },
      },
    },
    products: { key: "id", readOnly: true, scope: "all" },
  },
};
const STATUSES = ["new", "scheduled", "in-progress", "done"];
const PAGE_SIZE = 50;

const $ = (id) => document.getElementById(id);
const ui = {
  storeName: $("store-name"),
  pending: $("pending"),
  reset: $("reset"),
  error: $("error"),
  errorCode: $("error-code"),
  errorMessage: $("error-message"),
  search: $("search"),
  matchCount: $("match-count"),
  accounts: $("accounts"),
  formTitle: $("form-title"),
  form: $("account-form"),
  rowMeta: $("row-meta"),
  newButton: $("new"),
  deleteButton: $("delete"),
  woSection: $("workorders-section"),
  workorders: $("workorders"),
  woForm: $("workorder-form"),
  profile: $("profile"),
};

let store;
let accounts;
let workorders;
let selectedId = null;

// ---- errors -----------------------------------------------------------------

function showError(err) {
  console.error(err);
  ui.errorCode.textContent = err?.code ?? "error";
  ui.errorMessage.textContent = err?.message ?? String(err);
  ui.error.hidden = false;
}
$("error-close").addEventListener("click", () => (ui.error.hidden = true));

/** Runs an async UI action, reporting any failure (with its `code`) in the banner. */
function guarded(fn) {
  return async (...args) => {
    try {
      await fn(...args);
    } catch (err) {
      showError(err);
    }
  };
}

// ---- seed data ----------------------------------------------------------------

const FIRST = ["Acme", "Blue", "Cedar", "Delta", "Evergreen", "Falcon", "Granite", "Harbor", "Iris", "Juniper",
  "Keystone", "Lumen", "Maple", "Northwind", "Orchid", "Pioneer", "Quartz", "Riverside", "Summit", "Tidewater"];
const LAST = ["Plumbing", "Electric", "Bakery", "Clinic", "Logistics", "Hotel", "Dental", "Motors", "Farms", "Labs",
  "Printing", "Roofing", "Cafe", "Fitness", "Pharmacy"];
const CITIES = ["Lyon", "Paris", "Lille", "Nantes", "Bordeaux", "Marseille", "Toulouse", "Nice", "Rennes", "Strasbourg"];
const TASKS = ["Annual maintenance", "Replace filter", "Inspect wiring", "Repair leak", "Install unit",
  "Calibrate sensor", "Safety check", "Firmware update"];

function seedRows() {
  let n = 1;
  const rand = () => ((n = (n * 48271) % 2147483647) / 2147483647);
  const pick = (list) => list[Math.floor(rand() * list.length)];
  const day = 24 * 3600 * 1000;
  const accountRows = [];
  const workorderRows = [];
  for (let i = 1; i <= 300; i++) {
    const id = `A${String(i).padStart(4, "0")}`;
    accountRows.push({
      id,
      name: `${pick(FIRST)} ${pick(LAST)} ${i}`,
      city: pick(CITIES),
      phone: `+33 4 ${String(10 + Math.floor(rand() * 89))} ${String(10 + Math.floor(rand() * 89))} ${String(10 + Math.floor(rand() * 89))}`,
      ownerId: rand() < 0.6 ? ME : pick(["u2", "u3"]),
    });
    const count = Math.floor(rand() * 4);
    for (let w = 0; w < count; w++) {
      workorderRows.push({
        id: `W${String(workorderRows.length + 1).padStart(5, "0")}`,
        accountId: id,
        title: pick(TASKS),
        status: pick(STATUSES),
        modifiedOn: new Date(Date.now() - Math.floor(rand() * 30) * day).toISOString(),
      });
    }
  }
  return { accountRows, workorderRows };
}

async function seedIfEmpty() {
  if ((await accounts.count()) > 0) return;
  ui.matchCount.textContent = "Seeding demo data…";
  const { accountRows, workorderRows } = seedRows();
  await accounts.bulkPut(accountRows);
  await workorders.bulkPut(workorderRows);
}

// ---- accounts list and search ------------------------------------------------

function searchQuery(text) {
  const q = text.trim();
  const where = q ? { or: [{ name: { startsWith: q } }, { city: { contains: q } }] } : undefined;
  return { where, orderBy: "name", limit: PAGE_SIZE };
}

let searchSeq = 0;
const refreshList = guarded(async () => {
  const seq = ++searchSeq;
  const query = searchQuery(ui.search.value);
  const [rows, total] = await Promise.all([accounts.query(query), accounts.count({ where: query.where })]);
  if (seq !== searchSeq) return; // a newer search is already on its way
  ui.matchCount.textContent =
    total > rows.length ? `${total} accounts, showing the first ${rows.length}` : `${total} account${total === 1 ? "" : "s"}`;
  ui.accounts.replaceChildren(...rows.map(accountItem));
});

function accountItem(row) {
  const li = document.createElement("li");
  li.dataset.id = row.id;
  li.classList.toggle("selected", row.id === selectedId);
  const name = document.createElement("span");
  name.textContent = row.name;
  const sub = document.createElement("span");
  sub.className = "sub";
  sub.textContent = `${row.city ?? ""} · ${row.ownerId ?? ""}`;
  li.append(name, sub);
  li.addEventListener("click", () => select(row.id));
  return li;
}

let searchTimer;
ui.search.addEventListener("input", () => {
  clearTimeout(searchTimer);
  searchTimer = setTimeout(refreshList, 150);
});

// ---- account form -------------------------------------------------------------

const select = guarded(async (id) => {
  const row = id == null ? undefined : await accounts.get(id);
  selectedId = row ? id : null;
  for (const li of ui.accounts.children) li.classList.toggle("selected", li.dataset.id === selectedId);
  const f = ui.form.elements;
  f.name.value = row?.name ?? "";
  f.city.value = row?.city ?? "";
  f.phone.value = row?.phone ?? "";
  f.ownerId.value = row?.ownerId ?? ME;
  ui.formTitle.textContent = row ? `Account ${row.id}` : "New account";
  ui.deleteButton.hidden = !row;
  ui.woSection.hidden = !row;
  await Promise.all([refreshMeta(), refreshWorkorders()]);
});

async function refreshMeta() {
  if (selectedId == null) {
    ui.rowMeta.textContent = "";
    return;
  }
  const meta = await accounts.meta(selectedId);
  ui.rowMeta.textContent = meta
    ? `server version: ${meta.version ?? "none yet"} · ${meta.pending ? "local changes pending" : "in sync"}`
    : "";
}

ui.form.addEventListener("submit", guarded(async (event) => {
  event.preventDefault();
  const f = ui.form.elements;
  const fields = {
    name: f.name.value.trim(),
    city: f.city.value.trim(),
    phone: f.phone.value.trim(),
    ownerId: f.ownerId.value,
  };
  if (selectedId != null) {
    await accounts.update(selectedId, fields);
    await refreshMeta();
  } else {
    const id = await accounts.put({ id: `A-${crypto.randomUUID().slice(0, 8)}`, ...fields });
    await select(id);
  }
}));

ui.newButton.addEventListener("click", () => select(null));

ui.deleteButton.addEventListener("click", guarded(async () => {
  if (selectedId == null || !confirm("Delete this account and its work orders?")) return;
  const orders = await workorders.query({ where: { accountId: selectedId }, select: ["id"] });
  await workorders.bulkDelete(orders.map((w) => w.id));
  await accounts.delete(selectedId);
  await select(null);
}));

// ---- work orders of the selected account ------------------------------------

async function refreshWorkorders() {
  if (selectedId == null) {
    ui.workorders.replaceChildren();
    return;
  }
  const rows = await workorders.query({ where: { accountId: selectedId }, orderBy: [["modifiedOn", "desc"]] });
  ui.workorders.replaceChildren(...(rows.length ? rows.map(workorderItem) : [emptyItem("No work orders.")]));
}

function emptyItem(text) {
  const li = document.createElement("li");
  li.className = "muted";
  li.textContent = text;
  return li;
}

function workorderItem(row) {
  const li = document.createElement("li");
  const text = document.createElement("span");
  text.textContent = `${row.title} `;
  const when = document.createElement("span");
  when.className = "sub";
  when.textContent = String(row.modifiedOn ?? "").slice(0, 10);
  text.append(when);
  const status = document.createElement("select");
  for (const s of STATUSES) status.add(new Option(s, s, false, s === row.status));
  status.addEventListener("change", guarded(() =>
    workorders.update(row.id, { status: status.value, modifiedOn: new Date().toISOString() })));
  li.append(text, status);
  return li;
}

ui.woForm.addEventListener("submit", guarded(async (event) => {
  event.preventDefault();
  const title = ui.woForm.elements.title.value.trim();
  if (!title || selectedId == null) return;
  await workorders.put({
    id: `W-${crypto.randomUUID().slice(0, 8)}`,
    accountId: selectedId,
    title,
    status: "new",
    modifiedOn: new Date().toISOString(),
  });
  ui.woForm.reset();
}));

// ---- pending counter and change events --------------------------------------

const refreshPending = guarded(async () => {
  const n = await store.pendingCount();
  ui.pending.textContent = `${n} pending`;
  ui.pending.classList.toggle("zero", n === 0);
});

let changeTimer;
const changedTables = new Set();
function onChange(event) {
  changedTables.add(event.table);
  clearTimeout(changeTimer);
  changeTimer = setTimeout(guarded(async () => {
    const tables = new Set(changedTables);
    changedTables.clear();
    await refreshPending();
    if (tables.has("accounts")) {
      await refreshList();
      await refreshMeta();
    }
    if (tables.has("workorders")) await refreshWorkorders();
  }), 50);
}

ui.reset.addEventListener("click", guarded(async () => {
  if (!confirm("Delete the local database, including unsynced changes?")) return;
  store?.close();
  await OfflineStore.deleteDatabase(DB_NAME);
  location.reload();
}));

// ---- start ----------------------------------------------------------------------

guarded(async () => {
  ui.profile.textContent = JSON.stringify(PROFILE, null, 2);
  store = await OfflineStore.open({ name: DB_NAME, profile: PROFILE });
  accounts = store.table("accounts");
  workorders = store.table("workorders");
  ui.storeName.textContent = `IndexedDB "${store.name}", profile v${store.profile.version}`;
  await seedIfEmpty();
  store.on("change", onChange);
  ui.search.disabled = false;
  await Promise.all([refreshList(), refreshPending()]);
})();

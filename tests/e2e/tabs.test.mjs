// tabs.test.mjs: the local store across real tabs of one origin: change events between tabs, a schema upgrade with an old tab open, and a page reload.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startHarness } from "./harness.mjs";

let h;
before(async () => { h = await startHarness(); });
after(async () => { await h?.close(); });

const dbName = (label) => `e2e-${label}-${Date.now()}-${Math.random().toString(36).slice(2)}`;

async function openStore(page, name, profile = null) {
  await page.evaluate(async ([name, profile]) => {
    window.store = await window.ot.OfflineStore.open({ name, profile: profile ?? window.PROFILE });
    window.events = [];
    window.store.on("change", (e) => window.events.push(e));
  }, [name, profile]);
}

test("a write in one tab reaches the other tab as a 'tab' change event", { timeout: 30_000 }, async () => {
  const name = dbName("events");
  const a = await h.page();
  const b = await h.page();
  await openStore(a, name);
  await openStore(b, name);
  await a.evaluate(() => window.store.table("accounts").bulkPut([
    { id: "x1", name: "One", ownerId: "u1" },
    { id: "x2", name: "Two", ownerId: "u1" },
  ]));
  await b.waitForFunction(() => window.events.length > 0, null, { timeout: 5_000 });
  const seen = await b.evaluate(() => window.events);
  assert.deepEqual(seen, [{ table: "accounts", keys: ["x1", "x2"], source: "tab" }]);
  assert.deepEqual(await a.evaluate(() => window.events.map((e) => e.source)), ["local"]);
  // The other tab reads the committed rows and the pending changes from the shared database.
  assert.equal(await b.evaluate(() => window.store.table("accounts").count()), 2);
  assert.equal(await b.evaluate(() => window.store.pendingCount()), 2);
  await a.evaluate(() => window.store.close());
  await b.evaluate((n) => { window.store.close(); return window.ot.OfflineStore.deleteDatabase(n); }, name);
  await a.close();
  await b.close();
});

test("an upgrade in a new tab does not wait for an old tab, which then follows it", { timeout: 30_000 }, async () => {
  const name = dbName("upgrade");
  const old = await h.page();
  await openStore(old, name);
  await old.evaluate(() => window.store.table("accounts").put({ id: "a1", city: "Paris", ownerId: "u1" }));
  const fresh = await h.page();
  const v2 = {
    version: 2,
    tables: {
      accounts: { key: "id", indexes: ["ownerId", "city", "name"], scope: { owner: "ownerId" } },
      products: { key: "id", readOnly: true },
      workorders: { key: "id", indexes: ["accountId"] },
    },
  };
  const started = Date.now();
  await openStore(fresh, name, v2);
  assert.ok(Date.now() - started < 5_000, "the upgrade was blocked by the old tab");
  // The old tab let the upgrade through, then reopened on the new schema: it reads, sees the new profile, writes.
  const after = await old.evaluate(async () => ({
    row: await window.store.table("accounts").get("a1"),
    version: window.store.profile.version,
    wrote: await window.store.table("workorders").put({ id: "w1", accountId: "a1" }),
  }));
  assert.deepEqual(after, { row: { id: "a1", city: "Paris", ownerId: "u1" }, version: 2, wrote: "w1" });
  const kept = await fresh.evaluate(async () => ({
    row: await window.store.table("accounts").get("a1"),
    pending: await window.store.pendingCount(),
    viaNewIndex: await window.store.table("accounts").query({ where: { city: "Paris" } }),
  }));
  assert.deepEqual(kept.row, { id: "a1", city: "Paris", ownerId: "u1" });
  assert.equal(kept.pending, 2, "the old tab's write after the upgrade is pending too");
  assert.equal(kept.viaNewIndex.length, 1);
  await fresh.evaluate((n) => { window.store.close(); return window.ot.OfflineStore.deleteDatabase(n); }, name);
  await old.close();
  await fresh.close();
});

test("rows and pending changes survive a page reload", { timeout: 30_000 }, async () => {
  const name = dbName("reload");
  const page = await h.page();
  await openStore(page, name);
  await page.evaluate(async () => {
    const t = window.store.table("accounts");
    await t.put({ id: "r1", name: "Before", ownerId: "u1" });
    await t.update("r1", { name: "After" });
    await t.put({ id: "r2", name: "Gone", ownerId: "u1" });
    await t.delete("r2");
  });
  await page.reload();
  await page.waitForFunction(() => window.ot !== undefined);
  await openStore(page, name);
  const state = await page.evaluate(async () => ({
    rows: await window.store.table("accounts").query(),
    pending: await window.store.pending(),
  }));
  assert.deepEqual(state.rows, [{ id: "r1", name: "After", ownerId: "u1" }]);
  assert.deepEqual(state.pending, [{
    table: "accounts", key: "r1", op: "insert", row: { id: "r1", name: "After", ownerId: "u1" },
    baseVersion: null, baseRow: null,
  }]);
  await page.evaluate((n) => { window.store.close(); return window.ot.OfflineStore.deleteDatabase(n); }, name);
  await page.close();
});

// sync_stress.test.mjs: two tabs writing the same rows while one of them syncs; devices whose clocks are hours
// off (versions, not clocks, decide conflicts); 10,000 mutations queued through a long offline spell.
// Users xavier (tabs), yara (clocks), zoe (queue).
import { test } from "node:test";
import assert from "node:assert/strict";
import { chromium } from "playwright-core";
import { harnessForFile, restAs, CHROMIUM_FLAGS } from "./harness.mjs";

const SERVER = process.env.OT_TEST_SERVER;
let h;
harnessForFile((harness) => { h = harness; });

const unique = (label) => `${label}-${Date.now()}-${Math.random().toString(36).slice(2)}`;

async function openStore(page, name, token, sync = { auto: false }) {
  await page.evaluate(async ([name, url, token, sync]) => {
    window.store = await window.ot.OfflineStore.open({ name, server: { url, token }, sync });
  }, [name, SERVER, token, sync]);
}

async function faults(method, rules) {
  const r = await fetch(`${SERVER}/_test/faults`, {
    method,
    headers: { "content-type": "application/json" },
    body: rules && JSON.stringify({ rules }),
  });
  const text = await r.text();
  assert.equal(r.status, 200, text);
  return JSON.parse(text);
}

/** Syncs until nothing is pending; sums what the cycles reported. */
async function syncUntilQuiet(page) {
  const sum = { pushed: 0, conflicts: 0, errors: 0 };
  for (let i = 0; i < 8; i++) {
    const r = await page.evaluate(() => window.store.sync());
    for (const k of Object.keys(sum)) sum[k] += r[k];
    if (r.result === "completed" && r.status.pending === 0) return sum;
  }
  assert.fail(`the store did not settle: ${JSON.stringify(await page.evaluate(() => window.store.status()))}`);
}

const byId = (a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

test("two tabs write the same rows while one syncs: the last write of each row wins everywhere, nothing is lost", { timeout: 120_000 }, async () => {
  const token = "dev-token-xavier";
  const rest = restAs(SERVER, token);
  const name = unique("stress-tabs");
  const tag = unique("t");
  const a = await h.page();
  const b = await h.page();
  // Tab a leads and syncs on its own (writes start a cycle); tab b only writes.
  await openStore(a, name, token, { auto: true });
  await openStore(b, name, token, { auto: true });
  assert.equal((await a.evaluate(() => window.store.sync())).result, "completed");
  const ids = Array.from({ length: 8 }, (_, i) => `${tag}-${i}`);
  // Rules a failed earlier run left for this user go first.
  if ((await faults("GET")).rules.some((r) => r.user === "xavier")) await faults("DELETE");
  // A slow push: many writes land while its batch is in flight.
  await faults("POST", [{ path: "/sync/push", user: "xavier", fault: { kind: "delay", ms: 600 } }]);
  const last = {};
  for (let round = 0; round < 30; round++) {
    for (const [tab, label] of [[a, "a"], [b, "b"]]) {
      const id = ids[(round * 3 + (label === "a" ? 0 : 1)) % ids.length];
      const op = round % 7 === 6 ? "delete" : "put";
      const value = `${label}${round}`;
      if (op === "delete") await tab.evaluate((id) => window.store.table("accounts").delete(id), id);
      else await tab.evaluate(([id, tag, value]) => window.store.table("accounts").put({ id, ownerId: "xavier", name: value, city: tag }), [id, tag, value]);
      last[id] = op === "delete" ? null : value;
    }
  }
  const sum = await syncUntilQuiet(a);
  assert.equal(sum.errors, 0);
  assert.deepEqual(await a.evaluate(() => window.store.conflicts()), []);
  // The server holds each row's last write, and both tabs read the server's rows.
  for (const id of ids) {
    const r = await rest("GET", `/api/data/accounts/${id}`);
    if (last[id] === null) assert.equal(r.status, 404, `${id} was deleted last`);
    else assert.equal(r.body?.name, last[id], `${id}: the last write is not on the server`);
  }
  const server = (await rest("GET", `/api/data/accounts?$filter=city eq '${tag}'`)).body.value.sort(byId);
  for (const tab of [a, b]) {
    const local = await tab.evaluate((tag) => window.store.table("accounts").query({ where: { city: tag } }), tag);
    assert.deepEqual(local.sort(byId), server);
  }
  assert.deepEqual((await faults("GET")).rules.filter((r) => r.user === "xavier"), [], "the slow push never happened");
  await a.evaluate(() => window.store.close());
  await b.evaluate((n) => { window.store.close(); return window.ot.OfflineStore.deleteDatabase(n); }, name);
  await a.close();
  await b.close();
});

/** A device (its own browser context, so its own IndexedDB) whose clock is `hours` off. */
async function skewedDevice(browser, hours) {
  const context = await browser.newContext();
  await context.addInitScript((ms) => {
    const Real = Date;
    class Skewed extends Real {
      constructor(...args) { if (args.length === 0) super(Real.now() + ms); else super(...args); }
      static now() { return Real.now() + ms; }
    }
    globalThis.Date = Skewed;
  }, hours * 3_600_000);
  const page = await context.newPage();
  await page.goto(h.url);
  await page.waitForFunction(() => window.ot !== undefined, null, { timeout: 10_000 });
  return { context, page };
}

test("devices with clocks 5 hours ahead and 3 hours behind: versions, not clocks, decide every conflict", { timeout: 90_000 }, async () => {
  const token = "dev-token-yara";
  const rest = restAs(SERVER, token);
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium", args: CHROMIUM_FLAGS });
  try {
    const ahead = await skewedDevice(browser, 5);
    const behind = await skewedDevice(browser, -3);
    const skew = await ahead.page.evaluate(() => Date.now()) - await behind.page.evaluate(() => Date.now());
    assert.ok(skew > 7.9 * 3_600_000, "the two clocks are 8 hours apart");
    const tag = unique("skew");
    const account = `${tag}-acc`;
    assert.equal((await rest("POST", "/api/data/accounts", { id: account, ownerId: "yara", name: "Skew" })).status, 201);
    const wo = `${tag}-wo`;
    const modifiedOn = new Date().toISOString();
    assert.equal((await rest("POST", "/api/data/workorders", { id: wo, accountId: account, status: "open", title: "base", modifiedOn })).status, 201);
    const note = `${tag}-note`;
    assert.equal((await rest("POST", "/api/data/notes", { id: note, ownerId: "yara", text: "base" })).status, 201);
    const draft = `${tag}-draft`;
    assert.equal((await rest("POST", "/api/data/drafts", { id: draft, ownerId: "yara", text: "base" })).status, 201);
    for (const d of [ahead, behind]) {
      await openStore(d.page, unique("skew-db"), token);
      assert.equal((await d.page.evaluate(() => window.store.sync())).result, "completed");
    }
    const edit = (d, table, id, changes) => d.page.evaluate(([t, id, c]) => window.store.table(t).update(id, c), [table, id, changes]);
    const sync = (d) => d.page.evaluate(() => window.store.sync());

    // Both edit the same rows from the same version. The device behind pushes first: its changes are applied, even
    // though its clock says they are 8 hours older than the other device's.
    await edit(behind, "workorders", wo, { title: "behind" });
    await edit(ahead, "workorders", wo, { title: "ahead" });
    await edit(behind, "notes", note, { text: "behind" });
    await edit(ahead, "notes", note, { text: "ahead" });
    const first = await sync(behind);
    assert.equal(first.conflicts, 0, JSON.stringify(first));
    // The device ahead pushes second, against a version the server moved past: conflicts, whatever its clock says.
    const second = await sync(ahead);
    assert.equal(second.conflicts, 2, JSON.stringify(second));
    // manual: kept for the app, the server untouched; server-wins: the server's row (the behind device's) stays.
    const kept = await ahead.page.evaluate(() => window.store.conflicts());
    assert.deepEqual(kept.map((c) => [c.table, c.key]), [["workorders", wo]]);
    assert.equal((await rest("GET", `/api/data/workorders/${wo}`)).body.title, "behind");
    assert.equal((await rest("GET", `/api/data/notes/${note}`)).body.text, "behind");
    assert.equal((await ahead.page.evaluate((id) => window.store.table("notes").get(id), note)).text, "behind");

    // client-wins, the other way round: the device ahead writes first; the device behind, whose clock says its
    // write is the older one, pushes last and wins, as the policy says (the last push, not the latest clock).
    await edit(ahead, "drafts", draft, { text: "ahead" });
    await edit(behind, "drafts", draft, { text: "behind" });
    const aheadFirst = await sync(ahead);
    assert.equal(aheadFirst.conflicts, 0, JSON.stringify(aheadFirst));
    assert.equal((await rest("GET", `/api/data/drafts/${draft}`)).body.text, "ahead", JSON.stringify(aheadFirst));
    // (The server settles client-wins itself: the last push is taken, no conflict is reported.)
    const last = await sync(behind);
    assert.deepEqual([last.result, last.pushed, last.conflicts], ["completed", 1, 0], JSON.stringify(last));
    assert.equal((await rest("GET", `/api/data/drafts/${draft}`)).body.text, "behind");
    assert.equal((await syncUntilQuiet(ahead.page)).errors, 0);
    assert.equal((await ahead.page.evaluate((id) => window.store.table("drafts").get(id), draft)).text, "behind");
    // Each status reports its own clock's time; nothing compares it with the server's.
    const [sa, sb] = [await ahead.page.evaluate(() => window.store.status()), await behind.page.evaluate(() => window.store.status())];
    assert.ok(sa.lastSyncAt - sb.lastSyncAt > 7 * 3_600_000, "lastSyncAt is each device's own clock");
  } finally {
    await browser.close();
  }
});

test("10,000 mutations queued through a long offline spell reach the server once, in order", { timeout: 180_000 }, async () => {
  const token = "dev-token-zoe";
  const rest = restAs(SERVER, token);
  const page = await h.page();
  const name = unique("stress-queue");
  const tag = unique("q");
  await openStore(page, name, token, { auto: true });
  assert.equal((await page.evaluate(() => window.store.sync())).result, "completed");
  await h.context.setOffline(true);
  try {
    // One call per mutation, as an app's form saves would make them: 6,000 inserts, 3,000 updates, 1,000 deletes.
    const made = await page.evaluate(async (tag) => {
      const t = window.store.table("accounts");
      let n = 0;
      for (let i = 0; i < 6000; i++, n++) await t.put({ id: `${tag}-${i}`, ownerId: "zoe", name: `v0 ${i}`, city: tag });
      for (let i = 0; i < 3000; i++, n++) await t.update(`${tag}-${(i * 7) % 6000}`, { name: `v1 ${i}` });
      for (let i = 0; i < 1000; i++, n++) await t.delete(`${tag}-${5000 + i}`);
      return { n, pending: await window.store.pendingCount(), status: window.store.status().state };
    }, tag);
    assert.equal(made.n, 10_000);
    assert.equal(made.status, "offline");
    // 5,000 rows to insert: the 1,000 deleted were never on the server, so their writes cancel out.
    assert.equal(made.pending, 5000);
  } finally {
    await h.context.setOffline(false);
  }
  // Back online, the store pushes by itself.
  const deadline = Date.now() + 120_000;
  while ((await page.evaluate(() => window.store.pendingCount())) !== 0) {
    assert.ok(Date.now() < deadline, "the queue never drained");
    await new Promise((r) => setTimeout(r, 200));
  }
  const status = await page.evaluate(() => window.store.status());
  assert.equal(status.syncErrors ?? 0, 0, JSON.stringify(status));
  const server = (await rest("GET", `/api/data/accounts?$filter=city eq '${tag}'`)).body.value;
  assert.equal(server.length, 5000, "the 1,000 deleted rows never reached the server, the 5,000 others did");
  // Each row holds its last write: update i wrote row (i*7) % 6000.
  const want = new Map();
  for (let i = 0; i < 5000; i++) want.set(`${tag}-${i}`, `v0 ${i}`);
  for (let i = 0; i < 3000; i++) if ((i * 7) % 6000 < 5000) want.set(`${tag}-${(i * 7) % 6000}`, `v1 ${i}`);
  for (const row of server) assert.equal(row.name, want.get(row.id), row.id);
  const local = await page.evaluate((tag) => window.store.table("accounts").query({ where: { city: tag } }), tag);
  assert.deepEqual(local.sort(byId), server.sort(byId));
  await page.evaluate((n) => { window.store.close(); return window.ot.OfflineStore.deleteDatabase(n); }, name);
  await page.close();
});

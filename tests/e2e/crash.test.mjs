// crash.test.mjs: the page dies at each step of a push and of a pull (renderer crashed through the DevTools
// protocol, tab closed, page reloaded); a new page on the same database then syncs, and nothing is lost or doubled.
//
// "Nothing lost" here: after the recovery sync, every local write made before the crash is on the server with its
// value, the store's tables equal the server's rows for the user (so no checkpoint moved past rows it did not
// store), and no write was applied twice (a second insert of a row would come back as a conflict: the recovery
// syncs report none, and no sync error either). User wendy.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startHarness, restAs } from "./harness.mjs";

const SERVER = process.env.OT_TEST_SERVER;
const USER = "wendy";
const TOKEN = `dev-token-${USER}`;
const TABLES = ["accounts", "workorders", "products", "notes", "drafts"];
/** Rows of wendy's made before the tests, so a first download takes several pages. */
const BULK = 2500;

let h;
const rest = restAs(SERVER, TOKEN);

async function faults(method, rules) {
  const r = await fetch(`${SERVER}/_test/faults`, {
    method,
    headers: { "content-type": "application/json" },
    body: rules && JSON.stringify({ rules: rules.map((r) => ({ ...r, user: USER })) }),
  });
  const text = await r.text();
  assert.equal(r.status, 200, text);
  return JSON.parse(text);
}

before(async () => {
  assert.ok(SERVER, "OT_TEST_SERVER is not set: run through npm test, which starts the reference server");
  h = await startHarness();
  // Another device of wendy's uploads the bulk rows (once per server: the test server starts empty for her).
  const have = await rest("GET", "/api/data/accounts?$count=true&$top=0");
  if (have.body.count < BULK) {
    const page = await h.page();
    await openStore(page, `crash-seed-${Date.now()}`);
    await page.evaluate((n) => window.store.table("accounts").bulkPut(
      Array.from({ length: n }, (_, i) => ({ id: `bulk-${String(i).padStart(5, "0")}`, ownerId: "wendy", name: `Bulk ${i}`, city: "Lyon" })),
    ), BULK);
    await syncUntilQuiet(page);
    await page.close();
  }
});
after(async () => { await h?.close(); });

async function openStore(page, name) {
  await page.evaluate(async ([name, url, token, user]) => {
    // Manual sync: only the test decides when a cycle starts.
    window.store = await window.ot.OfflineStore.open({ name, user, server: { url, token }, sync: { auto: false } });
  }, [name, SERVER, TOKEN, USER]);
}

/** Syncs until nothing is pending; returns the conflicts and sync errors the cycles reported. */
async function syncUntilQuiet(page) {
  let conflicts = 0;
  let errors = 0;
  for (let i = 0; i < 6; i++) {
    const r = await page.evaluate(() => window.store.sync());
    conflicts += r.conflicts;
    errors += r.errors;
    if (r.result === "completed" && r.status.pending === 0) return { conflicts, errors };
  }
  assert.fail(`the store did not settle: ${JSON.stringify(await page.evaluate(() => window.store.status()))}`);
}

/** Ends the page the way `how` says; resolves to a live page on the same origin. */
async function kill(page, how) {
  if (how === "crash") {
    const crashed = new Promise((resolve) => page.once("crash", resolve));
    const cdp = await page.context().newCDPSession(page);
    cdp.send("Page.crash").catch(() => {});
    await crashed;
    await page.close();
    return h.page();
  }
  if (how === "close") {
    await page.close();
    return h.page();
  }
  await page.reload();
  await page.waitForFunction(() => window.ot !== undefined, null, { timeout: 10_000 });
  return page;
}

/** Kills the page at the first request (or response) whose URL ends with `path`, `delay` ms after it. */
function killAt(page, how, event, path, delay = 0) {
  return new Promise((resolve, reject) => {
    const onEvent = (r) => {
      if (!r.url().endsWith(path)) return;
      page.off(event, onEvent);
      setTimeout(() => kill(page, how).then(resolve, reject), delay);
    };
    page.on(event, onEvent);
  });
}

/** Every fault rule the test posted for the user fired. */
async function assertRulesUsed() {
  assert.deepEqual((await faults("GET")).rules.filter((r) => r.user === USER), [], "a fault rule was not used");
}

/** The user's rows on the server and in the store, table by table, sorted by key. */
async function serverRows() {
  const out = {};
  for (const t of TABLES) {
    const r = await rest("GET", `/api/data/${t}`);
    assert.equal(r.status, 200);
    out[t] = r.body.value.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }
  return out;
}
async function localRows(page) {
  return page.evaluate(async (tables) => {
    const out = {};
    for (const t of tables) out[t] = await window.store.table(t).query({});
    return out;
  }, TABLES);
}

/** After the recovery: quiet, no conflict or error, every write on the server, the store equal to the server. */
async function assertNothingLost(page, label, written, recovery) {
  assert.deepEqual(recovery, { conflicts: 0, errors: 0 }, `${label}: a write was applied twice or refused`);
  assert.deepEqual(await page.evaluate(() => window.store.conflicts()), [], label);
  assert.deepEqual(await page.evaluate(() => window.store.syncErrors()), [], label);
  const server = await serverRows();
  for (const [id, name] of Object.entries(written)) {
    const row = server.accounts.find((r) => r.id === id);
    if (name === null) assert.equal(row, undefined, `${label}: ${id} was deleted before the crash`);
    else assert.equal(row?.name, name, `${label}: ${id} lost its write`);
  }
  const local = await localRows(page);
  for (const t of TABLES) {
    assert.equal(local[t].length, server[t].length, `${label}: ${t} has ${local[t].length} rows locally, ${server[t].length} on the server`);
    assert.deepEqual(local[t], server[t], `${label}: ${t} differs from the server`);
  }
}

/** A store that has downloaded everything, then made inserts, updates and deletes offline-style (not yet pushed). */
async function storeWithWrites(label) {
  const name = `crash-${label}-${Date.now()}-${Math.random().toString(36).slice(2)}`;
  const page = await h.page();
  await openStore(page, name);
  await syncUntilQuiet(page);
  const tag = `${label}-${Date.now()}`;
  const written = {};
  const rows = Array.from({ length: 30 }, (_, i) => ({ id: `${tag}-${i}`, ownerId: USER, name: `${tag} new ${i}` }));
  for (const r of rows) written[r.id] = r.name;
  await page.evaluate((rows) => window.store.table("accounts").bulkPut(rows), rows);
  // Updates and deletes of rows the server has (made by the same recipe in every run, on fresh rows).
  const update = rows.slice(0, 5).map((r) => r.id);
  await page.evaluate(() => window.store.sync());
  for (const id of update) {
    await page.evaluate(([id, name]) => window.store.table("accounts").update(id, { name }), [id, `${id} updated`]);
    written[id] = `${id} updated`;
  }
  for (const id of rows.slice(5, 8).map((r) => r.id)) {
    await page.evaluate((id) => window.store.table("accounts").delete(id), id);
    written[id] = null;
  }
  for (let i = 30; i < 40; i++) {
    const row = { id: `${tag}-${i}`, ownerId: USER, name: `${tag} late ${i}` };
    await page.evaluate((row) => window.store.table("accounts").put(row), row);
    written[row.id] = row.name;
  }
  assert.ok((await page.evaluate(() => window.store.pendingCount())) > 0);
  return { name, page, written };
}

const HOW = ["crash", "close", "reload"];

const PUSH_STEPS = {
  // The batch is frozen and sent; the server has not run it (its answer is delayed before the handler).
  async "push sent, not yet applied"(page, how) {
    await faults("POST", [{ path: "/sync/push", fault: { kind: "delay", ms: 3000 } }]);
    return { killed: killAt(page, how, "request", "/sync/push") };
  },
  // The server committed the batch; its answer is held, and the page dies before reading it.
  async "push committed, answer not received"(page, how, written) {
    await faults("POST", [{ path: "/sync/push", fault: { kind: "holdAfterCommit", ms: 3000 } }]);
    const id = Object.keys(written).find((k) => written[k]?.includes(" late "));
    const killed = (async () => {
      const deadline = Date.now() + 10_000;
      while ((await rest("GET", `/api/data/accounts/${id}`)).status !== 200) {
        assert.ok(Date.now() < deadline, "the push never committed");
        await new Promise((r) => setTimeout(r, 20));
      }
      return kill(page, how);
    })();
    return { killed };
  },
  // The answer arrived; the page dies while settling it.
  async "push answered, settling"(page, how) {
    return { killed: killAt(page, how, "response", "/sync/push") };
  },
};

for (const [step, arm] of Object.entries(PUSH_STEPS)) {
  for (const how of HOW) {
    test(`${how} at "${step}": every write lands once`, { timeout: 60_000 }, async () => {
      const label = `${how}-${step.split(" ")[1]}`;
      const { name, page, written } = await storeWithWrites(label.replace(/\W/g, ""));
      const { killed } = await arm(page, how, written);
      page.evaluate(() => window.store.sync()).catch(() => {});
      const live = await killed;
      await openStore(live, name);
      const recovery = await syncUntilQuiet(live);
      await assertNothingLost(live, `${how} at ${step}`, written, recovery);
      await live.evaluate((n) => { window.store.close(); return window.ot.OfflineStore.deleteDatabase(n); }, name);
      await live.close();
      await assertRulesUsed();
    });
  }
}

/**
 * Kills the page `delay` ms after the first page's answer arrived. The next page is fetched while the first is
 * written: a rule lets the first pull through and delays the next, so the download cannot end before the kill.
 */
function pageArrived(delay) {
  return async (page, how) => {
    await faults("POST", [{ path: "/sync/pull", skip: 1, fault: { kind: "delay", ms: 3000 } }]);
    return { killed: killAt(page, how, "response", "/sync/pull", delay) };
  };
}

// A first download of several pages, killed while a request is out, while a page is being applied (at several
// moments after its answer arrived), and between pages.
const PULL_STEPS = [
  ["pull sent", async (page, how) => {
    await faults("POST", [{ path: "/sync/pull", fault: { kind: "delay", ms: 3000 } }]);
    return { killed: killAt(page, how, "request", "/sync/pull") };
  }],
  ["page arrived, applying", pageArrived(0)],
  ["page arrived, 40 ms in", pageArrived(40)],
  ["second page requested", async (page, how) => {
    let n = 0;
    return { killed: new Promise((resolve, reject) => {
      const onRequest = (r) => {
        if (!r.url().endsWith("/sync/pull") || ++n < 2) return;
        page.off("request", onRequest);
        kill(page, how).then(resolve, reject);
      };
      page.on("request", onRequest);
    }) };
  }],
];

for (const [step, arm] of PULL_STEPS) {
  for (const how of HOW) {
    test(`${how} at "${step}" of a first download: it resumes, nothing missing`, { timeout: 60_000 }, async () => {
      const name = `crash-pull-${Date.now()}-${Math.random().toString(36).slice(2)}`;
      const page = await h.page();
      await openStore(page, name);
      const { killed } = await arm(page, how);
      page.evaluate(() => window.store.sync()).catch(() => {});
      const live = await killed;
      await openStore(live, name);
      const before = await live.evaluate(() => window.store.table("accounts").count());
      const total = (await rest("GET", "/api/data/accounts?$count=true&$top=0")).body.count;
      assert.ok(before < total, `${how} at ${step}: the download had ended before the page died (${before} of ${total} rows)`);
      const recovery = await syncUntilQuiet(live);
      await assertNothingLost(live, `${how} at ${step}`, {}, recovery);
      assert.equal((await live.evaluate(() => window.store.status())).initialSync.done, true);
      await live.evaluate((n) => { window.store.close(); return window.ot.OfflineStore.deleteDatabase(n); }, name);
      await live.close();
      await assertRulesUsed();
    });
  }
}

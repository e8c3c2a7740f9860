// conflict_regressions.test.mjs: client bugs the chaos run found (tests/e2e/chaos.mjs), fixed, kept as deterministic
// tests. Each runs against a reference server of its own.
//
// The first two came from the pull's apply step (src/storage/remote.rs, `apply_changes`): a `remove` for a row with a
// local change or a kept conflict deleted the row's base, where docs/protocol.md §4 rule 4 says the base must record
// that the server row is gone; it now keeps `{ version, row: null }`. The third: a row with a kept conflict was
// pushed again as soon as it was written again, and the conflict stayed listed, so resolving it "local" pushed the
// same write once more; rows with kept conflicts now stay out of push batches until the app resolves them.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startHarness, startReferenceServer, restAs } from "./harness.mjs";

let h, server, rest;
before(async () => {
  server = await startReferenceServer();
  h = await startHarness();
  rest = restAs(server.url, "dev-token-quinn");
});
after(async () => { await h?.close(); await server?.close(); });

async function open(page, name) {
  await page.evaluate(async ([name, url]) => {
    window.store = await window.ot.OfflineStore.open({ name, server: { url, token: "dev-token-quinn", timeoutMs: 3000 }, sync: { auto: false } });
  }, [name, server.url]);
  assert.equal((await page.evaluate(() => window.store.sync())).result, "completed");
}

// Chaos seed 654902627 (30 steps, before resolutions "server" were left out of the default run): a work order's
// insert met n2's row and was kept as a manual conflict; the same batch deleted its account, so the next pull
// removed the work order (scope). Resolving the conflict with "server" then wrote the conflict's old copy of the
// server row back into the table, at its old version: a row the server no longer has, kept forever.
test("resolving a kept conflict with 'server' after the server removed the row leaves no row", { timeout: 60_000 }, async () => {
  const page = await h.page();
  const name = `known-bug-conflict-${Date.now()}`;
  assert.equal((await rest("POST", "/api/data/accounts", { id: "kb-a1", ownerId: "quinn" })).status, 201);
  assert.equal((await rest("POST", "/api/data/workorders", { id: "kb-w1", accountId: "kb-a1", title: "v1", modifiedOn: new Date().toISOString() })).status, 201);
  await open(page, name);
  await page.evaluate(() => window.store.table("workorders").update("kb-w1", { title: "mine" }));
  assert.equal((await rest("PATCH", "/api/data/workorders/kb-w1", { title: "theirs" })).status, 200);
  const first = await page.evaluate(() => window.store.sync());
  assert.equal(first.conflicts, 1, "the update met the server's change: a manual conflict");
  assert.equal((await rest("DELETE", "/api/data/workorders/kb-w1")).status, 204);
  assert.equal((await page.evaluate(() => window.store.sync())).result, "completed"); // pulls the remove
  const [conflict] = await page.evaluate(() => window.store.conflicts());
  await page.evaluate((id) => window.store.resolveConflict(id, "server"), conflict.id);
  assert.equal((await page.evaluate(() => window.store.sync())).result, "completed");
  const local = await page.evaluate(() => window.store.table("workorders").get("kb-w1"));
  assert.equal(local, undefined, `the server has no kb-w1, the store still holds ${JSON.stringify(local)}`);
  await page.close();
});

// Same cause, found while reading the code behind the seed above: a pending update whose row is removed by a pull
// (here: deleted on the server while the pull was in flight) loses its base, so the next push coalesces it into a
// plain insert, which re-creates the deleted row with no conflict at all (protocol §4 rule 4 forbids exactly that).
// notes are server-wins: the server's deletion should stand and the local change be dropped.
test("a pending update whose row a pull removed is not pushed as an insert that re-creates it", { timeout: 60_000 }, async () => {
  const page = await h.page();
  const name = `known-bug-reinsert-${Date.now()}`;
  assert.equal((await rest("POST", "/api/data/notes", { id: "kb-n1", ownerId: "quinn", text: "v1" })).status, 201);
  await open(page, name);
  assert.equal((await rest("DELETE", "/api/data/notes/kb-n1")).status, 204);
  // The pull that brings the deletion is held 1.5 s; the update is made meanwhile, after the (empty) push.
  assert.equal((await rest("POST", "/_test/faults", { rules: [{ path: "/sync/pull", user: "quinn", fault: { kind: "delay", ms: 1500 } }] })).status, 200);
  const syncing = page.evaluate(() => window.store.sync());
  await new Promise((r) => setTimeout(r, 500));
  await page.evaluate(() => window.store.table("notes").update("kb-n1", { text: "mine" }));
  assert.equal((await syncing).result, "completed");
  const pending = await page.evaluate(() => window.store.pending());
  assert.notEqual(pending[0]?.op, "insert", `the update became ${JSON.stringify(pending)}`);
  await page.evaluate(() => window.store.sync());
  assert.equal((await rest("GET", "/api/data/notes/kb-n1")).status, 404, "the note deleted on the server was re-created");
  await page.close();
});

// Chaos seed 5006 (40 steps, before "local" resolutions were left out of the default run): n1's insert of wo-0 met
// n2's and was kept as a manual conflict; n1 then updated wo-0 again, and that update was pushed and applied over
// the conflict the app had not resolved (the server's row was overwritten with no decision); resolving the conflict
// "local" afterwards pushed the same write a second time: the push journal shows one write applied by two mutations.
test("a write on top of a kept conflict waits for the app, and is applied once", { timeout: 60_000 }, async () => {
  const page = await h.page();
  const name = `known-bug-on-top-${Date.now()}`;
  assert.equal((await rest("POST", "/api/data/accounts", { id: "kb-a2", ownerId: "quinn" })).status, 201);
  assert.equal((await rest("POST", "/api/data/workorders", { id: "kb-w2", accountId: "kb-a2", title: "v1", modifiedOn: new Date().toISOString() })).status, 201);
  await open(page, name);
  await rest("DELETE", "/_test/journal");
  await page.evaluate(() => window.store.table("workorders").update("kb-w2", { title: "mine 1" }));
  assert.equal((await rest("PATCH", "/api/data/workorders/kb-w2", { title: "theirs" })).status, 200);
  assert.equal((await page.evaluate(() => window.store.sync())).conflicts, 1, "a manual conflict is kept");
  await page.evaluate(() => window.store.table("workorders").update("kb-w2", { title: "mine 2" }));
  await page.evaluate(() => window.store.sync());
  const during = (await rest("GET", "/api/data/workorders/kb-w2")).body;
  const [conflict] = await page.evaluate(() => window.store.conflicts());
  await page.evaluate((id) => window.store.resolveConflict(id, "local"), conflict.id);
  await page.evaluate(() => window.store.sync());
  const applied = (await rest("GET", "/_test/journal")).body.entries
    .filter((e) => e.key === "kb-w2" && e.status === "applied" && (e.row ?? e.columns)?.title === "mine 2");
  const ids = new Set(applied.map((e) => `${e.clientId}#${e.id}`));
  assert.equal(ids.size, 1, `"mine 2" applied by ${ids.size} mutations: ${[...ids].join(", ")}`);
  assert.equal(during.title, "theirs", "the server's row was overwritten while the conflict waited for the app");
  await page.close();
});

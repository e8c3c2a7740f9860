// sync.test.mjs: background sync in a real page against the reference server, with Playwright flipping the network (context.setOffline).
import { test } from "node:test";
import assert from "node:assert/strict";
import { harnessForFile } from "./harness.mjs";

const SERVER = process.env.OT_TEST_SERVER;
let h;
harnessForFile((harness) => { h = harness; });

async function rest(method, path, body) {
  const r = await fetch(SERVER + path, {
    method,
    headers: { authorization: "Bearer dev-token-alice", "content-type": "application/json" },
    body: body && JSON.stringify(body),
  });
  return r.status;
}

async function openStore(page, name) {
  await page.evaluate(async ([name, url]) => {
    window.store = await window.ot.OfflineStore.open({ name, server: { url, token: "dev-token-alice" } });
    window.states = [];
    window.store.on("status", (s) => window.states.push(s.state));
  }, [name, SERVER]);
}

test("writes made offline are pushed once the network returns, with no request while offline", { timeout: 60_000 }, async () => {
  const page = await h.page();
  const name = `e2e-sync-${Date.now()}`;
  const key = `offline-${Date.now()}-${Math.random().toString(36).slice(2)}`;
  await openStore(page, name);
  assert.equal((await page.evaluate(() => window.store.sync())).result, "completed");

  const requests = [];
  page.on("request", (r) => { if (r.url().startsWith(SERVER)) requests.push(r.url()); });
  await h.context.setOffline(true);
  await page.waitForFunction(() => window.store.status().state === "offline", null, { timeout: 5_000 });
  await page.evaluate((key) => window.store.table("accounts").put({ id: key, ownerId: "alice", name: "Made offline" }), key);
  const offline = await page.evaluate(() => window.store.sync());
  assert.equal(offline.result, "offline", "nothing attempted, and not an error");
  assert.deepEqual(requests, [], "no request while offline");
  assert.equal(await page.evaluate(() => window.store.pendingCount()), 1);
  assert.equal(await rest("GET", `/api/data/accounts/${key}`), 404);

  // A relaunch while still offline keeps the pending write.
  await page.evaluate(() => window.store.close());
  await openStore(page, name);
  assert.equal(await page.evaluate(() => window.store.pendingCount()), 1);

  await h.context.setOffline(false);
  // (waitForFunction would take the promise itself as truthy: poll by hand.)
  const deadline = Date.now() + 15_000;
  while ((await page.evaluate(() => window.store.pendingCount())) !== 0) {
    assert.ok(Date.now() < deadline, "the pending write was never pushed");
    await new Promise((r) => setTimeout(r, 100));
  }
  const diag = await page.evaluate(async () => JSON.stringify({ errors: await window.store.syncErrors(), status: window.store.status(), states: window.states }));
  assert.equal(await rest("GET", `/api/data/accounts/${key}`), 200, `pushed when the network came back: ${diag}`);
  const pushes = requests.filter((u) => u.endsWith("/sync/push"));
  assert.equal(pushes.length, 1, `pushed once: ${requests.join(", ")}`);
  await page.evaluate((n) => { window.store.close(); return window.ot.OfflineStore.deleteDatabase(n); }, name);
  await page.close();
});

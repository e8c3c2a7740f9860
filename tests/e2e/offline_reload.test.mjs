// offline_reload.test.mjs: the test page, kept by its Service Worker (static/sw.js), reloads with the network off; a write made offline survives the reload and reaches the server exactly once when the network returns.
import { test } from "node:test";
import assert from "node:assert/strict";
import { restAs, harnessForFile } from "./harness.mjs";

const SERVER = process.env.OT_TEST_SERVER;
const TOKEN = "dev-token-carol";
let h;
harnessForFile((harness) => { h = harness; });

const rest = restAs(SERVER, TOKEN);

/** Opens the synced store `name` as carol (the server's profile, kept for offline launches). */
async function openStore(page, name) {
  await page.evaluate(async ([name, url, token]) => {
    window.store = await window.ot.OfflineStore.open({ name, server: { url, token } });
  }, [name, SERVER, TOKEN]);
}

/** Polls `fn` in the page until it returns `want` (waitForFunction would take a promise as truthy). */
async function until(page, fn, arg, want, what, ms = 15_000) {
  const deadline = Date.now() + ms;
  let got;
  while ((got = await page.evaluate(fn, arg)) !== want) {
    assert.ok(Date.now() < deadline, `${what}: still ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test("the page reloads offline from its Service Worker and keeps a write made offline until the network returns", { timeout: 90_000 }, async () => {
  const page = await h.page();
  await page.evaluate(() => window.swReady);
  // Once the worker is active, load the page again online so that every file it loads
  // (the package's snippets too) goes through the worker into its cache.
  await page.reload();
  await page.waitForFunction(() => window.ot !== undefined, null, { timeout: 10_000 });
  assert.ok(await page.evaluate(() => navigator.serviceWorker.controller !== null), "the worker controls the page");

  const name = `e2e-offline-reload-${Date.now()}`;
  const key = `reload-${Date.now()}-${Math.random().toString(36).slice(2)}`;
  await openStore(page, name);
  assert.equal((await page.evaluate(() => window.store.sync())).result, "completed");

  await h.context.setOffline(true);
  await until(page, () => window.store.status().state, null, "offline", "status before the write");
  await page.evaluate((key) => window.store.table("notes").put({ id: key, ownerId: "carol", text: "written offline" }), key);
  assert.equal(await page.evaluate(() => window.store.pendingCount()), 1);
  // Offline with a change to push, the store asked the browser for a Background Sync (the worker's "sync" event).
  await until(page, async () => {
    const reg = await navigator.serviceWorker.ready;
    return (await reg.sync.getTags()).includes(window.store.backgroundSyncTag);
  }, null, true, "the Background Sync tag");
  // The network really is off for this browser: a file the worker does not keep fails.
  const uncached = await page.evaluate(() => fetch("/not-kept-by-the-worker.txt").then((r) => r.status, (e) => e.name));
  assert.equal(uncached, "TypeError", "a request the worker does not answer fails offline");

  const reloaded = await page.reload();
  assert.ok(reloaded?.fromServiceWorker(), "the page came from the Service Worker");
  await page.waitForFunction(() => window.ot !== undefined, null, { timeout: 10_000 });
  await openStore(page, name);
  assert.deepEqual(
    await page.evaluate((key) => window.store.table("notes").get(key), key),
    { id: key, ownerId: "carol", text: "written offline" },
  );
  assert.equal(await page.evaluate(() => window.store.pendingCount()), 1);
  await until(page, () => window.store.status().state, null, "offline", "status after the reload");
  // The syncing engine itself sees the network off (a store that has not started syncing yet also says "offline").
  assert.equal((await page.evaluate(() => window.store.sync())).result, "offline");
  assert.equal((await rest("GET", `/api/data/notes/'${key}'`)).status, 404, "not on the server yet");

  await h.context.setOffline(false);
  await until(page, () => window.store.pendingCount(), null, 0, "pending after the network came back");
  const diag = await page.evaluate(async () => JSON.stringify({ errors: await window.store.syncErrors(), status: window.store.status() }));
  const found = await rest("GET", `/api/data/notes?$filter=id%20eq%20'${key}'&$count=true`);
  assert.equal(found.status, 200);
  assert.equal(found.body.count, 1, `on the server exactly once: ${JSON.stringify(found.body)} ${diag}`);
  assert.deepEqual(found.body.value[0], { id: key, ownerId: "carol", text: "written offline" });
  // The push is done once nothing is pending; the pull of the same cycle may still run: wait for its end.
  await until(page, () => window.store.status().state, null, "idle", `status after the sync (${diag})`);

  await page.evaluate((n) => { window.store.close(); return window.ot.OfflineStore.deleteDatabase(n); }, name);
  await page.close();
});

// sw_mode.test.mjs: Service Worker mode. The worker (static/swmode/store-sw.js) runs the store and answers the page's REST
// requests from it, offline too; a store the page opens on the same database sees the worker's writes (a "tab" change
// event) and forwards sync() to the worker, which holds the sync lock; the server gets each write exactly once. The
// page's XMLHttpRequest (axios as it comes) reaches the worker's fetch event and gets the same local answers.
import { test } from "node:test";
import assert from "node:assert/strict";
import { restAs, harnessForFile } from "./harness.mjs";

const SERVER = process.env.OT_TEST_SERVER;
const TOKEN = "dev-token-mia";
let h;
harnessForFile((harness) => { h = harness; });

const rest = restAs(SERVER, TOKEN);

/** A page controlled by the store's Service Worker (static/swmode/store-sw.js) for the database `name`. */
async function workerPage(name) {
  const page = await h.context.newPage();
  page.on("pageerror", (e) => console.error("page error:", e.message));
  await page.goto(`${h.url}swmode/index.html`);
  await page.waitForFunction(() => window.ot !== undefined, null, { timeout: 10_000 });
  const script = `/swmode/store-sw.js?${new URLSearchParams({ server: SERVER, token: TOKEN, name })}`;
  await page.evaluate(async (script) => {
    await navigator.serviceWorker.register(script, { type: "module", scope: "/swmode/" });
    await navigator.serviceWorker.ready;
  }, script);
  await page.reload();
  await page.waitForFunction(() => window.ot !== undefined && navigator.serviceWorker.controller !== null, null, { timeout: 10_000 });
  return page;
}

test("a Service Worker runs the store: it answers the page's requests offline, shares the database, and pushes once", { timeout: 90_000 }, async () => {
  const name = `e2e-swmode-${Date.now()}`;
  const key = `sw-${Date.now()}-${Math.random().toString(36).slice(2)}`;
  const page = await workerPage(name);
  const api = (method, path, body) => page.evaluate(async ([url, method, token, body]) => {
    const r = await fetch(url, { method, headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body });
    return { status: r.status, local: r.headers.get("x-offline-tables"), body: r.status === 204 ? null : await r.json() };
  }, [SERVER + path, method, TOKEN, body && JSON.stringify(body)]);

  // axios, loaded while online (the worker caches nothing of the test's own).
  await page.evaluate(async () => { window.axios = (await import("/node_modules/axios/dist/esm/axios.js")).default; });
  // The worker's store downloads, then answers what the server would.
  assert.equal((await page.evaluate(() => window.askWorker("sync"))).result, "completed");
  const listed = await api("GET", "/api/data/products?$orderby=id&$count=true");
  assert.equal(listed.local, "local", "answered by the worker's store");
  assert.deepEqual(listed.body, (await rest("GET", "/api/data/products?$orderby=id&$count=true")).body, "as the server answers");

  // The page opens a store on the same database: it follows (the worker holds the sync lock) and sees the worker's writes.
  await page.evaluate(async ([name, url, token]) => {
    window.pageStore = await window.ot.OfflineStore.open({ name, server: { url, token } });
    window.changes = [];
    window.pageStore.on("change", (c) => window.changes.push(c));
  }, [name, SERVER, TOKEN]);

  await h.context.setOffline(true);
  const created = await api("POST", "/api/data/notes", { id: key, ownerId: "mia", text: "through the worker" });
  assert.equal(created.status, 201, JSON.stringify(created));
  assert.equal(created.local, "local");
  assert.deepEqual((await api("GET", `/api/data/notes/'${key}'`)).body, { id: key, ownerId: "mia", text: "through the worker" });
  // axios as it comes (XMLHttpRequest): the page's XHR goes through the worker's fetch event too, answered the same.
  const viaXhr = await page.evaluate(async ([url, token]) => {
    const r = await window.axios.get(url, { headers: { authorization: `Bearer ${token}` } });
    return { status: r.status, local: r.headers["x-offline-tables"], body: r.data, xhr: r.request instanceof XMLHttpRequest };
  }, [`${SERVER}/api/data/notes/'${key}'`, TOKEN]);
  assert.deepEqual(viaXhr, { status: 200, local: "local", body: { id: key, ownerId: "mia", text: "through the worker" }, xhr: true });
  assert.equal(await page.evaluate(() => window.askWorker("pending")), 1);
  assert.equal((await rest("GET", `/api/data/notes/'${key}'`)).status, 404, "not on the server yet");
  const deadline = Date.now() + 5_000;
  while (!(await page.evaluate((key) => window.changes.some((c) => c.source === "tab" && c.keys.includes(key)), key))) {
    assert.ok(Date.now() < deadline, "the page's store never heard of the worker's write");
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.deepEqual(await page.evaluate((key) => window.pageStore.table("notes").get(key), key), { id: key, ownerId: "mia", text: "through the worker" });

  // Back online, the page's sync() is carried out by the worker: the server gets the row once.
  await h.context.setOffline(false);
  const synced = await page.evaluate(() => window.pageStore.sync());
  assert.equal(synced.result, "completed", JSON.stringify(synced));
  assert.equal(synced.pushed, 1, JSON.stringify(synced));
  const found = await rest("GET", `/api/data/notes?$filter=${encodeURIComponent(`id eq '${key}'`)}&$count=true`);
  assert.equal(found.body.count, 1, JSON.stringify(found.body));
  assert.equal(await page.evaluate(() => window.askWorker("pending")), 0);

  await rest("DELETE", `/api/data/notes/'${key}'`);
  await page.evaluate(async () => {
    window.pageStore.close();
    for (const r of await navigator.serviceWorker.getRegistrations()) await r.unregister();
  });
  await page.close();
});

test("offline with a change to push, the worker registers its Background Sync tag, and the browser's sync event pushes it with no page syncing", { timeout: 90_000 }, async () => {
  const name = `e2e-swsync-${Date.now()}`;
  const key = `bgsync-${Date.now()}-${Math.random().toString(36).slice(2)}`;
  const page = await workerPage(name);
  assert.equal((await page.evaluate(() => window.askWorker("sync"))).result, "completed");

  await h.context.setOffline(true);
  const created = await page.evaluate(async ([url, token, row]) => {
    const r = await fetch(url, { method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body: JSON.stringify(row) });
    return { status: r.status, local: r.headers.get("x-offline-tables") };
  }, [`${SERVER}/api/data/notes`, TOKEN, { id: key, ownerId: "mia", text: "pushed by the sync event" }]);
  assert.deepEqual(created, { status: 201, local: "local" });
  const tag = `offline-tables:${name}`;
  const deadline = Date.now() + 10_000;
  while (!(await page.evaluate(async (tag) => (await (await navigator.serviceWorker.ready).sync.getTags()).includes(tag), tag))) {
    assert.ok(Date.now() < deadline, "the worker's store never registered its Background Sync tag");
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal((await rest("GET", `/api/data/notes/'${key}'`)).status, 404, "nothing pushed yet");
  await h.context.setOffline(false);

  // The browser's "sync" event, as Chromium fires it when the network is back (dispatched through DevTools so the test
  // need not wait for the browser's own schedule): the worker's handler syncs. Nothing else can push: the worker's
  // store has sync.auto false and no page opened a store.
  const cdp = await page.context().newCDPSession(page);
  const registered = new Promise((resolve) => cdp.on("ServiceWorker.workerRegistrationUpdated", ({ registrations }) => {
    const r = registrations.find((r) => r.scopeURL.endsWith("/swmode/") && !r.isDeleted);
    if (r) resolve(r.registrationId);
  }));
  await cdp.send("ServiceWorker.enable");
  const registrationId = await registered;
  await cdp.send("ServiceWorker.dispatchSyncEvent", { origin: new URL(h.url).origin, registrationId, tag, lastChance: false });
  const pushedBy = Date.now() + 15_000;
  while ((await rest("GET", `/api/data/notes/'${key}'`)).status !== 200) {
    assert.ok(Date.now() < pushedBy, "the sync event did not push the change");
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(await page.evaluate(() => window.askWorker("pending")), 0);

  await rest("DELETE", `/api/data/notes/'${key}'`);
  await page.evaluate(async () => {
    for (const r of await navigator.serviceWorker.getRegistrations()) await r.unregister();
  });
  await page.close();
});

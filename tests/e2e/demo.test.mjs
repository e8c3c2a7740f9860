// demo.test.mjs: the demo PWA (www/dist, served by the reference server with the demo profile and seed), driven like a user on a phone-sized screen: first download with progress, edits online and offline (through store.interceptRequests, with fetch and with axios), an offline reload from the Service Worker, conflicts between two devices resolved from the UI, a server change shown without a reload, two tabs pushing once, a sync error discarded.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { chromium } from "playwright-core";
import { CHROMIUM_FLAGS } from "./harness.mjs";
import { signIn as signInDemo, startDemoServer } from "./demo_server.mjs";

const PHONE = { viewport: { width: 390, height: 844 } };
let server;
let browser;
before(async () => {
  server = await startDemoServer();
  browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium", args: CHROMIUM_FLAGS });
});
after(async () => {
  await browser?.close();
  await server?.close();
});

/** A new device (browser context) with the demo open, signed in as `user`. */
const signIn = (user, { slowPulls = false } = {}) =>
  signInDemo(browser, server, user, { contextOptions: PHONE, pullDelayMs: slowPulls ? 700 : 0 });

const pollUntil = async (fn, what, ms = 15_000) => {
  const deadline = Date.now() + ms;
  for (;;) {
    const got = await fn();
    if (got) return got;
    assert.ok(Date.now() < deadline, `timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
};

// One device, one story: the tests below run in order on it.
let device;

test("first launch shows the download's progress, then the accounts with their work orders", { timeout: 60_000 }, async () => {
  device = await signIn("alice", { slowPulls: true });
  const { page } = device;
  await page.waitForSelector("#download", { timeout: 15_000 });
  await page.waitForFunction(() => /of \d+ rows/.test(document.querySelector("#download-text")?.textContent ?? ""));
  const text = await page.textContent("#download-text");
  const est = await server.rest("GET", "/sync/estimate");
  assert.match(text, new RegExp(`of ${est.body.rows} rows`), "progress against the server's estimate");
  await page.waitForSelector("#accounts li.card", { timeout: 30_000 });
  assert.equal(await page.isVisible("#download"), false, "the progress panel is gone once the download is done");
  assert.match(await page.textContent("#list-summary"), /^300 accounts/);
  assert.ok(await page.locator("#accounts a.wo").count() > 0, "accounts show their work orders");
  assert.equal((await page.textContent("#sync-state")).trim(), "Connected");
});

test("the status page gives each table's rows, size and last sync, and syncs one table", { timeout: 30_000 }, async () => {
  const { page } = device;
  await page.click('nav.tabs a[data-tab="status"]');
  await page.waitForSelector("#device-status table.tables tbody tr");
  const cells = async (table) => page.$$eval(`#device-status tr[data-table="${table}"] td`, (tds) => tds.map((td) => td.textContent));
  const [rows, size, last] = await cells("accounts");
  assert.equal(rows, "300", "alice's 300 accounts");
  assert.match(size, /kB$/);
  assert.match(last, /every 5 min$/);
  assert.doesNotMatch(last, /^never/, "accounts were pulled");
  assert.match((await cells("products"))[2], /every day$/, "the catalogue's own interval");
  // One table's sync: the store records its pull, and the page shows the new time.
  const before = await page.evaluate(() => window.demo.store.usage().then((u) => u.lastSyncAt.products));
  await new Promise((r) => setTimeout(r, 20));
  await page.click('#device-status tr[data-table="products"] button.sync-table');
  await pollUntil(() => page.evaluate((b) => window.demo.store.usage().then((u) => u.lastSyncAt.products > b), before), "products pulled again");
  assert.match(await page.textContent("#status-storage"), / of /, "the browser's storage estimate");
  await page.click('nav.tabs a[data-tab="accounts"]');
  await page.waitForSelector("#accounts li.card");
});

test("a photo taken offline shows at once, survives an offline reload, and uploads once back online", { timeout: 60_000 }, async () => {
  const { page, context } = device;
  const id = await page.getAttribute("#accounts a.wo >> nth=2", "data-id");
  await context.setOffline(true);
  await page.click(`#accounts a.wo[data-id="${id}"]`);
  await page.waitForSelector("#photo");
  assert.match(await page.textContent("#photo-info"), /No photo yet/);
  // A picture made in the page (a real PNG), picked through the form's file input, offline.
  const png = await page.evaluate(() => {
    const c = document.createElement("canvas");
    c.width = 64; c.height = 48;
    const g = c.getContext("2d");
    g.fillStyle = "#2a6"; g.fillRect(0, 0, 64, 48); g.fillStyle = "#fff"; g.fillText("WO", 20, 28);
    return c.toDataURL("image/png").split(",")[1];
  });
  const bytes = Buffer.from(png, "base64");
  await page.setInputFiles("#photo-input", { name: "pump.png", mimeType: "image/png", buffer: bytes });
  await page.waitForSelector("img.photo:not([hidden])");
  const pendingFiles = () => page.evaluate(() => window.demo.store.status().files.pending);
  await pollUntil(async () => (await pendingFiles()) === 1, "the upload counted as pending");
  await pollUntil(async () => /1 photo waiting to upload/.test(await page.textContent("#photo-info")), "the panel shows the upload waiting");
  // An offline reload: the photo is still there, still waiting.
  await page.reload();
  await page.waitForSelector("img.photo:not([hidden])", { timeout: 15_000 });
  await pollUntil(async () => (await pendingFiles()) === 1, "still pending after the reload");
  // Back online: the row's change, then the photo, reach the server, once.
  await context.setOffline(false);
  await page.evaluate(() => window.demo.store.sync());
  await pollUntil(async () => (await pendingFiles()) === 0, "the photo uploaded");
  const row = await server.rest("GET", `/api/data/workorders/'${id}'`);
  assert.equal(row.body.photo?.name, "pump.png", JSON.stringify(row.body));
  const file = await fetch(`${server.url}/api/files/workorders/'${id}'/photo`, { headers: { authorization: "Bearer dev-token-alice" } });
  assert.equal(file.status, 200);
  assert.deepEqual(Buffer.from(await file.arrayBuffer()), bytes, "the server holds the photo's bytes");
  await page.click("form.edit button.ghost"); // Cancel
  await page.waitForSelector("#accounts li.card");
});

test("a work order edited online is on the server", { timeout: 30_000 }, async () => {
  const { page } = device;
  const id = await page.getAttribute("#accounts a.wo >> nth=0", "data-id");
  await page.click(`#accounts a.wo[data-id="${id}"]`);
  await page.waitForSelector("form.edit");
  const notes = `Checked on site ${Date.now()}`;
  await page.selectOption("select[name=status]", "in-progress");
  await page.fill("textarea[name=notes]", notes);
  await page.click("#save");
  await page.waitForSelector("#accounts li.card");
  // The save pushes at once, in the background: wait for the push to land rather than racing it.
  const row = await pollUntil(async () => {
    const r = await server.rest("GET", `/api/data/workorders/'${id}'`);
    return r.status === 200 && r.body.notes === notes ? r : undefined;
  }, "the edit on the server");
  assert.equal(row.body.status, "in-progress");
  assert.ok(Date.now() - Date.parse(row.body.modifiedOn) < 60_000, "modifiedOn moves to now");
});

test("offline, a reload comes back from the Service Worker and shows the offline status", { timeout: 30_000 }, async () => {
  const { page, context } = device;
  // The worker installed on the first visit has the whole shell in its cache.
  await page.evaluate(() => navigator.serviceWorker.ready);
  await pollUntil(() => page.evaluate(async () => (await caches.keys()).some((k) => k.startsWith("field-service-shell-"))), "the shell cache");
  await context.setOffline(true);
  try {
    const response = await page.reload();
    assert.ok(response?.fromServiceWorker(), "the page came from the Service Worker");
    await page.waitForSelector("#sync-state");
    await pollUntil(async () => (await page.textContent("#sync-state")).trim() === "Offline", "status Offline");
    // The first download is done: no progress panel over the (offline) list.
    assert.equal(await page.isVisible("#download"), false);
    assert.equal(await page.isVisible("#search"), true);
    // The store's engine itself sees the network off.
    assert.equal(await page.evaluate(async () => (await window.demo.store.sync()).result), "offline");
  } finally {
    await context.setOffline(false);
  }
  await pollUntil(async () => (await page.textContent("#sync-state")).trim() === "Connected", "Connected again");
  await page.waitForSelector("#accounts li.card"); // the list loads when the connection returns
});

// The demo's data code is fetch('/api/data/…'); offline, store.interceptFetch answers it from the local store.
test("an edit made offline survives an offline reload and reaches the server once online", {
  timeout: 60_000,
}, async () => {
  const { page, context } = device;
  assert.ok(await page.evaluate(() => typeof window.demo.store.interceptFetch === "function"), "the interceptor is there");
  const id = await page.getAttribute("#accounts a.wo >> nth=0", "data-id");
  await context.setOffline(true);
  const title = `Edited offline ${Date.now()}`;
  await page.click(`#accounts a.wo[data-id="${id}"]`);
  // The view's one request expands the work order's account and part, answered offline from the local tables.
  const { accountId, productId } = (await server.rest("GET", `/api/data/workorders/'${id}'`)).body;
  const account = (await server.rest("GET", `/api/data/accounts/'${accountId}'`)).body;
  await page.waitForSelector(".facts");
  const facts = await page.textContent(".facts");
  assert.ok(facts.includes(account.name), `the account's name in ${facts}`);
  if (productId) {
    const product = (await server.rest("GET", `/api/data/products/'${productId}'`)).body;
    assert.ok(facts.includes(product.sku), `the part's SKU in ${facts}`);
  }
  await page.fill("input[name=title]", title);
  await page.click("#save");
  await page.waitForSelector("#accounts li.card");
  assert.equal((await page.textContent("#sync-pending")).trim(), "1 change pending");
  const response = await page.reload();
  assert.ok(response?.fromServiceWorker());
  await page.waitForSelector(`#accounts a.wo[data-id="${id}"]`);
  assert.match(await page.textContent(`#accounts a.wo[data-id="${id}"]`), new RegExp(title));
  assert.equal((await page.textContent("#sync-pending")).trim(), "1 change pending");
  assert.equal((await server.rest("GET", `/api/data/workorders/'${id}'`)).body.title === title, false, "not on the server yet");
  await context.setOffline(false);
  await pollUntil(async () => !(await page.isVisible("#sync-pending")), "pending drained");
  const found = await server.rest("GET", `/api/data/workorders?$filter=${encodeURIComponent(`title eq '${title}'`)}&$count=true`);
  assert.equal(found.body.count, 1, "on the server exactly once");
});

test("a conflict kept by the store is shown and resolved from the UI", { timeout: 60_000 }, async () => {
  await device?.context.close();
  device = await signIn("bob");
  const { page, context } = device;
  await page.waitForSelector("#accounts li.card", { timeout: 30_000 });
  const id = await page.getAttribute("#accounts a.wo >> nth=0", "data-id");
  // A local change made while offline (through the store: the demo's forms need the interceptor for that),
  // then another change of the same column on the server: work orders settle conflicts by hand.
  await context.setOffline(true);
  await pollUntil(async () => (await page.textContent("#sync-state")).trim() === "Offline", "Offline");
  await page.evaluate((id) => window.demo.store.table("workorders").update(id, { title: "Mine: replace the valve" }), id);
  const theirs = await server.rest("PATCH", `/api/data/workorders/'${id}'`, { title: "Theirs: valve already replaced" }, "dev-token-bob");
  assert.equal(theirs.status, 200);
  await context.setOffline(false);
  await page.evaluate(() => window.demo.store.sync());
  await page.waitForSelector("#sync-conflicts", { timeout: 15_000 });
  assert.equal((await page.textContent("#sync-conflicts")).trim(), "1 conflict");

  await page.click("#sync-conflicts");
  const card = page.locator("li.conflict");
  await card.waitFor();
  assert.match(await card.textContent(), /Mine: replace the valve/);
  assert.match(await card.textContent(), /Theirs: valve already replaced/);
  await card.locator("button.edit-merge").click();
  await card.locator("input[name=title]").fill("Merged: valve checked");
  await card.locator("form.merge button[type=submit]").click();
  await page.waitForSelector("#conflicts li.muted"); // "No conflicts."
  await page.evaluate(() => window.demo.store.sync());
  await pollUntil(async () => (await server.rest("GET", `/api/data/workorders/'${id}'`, null, "dev-token-bob")).body.title === "Merged: valve checked",
    "the merged row on the server");
  await pollUntil(async () => !(await page.isVisible("#sync-conflicts")), "the status shows no conflict");
});

test("a change the server refuses is listed with its reason and discarded from the UI", { timeout: 30_000 }, async () => {
  const { page } = device;
  await page.click("nav.tabs a[data-tab=accounts]");
  await page.waitForSelector("#accounts li.card");
  const id = await page.getAttribute("#accounts li.card >> nth=0", "data-id");
  // Giving the account to another technician would take it out of bob's scope: refused for good.
  await page.evaluate((id) => window.demo.store.table("accounts").update(id, { ownerId: "alice" }), id);
  await page.evaluate(() => window.demo.store.sync());
  await page.waitForSelector("#sync-errors", { timeout: 15_000 });
  await page.click("#sync-errors");
  const card = page.locator("li.syncerror");
  await card.waitFor();
  assert.match(await card.textContent(), /permission/);
  await card.locator("button.discard").click();
  await page.waitForSelector("#syncerrors li.muted"); // "No sync errors."
  await pollUntil(async () => !(await page.isVisible("#sync-errors")), "the status shows no sync error");
  assert.equal(await page.evaluate((id) => window.demo.store.table("accounts").get(id).then((r) => r.ownerId), id), "bob",
    "the row shows the server's state again");
  assert.equal((await server.rest("GET", `/api/data/accounts/'${id}'`, null, "dev-token-bob")).body.ownerId, "bob");
  await device.context.close();
});

/** Edits a work order's title through the demo's form. */
async function editTitle(page, id, title) {
  await page.click("nav.tabs a[data-tab=accounts]");
  await page.click(`#accounts a.wo[data-id="${id}"]`);
  await page.waitForSelector("form.edit");
  await page.fill("input[name=title]", title);
  await page.click("#save");
  await page.waitForSelector("#accounts li.card");
}

const titleOnServer = async (id) => (await server.rest("GET", `/api/data/workorders/'${id}'`, null, "dev-token-carol")).body.title;

let carol; // two devices of one technician for the stories below

test("a conflict between two devices is shown on the one that edited offline and resolved from its UI", { timeout: 90_000 }, async () => {
  carol = [await signIn("carol"), await signIn("carol")];
  const [a, b] = carol;
  for (const d of carol) await d.page.waitForSelector("#accounts li.card", { timeout: 30_000 });
  const id = await a.page.getAttribute("#accounts a.wo >> nth=0", "data-id");
  await a.context.setOffline(true);
  await pollUntil(async () => (await a.page.textContent("#sync-state")).trim() === "Offline", "device A offline");
  await editTitle(a.page, id, "A: fixed offline");
  await editTitle(b.page, id, "B: fixed online");
  await pollUntil(async () => (await titleOnServer(id)) === "B: fixed online", "device B's edit on the server");

  await a.context.setOffline(false);
  await a.page.click("#sync-now");
  await a.page.waitForSelector("#sync-conflicts", { timeout: 15_000 });
  await a.page.click("#sync-conflicts");
  const card = a.page.locator("li.conflict");
  await card.waitFor();
  assert.match(await card.textContent(), /A: fixed offline/);
  assert.match(await card.textContent(), /B: fixed online/);
  await card.locator("button.keep-local").click();
  await a.page.click("#sync-now");
  await pollUntil(async () => (await titleOnServer(id)) === "A: fixed offline", "device A's choice on the server");
  await pollUntil(async () => !(await a.page.isVisible("#sync-conflicts")), "no conflict left on device A");
});

test("a change made on the server shows in the open page without a reload", { timeout: 30_000 }, async () => {
  const [a] = carol;
  await a.page.click("nav.tabs a[data-tab=accounts]");
  const id = await a.page.getAttribute("#accounts a.wo >> nth=1", "data-id");
  const title = `Changed at the office ${Date.now()}`;
  assert.equal((await server.rest("PATCH", `/api/data/workorders/'${id}'`, { title }, "dev-token-carol")).status, 200);
  await a.page.click("#sync-now"); // a sync, as the interval or the page becoming visible would start
  await pollUntil(async () => (await a.page.textContent(`#accounts a.wo[data-id="${id}"]`)).includes(title), "the new title in the list");
});

test("two tabs of one device: an edit in one shows in the other and is pushed once", { timeout: 30_000 }, async () => {
  const [a, b] = carol;
  await b.context.close();
  const tab2 = await a.context.newPage();
  await tab2.goto(server.url); // signed in already: the token is kept
  await tab2.waitForSelector("#accounts li.card", { timeout: 30_000 });
  const pushes = [];
  a.context.on("request", (r) => { if (r.url().endsWith("/sync/push")) pushes.push(r.url()); });
  const id = await a.page.getAttribute("#accounts a.wo >> nth=2", "data-id");
  const title = `Edited in tab 1 ${Date.now()}`;
  await editTitle(a.page, id, title);
  await pollUntil(async () => (await titleOnServer(id)) === title, "the edit on the server");
  await pollUntil(async () => (await tab2.textContent(`#accounts a.wo[data-id="${id}"]`)).includes(title), "the edit in tab 2");
  await new Promise((r) => setTimeout(r, 1_500)); // a second push, if any, would come with the debounce
  assert.equal(pushes.length, 1, `one push for one edit: ${pushes.length}`);
  await a.context.close();
});

test("with axios as its HTTP client (XMLHttpRequest), the demo edits offline and the edit reaches the server once", { timeout: 60_000 }, async () => {
  const { page, context } = await signIn("bob");
  await page.waitForSelector("#accounts a.wo");
  await page.goto(`${server.url}/?client=axios`);
  await page.waitForSelector("#accounts a.wo");
  assert.equal(await page.evaluate(() => window.demo.api.httpClient()), "axios");
  const id = await page.getAttribute("#accounts a.wo >> nth=1", "data-id");
  await context.setOffline(true);
  const title = `Edited offline with axios ${Date.now()}`;
  await page.click(`#accounts a.wo[data-id="${id}"]`);
  // The view's one request expands the work order's account and part, answered offline from the local tables.
  const { accountId, productId } = (await server.rest("GET", `/api/data/workorders/'${id}'`, null, "dev-token-bob")).body;
  const account = (await server.rest("GET", `/api/data/accounts/'${accountId}'`, null, "dev-token-bob")).body;
  await page.waitForSelector(".facts");
  const facts = await page.textContent(".facts");
  assert.ok(facts.includes(account.name), `the account's name in ${facts}`);
  if (productId) {
    const product = (await server.rest("GET", `/api/data/products/'${productId}'`, null, "dev-token-bob")).body;
    assert.ok(facts.includes(product.sku), `the part's SKU in ${facts}`);
  }
  await page.fill("input[name=title]", title);
  await page.click("#save");
  await page.waitForSelector("#accounts li.card");
  assert.match(await page.textContent(`#accounts a.wo[data-id="${id}"]`), new RegExp(title));
  assert.equal((await page.textContent("#sync-pending")).trim(), "1 change pending");
  await context.setOffline(false);
  await pollUntil(async () => !(await page.isVisible("#sync-pending")), "pending drained");
  const found = await server.rest("GET", `/api/data/workorders?$filter=${encodeURIComponent(`title eq '${title}'`)}&$count=true`, undefined, "dev-token-bob");
  assert.equal(found.body.count, 1, "on the server exactly once");
  await context.close();
});

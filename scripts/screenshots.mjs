// screenshots.mjs: takes the screenshots of the demo PWA (docs/demo.md) on a phone-sized screen into docs/screenshots/ (first download, online list, work order form, device status, offline with pending changes, a photo taken offline, a conflict, a sync error).
// Run after building the demo (npm start builds it, or scripts/build.sh bundler && node_modules/.bin/webpack): node scripts/screenshots.mjs
// It starts its own reference server (fresh SQLite file, demo seed) on a free port.
import { mkdirSync } from "node:fs";
import { chromium } from "playwright-core";
import { CHROMIUM_FLAGS } from "../tests/e2e/harness.mjs";
import { signIn, startDemoServer } from "../tests/e2e/demo_server.mjs";

const OUT = new URL("../docs/screenshots/", import.meta.url).pathname;
const DEVICE = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, locale: "en-GB", timezoneId: "Europe/Paris" };
mkdirSync(OUT, { recursive: true });

const server = await startDemoServer();
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium", args: CHROMIUM_FLAGS });
const wait = (ms) => new Promise((r) => setTimeout(r, ms));
const state = (page) => page.textContent("#sync-state").then((t) => t.trim());
async function until(fn, what) {
  for (let i = 0; i < 150; i++) {
    if (await fn()) return;
    await wait(100);
  }
  throw new Error(`timed out: ${what}`);
}
async function shot(page, name) {
  await page.evaluate(() => { document.getElementById("toast").hidden = true; });
  await page.screenshot({ path: `${OUT}${name}.png` });
  console.log(`${OUT}${name}.png`);
}

/** A device signed in as `user`; pulls slowed down so the first download can be seen. */
const device = (user) => signIn(browser, server, user, { contextOptions: DEVICE, pullDelayMs: 1500 });

try {
  const { context, page } = await device("alice");
  // Mid-download: some rows in, not all (pages of 1,000 rows, each held back 1.5 s above).
  await page.waitForFunction(() => /^[1-9]\d* of \d+ rows/.test(document.querySelector("#download-text")?.textContent ?? ""));
  await shot(page, "first-download");
  await page.waitForSelector("#accounts li.card", { timeout: 30_000 });
  await until(async () => (await state(page)) === "Connected", "Connected");
  await context.unroute("**/sync/pull");
  await shot(page, "online");

  await page.click("#accounts a.wo >> nth=1");
  await page.waitForSelector("form.edit");
  await shot(page, "workorder");
  await page.click("form.edit button.ghost"); // Cancel
  await page.waitForSelector("#accounts li.card");

  // The device status page: rows, size and last sync per table, pending changes, storage.
  await page.click('nav.tabs a[data-tab="status"]');
  await page.waitForSelector("#device-status table.tables tbody tr");
  await shot(page, "status");
  await page.click('nav.tabs a[data-tab="accounts"]');
  await page.waitForSelector("#accounts li.card");

  // Offline with pending changes. Without store.interceptFetch (not on this branch) the demo's forms save
  // through the server, so these two changes are made through the store's table API; the list on screen
  // is the one loaded before the network went off.
  const ids = await page.$$eval("#accounts a.wo", (as) => as.slice(0, 2).map((a) => a.dataset.id));
  await context.setOffline(true);
  await until(async () => (await state(page)) === "Offline", "Offline");
  await page.evaluate(async (ids) => {
    const wo = window.demo.store.table("workorders");
    await wo.update(ids[0], { status: "done", modifiedOn: new Date().toISOString() });
    await wo.update(ids[1], { notes: "Customer not home, left a card.", modifiedOn: new Date().toISOString() });
  }, ids);
  await until(() => page.isVisible("#sync-pending"), "pending shown");
  await shot(page, "offline-pending");

  // A photo taken offline on a work order: shown at once, waiting to upload.
  await page.click(`#accounts a.wo[data-id="${ids[0]}"]`);
  await page.waitForSelector("#photo");
  const png = await page.evaluate(() => {
    const c = document.createElement("canvas");
    c.width = 640; c.height = 360;
    const g = c.getContext("2d");
    const sky = g.createLinearGradient(0, 0, 0, 360);
    sky.addColorStop(0, "#8fb8de"); sky.addColorStop(1, "#dfe9f3");
    g.fillStyle = sky; g.fillRect(0, 0, 640, 360);
    g.fillStyle = "#5a6b7b"; g.fillRect(120, 150, 400, 150);
    g.fillStyle = "#2f3b47"; g.fillRect(160, 190, 90, 90); g.fillRect(390, 190, 90, 90);
    g.fillStyle = "#c0392b"; g.beginPath(); g.arc(320, 235, 38, 0, Math.PI * 2); g.fill();
    g.fillStyle = "#fff"; g.font = "bold 28px sans-serif"; g.fillText("PUMP 3", 272, 120);
    return c.toDataURL("image/png").split(",")[1];
  });
  await page.setInputFiles("#photo-input", { name: "pump-3.png", mimeType: "image/png", buffer: Buffer.from(png, "base64") });
  await page.waitForSelector("img.photo:not([hidden])");
  await until(async () => /waiting to upload/.test(await page.textContent("#photo-info")), "the photo waiting to upload");
  await page.evaluate(() => document.getElementById("photo").scrollIntoView());
  await shot(page, "photo");
  await page.click("form.edit button.ghost"); // Cancel
  await page.waitForSelector("#accounts li.card");
  await context.setOffline(false);
  await until(async () => !(await page.isVisible("#sync-pending")), "pending drained");

  // A conflict: a local change made offline, and a different change to the same column on the server.
  const target = ids[1];
  await context.setOffline(true);
  await until(async () => (await state(page)) === "Offline", "Offline");
  await page.evaluate((id) => window.demo.store.table("workorders").update(id, { status: "scheduled", title: "Replace the pump seal" }), target);
  await server.rest("PATCH", `/api/data/workorders/'${target}'`, { title: "Pump replaced by the night shift" });
  await context.setOffline(false);
  await page.evaluate(() => window.demo.store.sync());
  await page.waitForSelector("#sync-conflicts");
  await page.click("#sync-conflicts");
  await page.waitForSelector("li.conflict");
  await page.click("li.conflict button.edit-merge");
  await shot(page, "conflict");

  // A sync error: giving an account to another technician takes it out of alice's scope, which the server refuses.
  await page.goto(`${server.url}/#/`);
  await page.waitForSelector("#accounts li.card");
  const account = await page.getAttribute("#accounts li.card >> nth=0", "data-id");
  await page.evaluate((id) => window.demo.store.table("accounts").update(id, { ownerId: "bob" }), account);
  await page.evaluate(() => window.demo.store.sync());
  await page.waitForSelector("#sync-errors");
  await page.click("#sync-errors");
  await page.waitForSelector("li.syncerror");
  await shot(page, "sync-error");
  await context.close();
} finally {
  await browser.close();
  await server.close();
}

// quota.test.mjs: the storage quota, squeezed through the DevTools protocol (Storage.overrideQuotaForOrigin): a first
// download that would not fit is refused before it writes anything, with errorCode "quota_exceeded". (A page that
// overflows a real quota mid-download is tested in tests/quota.rs, on a Storage Bucket with a small quota.)
import { test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { restAs, harnessForFile } from "./harness.mjs";

const SERVER = process.env.OT_TEST_SERVER;
const TOKEN = "dev-token-judy";
// Text IndexedDB cannot compress away (it compresses values on disk).
const noise = (n) => randomBytes(n).toString("base64").slice(0, n);
let h;
harnessForFile((harness) => { h = harness; });

const rest = restAs(SERVER, TOKEN);

// Caps the origin's quota at its current usage plus `spareBytes`. Chromium enforces the cap on writes, but
// navigator.storage.estimate() goes on reporting the disk's quota, so the page is told the same cap through it.
async function squeeze(page, cdp, spareBytes) {
  const origin = new URL(page.url()).origin;
  const { usage } = await cdp.send("Storage.getUsageAndQuota", { origin });
  const quota = usage + spareBytes;
  await cdp.send("Storage.overrideQuotaForOrigin", { origin, quotaSize: quota });
  await page.evaluate(([usage, quota]) => {
    window.realEstimate ??= navigator.storage.estimate.bind(navigator.storage);
    navigator.storage.estimate = async () => ({ usage, quota });
  }, [usage, quota]);
}

async function release(page, cdp) {
  await cdp.send("Storage.overrideQuotaForOrigin", { origin: new URL(page.url()).origin });
  await page.evaluate(() => { if (window.realEstimate) navigator.storage.estimate = window.realEstimate; });
}

test("a first download that would not fit is refused before anything is written", { timeout: 60_000 }, async () => {
  const page = await h.page();
  const cdp = await h.context.newCDPSession(page);
  const name = `e2e-quota-first-${Date.now()}`;
  // A row of 40 KB makes judy's download bigger than the room left.
  const key = `big-${Date.now()}`;
  assert.equal((await rest("POST", "/api/data/notes", { id: key, ownerId: "judy", text: noise(40_000) })).status, 201);
  try {
    await page.evaluate(async ([name, url, token]) => {
      window.store = await window.ot.OfflineStore.open({ name, server: { url, token }, sync: { auto: false } });
    }, [name, SERVER, TOKEN]);
    await squeeze(page, cdp, 8_000);
    const r = await page.evaluate(() => window.store.sync());
    assert.equal(r.result, "failed", JSON.stringify(r));
    assert.equal(r.status.errorCode, "quota_exceeded", JSON.stringify(r.status));
    assert.match(r.status.lastError, /first download needs about/);
    assert.equal(r.status.initialSync.done, false);
    const rows = await page.evaluate(() => window.store.table("notes").count());
    assert.equal(rows, 0, "nothing was written");

    await release(page, cdp);
    const ok = await page.evaluate(() => window.store.sync());
    assert.equal(ok.result, "completed", JSON.stringify(ok));
    assert.equal(ok.status.errorCode, null);
    assert.equal(ok.status.initialSync.done, true);
    assert.equal((await page.evaluate((k) => window.store.table("notes").get(k), key)).text.length, 40_000);
  } finally {
    await release(page, cdp).catch(() => {});
    await rest("DELETE", `/api/data/notes/${key}`);
    await page.evaluate((n) => { window.store?.close(); return window.ot.OfflineStore.deleteDatabase(n); }, name);
    await page.close();
  }
});

// sync.mjs (npm run bench:sync): first download of N rows (~500 B) from the reference server on loopback, ours vs a
// plain-JS baseline in the same page, interleaved; then the request counts of a no-op sync and of pushing 10,000 writes.
import { spawn, execFileSync } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { chromium } from "playwright-core";
import { createStaticServer, listen } from "../scripts/serve.mjs";
import { CHROMIUM_FLAGS } from "../tests/e2e/harness.mjs";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const { values: opts } = parseArgs({
  options: { rows: { type: "string", default: "100000" }, reps: { type: "string", default: "3" }, port: { type: "string", default: "8790" } },
});
const ROWS = Number(opts.rows), REPS = Number(opts.reps), PORT = Number(opts.port);
const dir = path.join(ROOT, "target", "bench-sync");
rmSync(dir, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });
writeFileSync(path.join(dir, "profile.json"), JSON.stringify({ version: 1, tables: { items: { key: "id", scope: "all" } } }));
writeFileSync(path.join(dir, "tokens.json"), JSON.stringify({ "bench-token": "bench" }));
const filler = "x".repeat(380);
const items = Array.from({ length: ROWS }, (_, i) => ({ id: `r${String(i).padStart(6, "0")}`, name: `Row ${i}`, city: "Paris", amount: i, notes: filler }));
writeFileSync(path.join(dir, "seed.json"), JSON.stringify({ items }));

execFileSync("cargo", ["build", "--release", "-q", "-p", "offline-tables-server"], { cwd: ROOT, stdio: "inherit" });
const server = spawn(path.join(ROOT, "target/release/offline-tables-server"), [
  "--profile", path.join(dir, "profile.json"), "--seed", path.join(dir, "seed.json"), "--tokens", path.join(dir, "tokens.json"),
  "--db", `sqlite:${path.join(dir, "db.sqlite")}`, "--listen", `127.0.0.1:${PORT}`, "--cors-origin", "*",
], { stdio: ["ignore", "ignore", "pipe"] });
const SERVER = `http://127.0.0.1:${PORT}`;
for (let i = 0; ; i++) {
  try {
    const r = await fetch(SERVER + "/sync/profile", { headers: { authorization: "Bearer bench-token" } });
    if (r.ok) break;
  } catch { /* not up yet */ }
  if (i > 600) throw new Error("the server did not start");
  await new Promise((r) => setTimeout(r, 100));
}

const statics = createStaticServer({ "/": path.join(ROOT, "bench", "sync"), "/pkg-web/": path.join(ROOT, "pkg-web") });
const port = await listen(statics, 0);
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium", args: [...CHROMIUM_FLAGS, "--enable-precise-memory-info"], headless: true });
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
try {
  const page = await browser.newPage();
  await page.goto(`http://127.0.0.1:${port}/`);
  await page.waitForFunction(() => window.benchReady === true);
  const base = [], ourMs = [], heaps = [];
  let wasmBytes = 0, txs = null;
  for (let rep = 0; rep < REPS; rep++) {
    const b = await page.evaluate(([s, n]) => window.bench.baseline(s, "bench-token", n), [SERVER, `base-${rep}`]);
    const o = await page.evaluate(([s, n]) => window.bench.ours(s, "bench-token", n), [SERVER, `ours-${rep}`]);
    if (b.rows !== ROWS || o.rows !== ROWS) throw new Error(`row counts: baseline ${b.rows}, ours ${o.rows}, expected ${ROWS}`);
    base.push(b.ms); ourMs.push(o.ms);
    heaps.push(o.heap); wasmBytes = o.wasmBytes; txs = { baseline: b.tx, basePages: b.pages, ours: o.tx };
    console.log(`[bench] rep ${rep + 1}: baseline ${b.ms.toFixed(0)} ms, ours ${o.ms.toFixed(0)} ms`);
    if (rep < REPS - 1) await page.evaluate(async (n) => { window.lastStore.close(); await window.bench.ot.OfflineStore.deleteDatabase(n); }, `ours-${rep}`);
  }
  // Request counts on the last store: a sync with nothing to do, then 10,000 local writes pushed.
  const requests = [];
  page.on("request", (r) => { if (r.url().startsWith(SERVER)) requests.push(new URL(r.url()).pathname); });
  await page.evaluate(() => window.lastStore.sync());
  const noop = requests.splice(0).length;
  await page.evaluate(async () => {
    const rows = Array.from({ length: 10000 }, (_, i) => ({ id: `w${i}`, name: `written ${i}` }));
    await window.lastStore.table("items").bulkPut(rows);
    const r = await window.lastStore.sync();
    if (r.pushed !== 10000) throw new Error("pushed " + r.pushed);
  });
  const pushes = requests.filter((p) => p === "/sync/push").length, all = requests.length;
  const [b, o] = [median(base), median(ourMs)];
  console.log("");
  console.log(`first download of ${ROWS} rows (~500 B), pages of 1,000, median of ${REPS}:`);
  console.log(`  baseline (fetch + JSON.parse + raw IndexedDB): ${b.toFixed(0)} ms   ours (open + sync): ${o.toFixed(0)} ms   ours/baseline: ${(o / b).toFixed(2)}x`);
  // Peak JS heap while the first quarter of the rows had arrived, against the peak over the whole download.
  const peak = (h, upto) => Math.max(...h.filter(([rows]) => rows <= upto).map(([, b]) => b));
  const mb = (b) => (b / 1048576).toFixed(1);
  const h = heaps[heaps.length - 1];
  const quarter = peak(h, ROWS / 4), whole = peak(h, ROWS);
  console.log(`peak JS heap during the download (last rep, ${h.length} samples): first quarter of the rows ${mb(quarter)} MB, all rows ${mb(whole)} MB (x${(whole / quarter).toFixed(2)}); wasm memory ${mb(wasmBytes)} MB`);
  const perPage = (c, pages) => Object.entries(c).sort(([, x], [, y]) => y - x).map(([w, n]) => `${(n / pages).toFixed(2)} ${w}`).join("; ");
  const total = (c) => Object.values(c).reduce((a, n) => a + n, 0);
  const txPerPage = { baseline: total(txs.baseline) / txs.basePages, ours: total(txs.ours) / txs.basePages };
  console.log(`IndexedDB transactions per page (last rep, ${txs.basePages} pages): baseline ${txPerPage.baseline.toFixed(2)}, ours ${txPerPage.ours.toFixed(2)}`);
  console.log(`  ours: ${perPage(txs.ours, txs.basePages)}`);
  console.log(`a sync with nothing to do: ${noop} request(s)`);
  console.log(`pushing 10,000 pending writes: ${pushes} push request(s), ${all} requests in all`);
  writeFileSync(path.join(ROOT, "bench", "sync-results.json"), JSON.stringify({
    date: new Date().toISOString(), chromium: browser.version(), rows: ROWS, reps: REPS,
    baselineMs: base, oursMs: ourMs, ratio: o / b, noopRequests: noop, pushRequestsFor10k: pushes, requestsFor10k: all,
    peakHeapFirstQuarterBytes: quarter, peakHeapAllBytes: whole, wasmMemoryBytes: wasmBytes,
    transactionsPerPage: txPerPage,
  }, null, 2) + "\n");
} finally {
  await browser.close();
  statics.close();
  server.kill();
}

// run.mjs: benchmark driver (npm run bench): serves bench/, pkg-web/ and Dexie, runs bench.js in headless Chromium, prints and saves medians.
// Options: --reps N (5) --impl raw,dexie,ours --put-rows N (10000) --gets N (1000) --query-rows N (100000) --out FILE
import { existsSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { chromium } from "playwright-core";
import { createStaticServer, listen } from "../scripts/serve.mjs";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
const FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-dev-shm-usage",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

const { values: opts } = parseArgs({
  options: {
    reps: { type: "string", default: "5" },
    impl: { type: "string", default: "raw,dexie,ours" },
    "put-rows": { type: "string", default: "10000" },
    gets: { type: "string", default: "1000" },
    "query-rows": { type: "string", default: "100000" },
    out: { type: "string", default: path.join(ROOT, "bench", "results.json") },
  },
});
const config = {
  impls: opts.impl.split(",").map((s) => s.trim()).filter(Boolean),
  reps: Number(opts.reps),
  putRows: Number(opts["put-rows"]),
  gets: Number(opts.gets),
  queryRows: Number(opts["query-rows"]),
  runId: `${Date.now().toString(36)}-${process.pid}`,
};
for (const impl of config.impls) {
  if (!["raw", "dexie", "ours"].includes(impl)) fail(`unknown implementation '${impl}' (raw, dexie, ours)`);
}
if (config.queryRows % 100 !== 0) fail("--query-rows must be a multiple of 100 (100 groups)");
if (config.impls.includes("ours") && !existsSync(path.join(ROOT, "pkg-web", "offline_tables.js"))) {
  fail("pkg-web/offline_tables.js is missing: run `npm run bench` (it builds it) or `scripts/build.sh web`, " +
    "or leave our implementation out with --impl raw,dexie");
}

function fail(msg) {
  console.error(`bench: ${msg}`);
  process.exit(1);
}

const median = (xs) => {
  if (!xs?.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const round = (x, digits = 1) => (x == null ? null : Math.round(x * 10 ** digits) / 10 ** digits);

const server = createStaticServer({
  "/": path.join(ROOT, "bench"),
  "/pkg-web/": path.join(ROOT, "pkg-web"),
  "/dexie/": path.join(ROOT, "node_modules", "dexie", "dist"),
});
const port = await listen(server, 0);
const browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS, headless: true });
let exitCode = 0;
try {
  const version = browser.version();
  console.log(`bench: Chromium ${version}, ${config.reps} reps, implementations: ${config.impls.join(", ")}`);
  const page = await browser.newPage();
  page.on("console", (msg) => {
    const text = msg.text();
    if (text.startsWith("[bench]")) console.log(text);
    else if (msg.type() === "error" || msg.type() === "warning") console.log(`[page ${msg.type()}] ${text}`);
  });
  page.on("pageerror", (err) => console.log(`[page error] ${err.message}`));
  await page.goto(`http://127.0.0.1:${port}/index.html`);
  await page.waitForFunction(() => window.benchReady === true, null, { timeout: 30_000 });
  const t0 = Date.now();
  const result = await page.evaluate((cfg) => window.runBench(cfg), config);
  console.log(`bench: finished in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  if (result.leftDatabases.length) console.log(`bench: warning: databases left behind: ${result.leftDatabases.join(", ")}`);

  const labels = {
    bulkPut: `bulkPut ${config.putRows} rows (~1 KB)`,
    get: `${config.gets} random gets`,
    query: `index eq query (${config.queryRows / 100}/${config.queryRows})`,
  };
  const rows = Object.entries(labels).map(([key, workload]) => {
    const s = result.samples[key];
    const [r, d, o] = ["raw", "dexie", "ours"].map((i) => median(s[i]));
    return {
      workload,
      raw: round(r),
      dexie: round(d),
      ours: round(o),
      oursVsRaw: r && o != null ? round(o / r, 2) : null,
      oursVsDexie: d && o != null ? round(o / d, 2) : null,
      samples: Object.fromEntries(Object.entries(s).map(([i, xs]) => [i, xs.map((x) => round(x))])),
    };
  });
  printTable(rows);
  let boundary = null;
  if (result.boundary) {
    // The same rows both ways in one run: the faster is the one rows should cross by (src/api/convert.rs).
    const b = result.boundary;
    boundary = ["in", "out"].map((dir) => {
      const [json, serde] = [median(b.json[dir]), median(b.serde[dir])];
      return {
        direction: dir === "in" ? "JS -> Rust" : "Rust -> JS",
        json: round(json), serde: round(serde), serdeVsJson: round(serde / json, 2),
        samples: { json: b.json[dir].map((x) => round(x)), serde: b.serde[dir].map((x) => round(x)) },
      };
    });
    const fmt = (x, d) => x.toFixed(d).padStart(10);
    console.log(`rows across the boundary (${config.putRows} rows of ~1 KB, median of ${config.reps}):`);
    console.log(`  ${"direction".padEnd(12)}${"JSON text".padStart(10)}${"serde-wb".padStart(10)}${"serde/JSON".padStart(12)}`);
    for (const r of boundary) console.log(`  ${r.direction.padEnd(12)}${fmt(r.json, 1)}${fmt(r.serde, 1)}${(r.serdeVsJson.toFixed(2) + "x").padStart(12)}`);
    console.log("  (ms; JSON text: JSON.stringify/JSON.parse in the page and serde_json; serde-wb: serde-wasm-bindgen)");
    console.log();
  }
  let live = null;
  if (result.live) {
    // Issue 19's budgets, both sides measured in this run (medians of per-put means).
    const l = result.live;
    const m = Object.fromEntries(Object.entries(l).map(([k, xs]) => [k, median(xs)]));
    live = [
      { budget: "a put affecting none of 100 live queries, vs none open", ours: round(m.unrelatedHundred, 2),
        baseline: round(m.unrelatedNone, 2), ratio: round(m.unrelatedHundred / m.unrelatedNone, 2), limit: 1.2 },
      { budget: "a put affecting one: listener has the result, vs put + query()", ours: round(m.affectedLive, 2),
        baseline: round(m.writeThenQuery, 2), ratio: round(m.affectedLive / m.writeThenQuery, 2), limit: 2 },
    ].map((r) => ({ ...r, pass: r.ratio <= r.limit, samples: undefined }));
    live.samples = Object.fromEntries(Object.entries(l).map(([k, xs]) => [k, xs.map((x) => round(x, 2))]));
    console.log(`live queries (10000 rows, 100 live queries of 20 rows each, ms per put, median of ${config.reps}):`);
    for (const r of live) {
      console.log(`  ${r.budget.padEnd(64)}${r.ours.toFixed(2).padStart(7)} vs ${r.baseline.toFixed(2).padStart(6)}` +
        `  ${(r.ratio.toFixed(2) + "x").padStart(6)} (budget ${r.limit}x): ${r.pass ? "PASS" : "FAIL"}`);
    }
    console.log();
  }
  const load = Object.fromEntries(Object.entries(result.samples.load).map(([i, xs]) => [i, round(xs[0], 0)]));
  console.log(`(untimed setup: loading ${config.queryRows} rows for the query took, in ms: ${JSON.stringify(load)})`);

  const out = {
    date: new Date().toISOString(),
    chromium: version,
    userAgent: result.userAgent,
    node: process.version,
    config: { ...config, statistic: "median", unit: "ms" },
    results: rows,
    rowsAcrossBoundary: boundary,
    liveQueries: live && { budgets: [...live], samples: live.samples },
    queryLoadMs: load,
  };
  await writeFile(opts.out, JSON.stringify(out, null, 2) + "\n");
  console.log(`bench: wrote ${path.relative(process.cwd(), opts.out)}`);
} catch (err) {
  console.error(`bench: failed: ${err.message ?? err}`);
  exitCode = 1;
} finally {
  await browser.close();
  server.close();
}
process.exit(exitCode);

function printTable(rows) {
  const fmt = (x, digits, suffix = "") => (x == null ? "-" : `${x.toFixed(digits)}${suffix}`);
  const table = [
    ["workload", "raw ms", "dexie ms", "ours ms", "ours/raw", "ours/dexie"],
    ...rows.map((r) => [r.workload, fmt(r.raw, 1), fmt(r.dexie, 1), fmt(r.ours, 1), fmt(r.oursVsRaw, 2, "x"), fmt(r.oursVsDexie, 2, "x")]),
  ];
  const widths = table[0].map((_, c) => Math.max(...table.map((row) => row[c].length)));
  const line = (row) => row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join("  ");
  console.log();
  console.log(line(table[0]));
  console.log(widths.map((w) => "-".repeat(w)).join("  "));
  for (const row of table.slice(1)) console.log(line(row));
  console.log();
}

// size.mjs (npm run size; also printed by npm run bench): what a page downloads, measured from the packed tarball
// (target/npm/offline-tables-<version>.tgz, from scripts/pack.mjs): the .wasm and the JS glue (entry, glue, snippets) of
// each build, raw and gzipped (level 9), against the budget of 150 kB gzipped (wasm + glue), and Dexie's minified
// build from node_modules for comparison. The budget is for the default entry (`offline-tables`, `offline-tables/web`:
// the build without the fetch interceptor); `offline-tables/full` is printed beside it.
// Options: --check exits 1 when over budget; --json prints JSON only.
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const BUDGET = 150_000; // bytes, gzipped: wasm + JS glue
const args = new Set(process.argv.slice(2));

const npmDir = path.join(ROOT, "target", "npm");
const tarball = existsSync(npmDir) && readdirSync(npmDir).find((f) => /^offline-tables-.*\.tgz$/.test(f));
if (!tarball) {
  console.error("size: no target/npm/offline-tables-*.tgz: run `npm run pack` (or scripts/build.sh all && node scripts/pack.mjs)");
  process.exit(1);
}
const dir = mkdtempSync(path.join(tmpdir(), "ot-size-"));
try {
  execFileSync("tar", ["xzf", path.join(npmDir, tarball), "-C", dir]);
  const pkg = path.join(dir, "package");
  const measure = (files) => {
    let raw = 0, gz = 0;
    for (const f of files) {
      const buf = readFileSync(path.join(pkg, f));
      raw += buf.length;
      gz += gzipSync(buf, { level: 9 }).length;
    }
    return { raw, gz };
  };
  // One build of the package: `at` is "." (the default entry) or "full".
  const build = (at) => {
    const dir = path.join(pkg, at, "snippets");
    const snippets = existsSync(dir)
      ? readdirSync(dir, { recursive: true }).map((f) => path.join(at, "snippets", f)).filter((f) => f.endsWith(".js"))
      : [];
    const wasm = measure([path.join(at, "offline_tables_bg.wasm")]);
    // Each file gzipped on its own, as a server sends them.
    const glue = {
      bundler: measure([path.join(at, "offline_tables.js"), path.join(at, "offline_tables_bg.js"), ...snippets]),
      web: measure([path.join(at, "web.js"), ...snippets]),
    };
    const total = {
      bundler: { raw: wasm.raw + glue.bundler.raw, gz: wasm.gz + glue.bundler.gz },
      web: { raw: wasm.raw + glue.web.raw, gz: wasm.gz + glue.web.gz },
    };
    return { wasm, glue, total };
  };
  const core = build(".");
  const full = build("full");
  const dexiePath = path.join(ROOT, "node_modules", "dexie", "dist", "dexie.min.js");
  const dexie = existsSync(dexiePath)
    ? { version: JSON.parse(readFileSync(path.join(ROOT, "node_modules", "dexie", "package.json"))).version }
    : null;
  if (dexie) {
    const buf = readFileSync(dexiePath);
    dexie.raw = buf.length;
    dexie.gz = gzipSync(buf, { level: 9 }).length;
  }
  const worst = Math.max(core.total.bundler.gz, core.total.web.gz);
  const result = { tarball, budget: BUDGET, ...core, full, withinBudget: worst <= BUDGET, dexie };
  if (args.has("--json")) {
    console.log(JSON.stringify(result, null, 2));
  } else {
    const kb = (n) => `${(n / 1000).toFixed(1)} kB`.padStart(10);
    console.log(`size of ${tarball} (gzip -9 per file; 1 kB = 1000 B)`);
    console.log(`  ${"".padEnd(34)}${"raw".padStart(10)}${"gzipped".padStart(10)}`);
    for (const [title, b, entry] of [["offline-tables (default)", core, "."], ["offline-tables/full (with fetch interception)", full, "./full"]]) {
      console.log(`  ${title}`);
      console.log(`    ${"offline_tables_bg.wasm".padEnd(32)}${kb(b.wasm.raw)}${kb(b.wasm.gz)}`);
      console.log(`    ${`JS glue, bundler build (${entry})`.padEnd(32)}${kb(b.glue.bundler.raw)}${kb(b.glue.bundler.gz)}`);
      console.log(`    ${`JS glue, web build (${entry}/web)`.padEnd(32)}${kb(b.glue.web.raw)}${kb(b.glue.web.gz)}`);
      console.log(`    ${"total, bundler build".padEnd(32)}${kb(b.total.bundler.raw)}${kb(b.total.bundler.gz)}`);
      console.log(`    ${"total, web build".padEnd(32)}${kb(b.total.web.raw)}${kb(b.total.web.gz)}`);
    }
    if (dexie) console.log(`  ${`Dexie ${dexie.version} (dist/dexie.min.js)`.padEnd(34)}${kb(dexie.raw)}${kb(dexie.gz)}`);
    console.log(`  budget: ${(BUDGET / 1000).toFixed(0)} kB gzipped (wasm + glue, default entry): ${result.withinBudget ? "within" : `OVER by ${((worst - BUDGET) / 1000).toFixed(1)} kB`}`);
  }
  if (args.has("--check") && !result.withinBudget) process.exit(1);
} finally {
  rmSync(dir, { recursive: true, force: true });
}

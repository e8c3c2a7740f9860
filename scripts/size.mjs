// size.mjs (npm run size; also printed by npm run bench): what a page downloads, measured from the packed tarball
// (target/npm/offline-tables-<version>.tgz, from scripts/pack.mjs): the .wasm and the JS glue (entry, glue, snippets)
// of the bundler and web entries, raw and gzipped (level 9, each file on its own, as a server sends them), against
// the budget (340 kB gzipped, wasm + glue; we aim for 200 kB), with Dexie's minified build from node_modules for
// comparison. docs/performance.md (*Size*) holds these figures, and only it.
// Options: --check exits 1 over the budget; --json prints JSON only.
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const BUDGET = 340_000; // bytes, gzipped: wasm + JS glue, either entry (250 kB until issue 18, 285 kB until issue 19, 310 kB until issue 20, then 325 kB for its XHR part, 340 and briefly 345 kB for its OData part until the first trim: docs/performance.md)
const AIM = 200_000;
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
  const snippetDir = path.join(pkg, "snippets");
  const snippets = existsSync(snippetDir)
    ? readdirSync(snippetDir, { recursive: true }).map((f) => path.join("snippets", f)).filter((f) => f.endsWith(".js"))
    : [];
  const wasm = measure(["offline_tables_bg.wasm"]);
  const glue = {
    bundler: measure(["offline_tables.js", "offline_tables_bg.js", ...snippets]),
    web: measure(["web.js", ...snippets]),
  };
  const total = {
    bundler: { raw: wasm.raw + glue.bundler.raw, gz: wasm.gz + glue.bundler.gz },
    web: { raw: wasm.raw + glue.web.raw, gz: wasm.gz + glue.web.gz },
  };
  const dexiePath = path.join(ROOT, "node_modules", "dexie", "dist", "dexie.min.js");
  const dexie = existsSync(dexiePath)
    ? { version: JSON.parse(readFileSync(path.join(ROOT, "node_modules", "dexie", "package.json"))).version }
    : null;
  if (dexie) {
    const buf = readFileSync(dexiePath);
    dexie.raw = buf.length;
    dexie.gz = gzipSync(buf, { level: 9 }).length;
  }
  const worst = Math.max(total.bundler.gz, total.web.gz);
  const result = { tarball, budget: BUDGET, aim: AIM, wasm, glue, total, withinBudget: worst <= BUDGET, withinAim: worst <= AIM, dexie };
  if (args.has("--json")) {
    console.log(JSON.stringify(result, null, 2));
  } else {
    const kb = (n) => `${(n / 1000).toFixed(1)} kB`.padStart(10);
    const row = (title, m) => console.log(`  ${title.padEnd(40)}${kb(m.raw)}${kb(m.gz)}`);
    console.log(`size of ${tarball} (gzip -9 per file; 1 kB = 1000 B)`);
    console.log(`  ${"".padEnd(40)}${"raw".padStart(10)}${"gzipped".padStart(10)}`);
    row("offline_tables_bg.wasm", wasm);
    row("JS glue, bundler (offline-tables)", glue.bundler);
    row("JS glue, web (offline-tables/web)", glue.web);
    row("total, bundler", total.bundler);
    row("total, web", total.web);
    if (dexie) row(`Dexie ${dexie.version} (dist/dexie.min.js)`, dexie);
    const over = (limit) => `OVER by ${((worst - limit) / 1000).toFixed(1)} kB`;
    console.log(`  budget ${(BUDGET / 1000).toFixed(0)} kB gzipped (wasm + glue): ${result.withinBudget ? "within" : over(BUDGET)}; ` +
      `aim ${(AIM / 1000).toFixed(0)} kB: ${result.withinAim ? "within" : over(AIM)}`);
  }
  if (args.has("--check") && !result.withinBudget) process.exit(1);
} finally {
  rmSync(dir, { recursive: true, force: true });
}

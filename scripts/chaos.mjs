#!/usr/bin/env node
// chaos.mjs: `npm run chaos -- [--runs N] [--seed S] [--steps K] [--verbose] [--stop] [--narrow]` runs the randomized sync
// schedules of tests/e2e/chaos.mjs (own reference server per schedule, faults, reloads, several devices) and prints
// every failing seed with the command that replays it. `--seed S` alone replays that one schedule.
// --narrow resolves kept conflicts with a fresh row only and never removes work orders' parents (see tests/e2e/chaos.mjs).
// --db postgres runs each schedule's server on a fresh PostgreSQL database (needs OT_TEST_POSTGRES_URL: source
// target/postgres.env after scripts/postgres.sh target/postgres.env).
// Needs pkg-web/ and target/debug/offline-tables-server built with the test-faults feature (the npm script builds both
// first: cargo build-tested, an alias of .cargo/config.toml).
import { runSchedules } from "../tests/e2e/chaos.mjs";

const args = process.argv.slice(2);
const opt = (name) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const seedArg = opt("seed");
const runs = Number(opt("runs") ?? (seedArg !== undefined ? 1 : 200));
const steps = Number(opt("steps") ?? 40);
const seed = seedArg !== undefined ? Number(seedArg) : (Date.now() % 1e9) >>> 0;
const verbose = args.includes("--verbose");
for (const [k, v] of Object.entries({ runs, steps, seed })) {
  if (!Number.isInteger(v) || v < 0) { console.error(`chaos: --${k} must be a non-negative integer`); process.exit(2); }
}

console.log(`chaos: ${runs} schedule(s) of ${steps} steps from seed ${seed}`);
const progress = { passed: 0, failed: [] };
for (const sig of ["SIGINT", "SIGTERM"]) {
  process.on(sig, () => {
    const ms = Date.now() - (progress.t0 ?? Date.now());
    console.log(`\nchaos: stopped by ${sig}: ${progress.passed} passed, ${progress.failed.length} failed in ${(ms / 1000).toFixed(1)} s`
      + (progress.failed.length ? `; failing seeds: ${progress.failed.map((f) => f.seed).join(" ")}` : ""));
    process.exit(130);
  });
}
const full = !args.includes("--narrow");
const db = opt("db") ?? "sqlite";
if (db !== "sqlite" && db !== "postgres") { console.error("chaos: --db must be sqlite or postgres"); process.exit(2); }
if (db === "postgres") console.log("chaos: the servers use PostgreSQL");
const r = await runSchedules({ runs, seed, steps, verbose, stopOnFailure: args.includes("--stop"), full, db, progress });
console.log(`\nchaos: ${r.passed}/${r.runs} schedules passed in ${(r.ms / 1000).toFixed(1)} s (seeds ${seed}..${seed + runs - 1}, ${steps} steps)`);
if (r.failed.length) {
  console.log(`failing seeds: ${r.failed.map((f) => f.seed).join(" ")}`);
  for (const f of r.failed) console.log(`  replay: npm run chaos -- --seed ${f.seed} --steps ${steps}${full ? "" : " --narrow"}${db === "sqlite" ? "" : ` --db ${db}`} --verbose`);
  process.exit(1);
}

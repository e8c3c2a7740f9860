// chaos.test.mjs: the short chaos run (tests/e2e/chaos.mjs) for npm test: a few dozen random schedules of devices
// writing, faults, network flips and reloads against a reference server of its own, then the "nothing lost"
// invariants. A failure names the seed and the command that replays it (npm run chaos -- --seed S). Long runs:
// npm run chaos -- --runs N. CHAOS_RUNS, CHAOS_STEPS and CHAOS_SEED override the defaults here.
import { test } from "node:test";
import assert from "node:assert/strict";
import { runSchedules, runSchedule } from "./chaos.mjs";
import { startHarness } from "./harness.mjs";

const RUNS = Number(process.env.CHAOS_RUNS ?? 12);
const STEPS = Number(process.env.CHAOS_STEPS ?? 30);
const SEED = process.env.CHAOS_SEED !== undefined ? Number(process.env.CHAOS_SEED) : (Date.now() % 1e9) >>> 0;
// The same schedules against the PostgreSQL backend, when npm test has started one (scripts/postgres.sh).
const PG_RUNS = Number(process.env.CHAOS_PG_RUNS ?? 4);
const PG = process.env.OT_TEST_POSTGRES_URL;

test("the checker catches a lost write (an offline write whose outbox entry is wiped)", { timeout: 60_000 }, async () => {
  const h = await startHarness();
  try {
    await assert.rejects(runSchedule(h, 4242, { steps: 6, sabotage: "drop-outbox" }),
      (e) => /never reached the server|does not converge/.test(e.message) && /chaos seed 4242/.test(e.message));
  } finally {
    await h.close();
  }
});

test(`${RUNS} random schedules keep every resolved write exactly once, converge and keep checkpoints behind their data`, { timeout: 600_000 }, async () => {
  console.log(`chaos: ${RUNS} schedules of ${STEPS} steps from seed ${SEED}`);
  const r = await runSchedules({ runs: RUNS, seed: SEED, steps: STEPS });
  console.log(`chaos: ${r.passed}/${RUNS} passed in ${(r.ms / 1000).toFixed(1)} s`);
  assert.equal(r.failed.length, 0,
    `${r.failed.length} schedule(s) failed; replay with ${r.failed.map((f) => `npm run chaos -- --seed ${f.seed} --steps ${STEPS}`).join(" ; ")}\n`
    + r.failed.map((f) => f.error.message).join("\n\n"));
});

test(`${PG_RUNS} random schedules against the PostgreSQL backend keep the same promises`, { timeout: 600_000, skip: PG ? false : "OT_TEST_POSTGRES_URL is not set (npm test sets it)" }, async () => {
  const seed = (SEED + 500_000) >>> 0;
  console.log(`chaos (PostgreSQL): ${PG_RUNS} schedules of ${STEPS} steps from seed ${seed}`);
  const r = await runSchedules({ runs: PG_RUNS, seed, steps: STEPS, db: "postgres" });
  console.log(`chaos (PostgreSQL): ${r.passed}/${PG_RUNS} passed in ${(r.ms / 1000).toFixed(1)} s`);
  assert.equal(r.failed.length, 0,
    `${r.failed.length} schedule(s) failed; replay with ${r.failed.map((f) => `npm run chaos -- --seed ${f.seed} --steps ${STEPS} --db postgres`).join(" ; ")}\n`
    + r.failed.map((f) => f.error.message).join("\n\n"));
});

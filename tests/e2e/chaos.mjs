// chaos.mjs: the randomized sync test of issue 6. Several devices (browser contexts, each with its own IndexedDB
// store) write at random, also to the same rows, while a schedule drawn from a seed flips their network, injects
// server faults and reloads or reopens their pages; a REST "device" writes on the server directly. At the end, with
// faults off, it checks the "nothing lost" invariants (docs: design.md):
//   - exactly once: the server's push journal (GET /_test/journal, faults.rs) gives every (clientId, mutation id)
//     one outcome, however often it was resent, and no write (a unique tag) is applied under two mutation ids;
//   - every write whose promise resolved reached the server (its tag is in one of the device's pushed mutations:
//     applied, conflict or refused) unless a later local write to the same row could have coalesced it; every
//     refusal is in the device's sync-error list;
//   - convergence: each device's tables equal the server's rows for its user (REST, in scope);
//   - checkpoints: checked during the run and at the end, a device's checkpoint never passes the server's counter,
//     and every server row at or below it is held locally with the same content unless the row has local changes.
// Exports runSchedules() for tests/e2e/chaos.test.mjs and scripts/chaos.mjs; a failure message carries the seed
// and the command that replays it.
import assert from "node:assert/strict";
import path from "node:path";
import { createHash } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { startHarness, startReferenceServer, restAs } from "./harness.mjs";

/** A small seeded PRNG (mulberry32): the same seed gives the same schedule. */
export function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const POLICY = { accounts: "merge", workorders: "manual", notes: "server-wins", drafts: "client-wins", products: "readOnly", jobs: "server-wins", tasks: "server-wins" };
const WRITABLE = ["accounts", "workorders", "notes", "drafts"];
// inspections: rows with a photo file column, written by photoWrite (a row, then its photo) and checked for files.
// jobs and tasks: keys the server assigns (jobWrite: a job and maybe its task, with temporary keys).
const TABLES = [...WRITABLE, "products", "inspections", "jobs", "tasks"];
const TEMP = "~tmp:";
// Devices: two of nina's (same rows: conflicts) and one of omar's (whose keys overlap nina's: permission refusals).
const DEVICES = [
  { name: "n1", user: "nina" },
  { name: "n2", user: "nina" },
  { name: "o1", user: "omar" },
];
const REST_DEVICE = { name: "rest", user: "nina" };
const TIMEOUT_MS = 1500; // the stores' request timeout: a hung request fails fast

// Runs in every page of every device (addInitScript): opening the store, recording its events through the
// context's binding, and a raw IndexedDB snapshot read in one transaction.
function pageHelpers() {
  window.chaos = {
    async open(name, url, token, timeoutMs, profile) {
      while (window.ot === undefined) await new Promise((r) => setTimeout(r, 10));
      // Per-table sync (odd seeds): the server's profile with each table's own interval, so tables pull apart, each
      // with its own checkpoint; else every table every 2 s, together.
      const options = profile ? { profile, sync: {} } : { sync: { intervalSeconds: 2 } };
      const store = await window.ot.OfflineStore.open({ name, server: { url, token, timeoutMs }, ...options });
      store.on("conflict", (c) => window.chaosEvent?.({ type: "conflict", table: c.table, key: c.key }));
      store.on("syncerror", (e) => window.chaosEvent?.({ type: "syncerror", table: e.table, key: e.key, reason: e.reason }));
      window.store = store;
      return true;
    },
    async snapshot(name) {
      const req = (r) => new Promise((res, rej) => { r.onsuccess = () => res(r.result); r.onerror = () => rej(r.error); });
      const db = await req(indexedDB.open(name));
      try {
        const names = [...db.objectStoreNames];
        const tx = db.transaction(names, "readonly");
        const all = await Promise.all(names.map(async (n) => {
          const s = tx.objectStore(n);
          return [n, await req(s.getAllKeys()), await req(s.getAll())];
        }));
        const out = { tables: {}, pendingKeys: [], checkpoint: null, checkpoints: {}, clientId: null };
        const pend = (t, k) => out.pendingKeys.push(JSON.stringify([t, k]));
        for (const [n, keys, values] of all) {
          if (n === "_meta") {
            keys.forEach((k, i) => {
              if (k === "checkpoint") out.checkpoint = values[i];
              if (k === "checkpoints") out.checkpoints = values[i];
              if (k === "clientId") out.clientId = values[i];
              if (k === "inflight") for (const m of JSON.parse(values[i]).mutations) pend(m.table, m.key);
            });
          } else if (n === "_outbox") {
            for (const e of values) for (const k of e.k) pend(e.t, k);
            // (_base is not a sign of a local change: a pushed row keeps its base { version, row } until pulled.)
          } else if (n === "_conflicts") {
            for (const c of values) pend(c.table, c.key);
          } else if (!n.startsWith("_")) {
            out.tables[n] = values;
          }
        }
        return out;
      } finally {
        db.close();
      }
    },
  };
}

class ChaosFailure extends Error {}

/** One schedule: returns a summary, throws (with the seed) when an invariant breaks. */
// full (the default): kept conflicts are resolved with "local", "server" or a row of the app's, and work orders hang
// off accounts the schedule deletes, so pulls remove rows with kept conflicts and pending changes (the client bugs
// once reproduced in conflict_regressions.test.mjs). full: false resolves with a fresh row only and keeps work
// orders' parents, a narrower run that steers clear of those paths.
export async function runSchedule(h, seed, { steps = 30, verbose = false, sabotage = null, full = true, db = "sqlite" } = {}) {
  // Each step draws from a stream of its own: a step whose choices depend on timing (a conflict there or not, a
  // store open or not) does not shift the steps after it, so a replay of the seed runs the same schedule.
  let rnd = mulberry32(seed);
  const reseed = (step) => { rnd = mulberry32((Math.imul(seed, 0x9e3779b1) ^ Math.imul(step + 1, 0x85ebca6b)) >>> 0); };
  const pick = (xs) => xs[Math.floor(rnd() * xs.length)];
  const chance = (p) => rnd() < p;
  const int = (lo, hi) => lo + Math.floor(rnd() * (hi - lo + 1));
  const trace = [];
  const note = (s) => { trace.push(s); if (verbose) console.log(`  [${seed}] ${s}`); };

  // Odd seeds sync per table: work orders with their accounts every 5 s, notes every 6 s, drafts and products once a
  // day (so only sync() and the partial syncs below pull those).
  const intervals = seed % 2 === 1 ? { accounts: 5, workorders: 5, notes: 6, drafts: 86_400, products: 86_400 } : null;
  const server = await startReferenceServer({ db });
  const S = server.url;
  const tokenOf = (u) => `dev-token-${u}`;
  let profile = null;
  if (intervals) {
    profile = await (await fetch(`${S}/sync/profile`, { headers: { authorization: `Bearer ${tokenOf("nina")}` } })).json();
    for (const [t, sec] of Object.entries(intervals)) profile.tables[t].syncIntervalSeconds = sec;
  }
  const rest = Object.fromEntries(["nina", "omar", "pia"].map((u) => [u, restAs(S, tokenOf(u))]));
  const admin = rest.nina; // /_test/* needs no user
  const devices = [];
  const writes = []; // every local write the schedule made: { dev, table, key, tag, op, seq, resolved, error, serverKnown }
  let seq = 0;
  let tagSeq = 0;
  const stats = { ops: 0, writes: 0, refused: 0, faults: 0, reloads: 0, offline: 0, checks: 0, rest: 0, tabs: 0, partial: 0, photos: 0, filesChecked: 0, transactions: 0, jobs: 0, unitsChecked: 0 };
  const jobWrites = []; // { dev, tag, taskTag, key, taskKey }: jobs (and tasks) inserted with temporary keys

  const withTimeout = (p, ms, what) => Promise.race([p, new Promise((_, rej) => setTimeout(() => rej(new ChaosFailure(`${what}: no answer within ${ms} ms`)), ms))]);
  const ev = (d, fn, arg, what = "page call") => withTimeout(d.page.evaluate(fn, arg), 20_000, `${d.name}: ${what}`);

  async function openPage(d) {
    d.page = await h.pageIn(d.context);
    if (!d.swReady) {
      // The test page's Service Worker keeps the page and the package cached, so a reload works offline: once it
      // is active, one reload puts the page under its control (and every file the page loads in its cache).
      await withTimeout(d.page.evaluate(() => window.swReady.then(() => true)), 10_000, `${d.name}: service worker`);
      await d.page.reload();
      await d.page.waitForFunction(() => window.ot !== undefined && navigator.serviceWorker.controller !== null, null, { timeout: 10_000 });
      d.swReady = true;
    }
    d.opened = false;
    try {
      await ev(d, ([n, u, t, ms, iv]) => window.chaos.open(n, u, t, ms, iv), [d.db, S, tokenOf(d.user), TIMEOUT_MS, profile], "open");
      d.opened = true;
    } catch (e) {
      note(`${d.name}: open failed: ${e.message.split("\n")[0]}`);
    }
  }

  try {
    for (const spec of DEVICES) {
      const context = await h.newContext();
      const d = { ...spec, context, db: `chaos-${seed}-${spec.name}`, events: [], kept: new Set(), offline: false };
      await context.exposeBinding("chaosEvent", (_src, e) => { d.events.push(e); });
      await context.addInitScript(pageHelpers);
      await openPage(d);
      if (!d.opened) throw new ChaosFailure(`${d.name}: the store did not open with no fault at all`);
      devices.push(d);
    }
    // The parents of the work orders (see rowFor), then a first download everywhere, before the faults start.
    assert.equal((await rest.nina("POST", "/api/data/accounts", { id: "ac-wo", ownerId: "nina", name: "work orders" })).status, 201);
    assert.equal((await rest.omar("POST", "/api/data/accounts", { id: "oac-wo", ownerId: "omar", name: "work orders" })).status, 201);
    for (const d of devices) await ev(d, () => window.store.sync(), null, "first sync");

    const keysFor = (d, table) => {
      const shared = [0, 1].map((i) => `${table.slice(0, 2)}-${i}`);
      return d.user === "omar" && chance(0.7) ? [0, 1].map((i) => `o${table.slice(0, 2)}-${i}`) : shared;
    };
    const rowFor = (d, table, key, tag) => {
      const row = { id: key, tag, n: int(0, 99) };
      if (table === "workorders") {
        // (In a full run work orders hang off the accounts the schedule writes and deletes; otherwise off accounts
        // no step deletes.)
        const parents = full ? keysFor(d, "accounts") : d.user === "omar" && chance(0.7) ? ["oac-wo"] : ["ac-wo"];
        Object.assign(row, { accountId: pick(parents), status: pick(["open", "done"]), modifiedOn: new Date().toISOString() });
      } else if (table !== "products") {
        row.ownerId = d.user;
      }
      return row;
    };
    const newTag = (d) => `${d.name}.${++tagSeq}`;

    async function localWrite(d) {
      const table = chance(0.06) ? "products" : pick(WRITABLE);
      let kind = pick(["put", "put", "update", "update", "delete", "bulkPut"]);
      if (kind === "delete" && table === "workorders" && !full) kind = "update"; // (see rowFor)
      const keys = table === "products" ? ["p0", "p1"] : keysFor(d, table);
      const ops = [];
      if (kind === "bulkPut") {
        const ks = [...new Set([pick(keys), pick(keys), pick(keys)])];
        for (const k of ks) ops.push({ table, key: k, op: "put", tag: newTag(d), row: null });
      } else {
        ops.push({ table, key: pick(keys), op: kind, tag: kind === "delete" ? null : newTag(d) });
      }
      for (const o of ops) if (o.op !== "delete") o.row = kind === "update" ? { tag: o.tag, n: int(0, 99) } : rowFor(d, table, o.key, o.tag);
      const res = await ev(d, async ([kind, table, ops]) => {
        const t = window.store.table(table);
        const known = {};
        for (const o of ops) known[o.key] = (await t.meta(o.key))?.version ?? null;
        try {
          if (kind === "bulkPut") await t.bulkPut(ops.map((o) => o.row));
          else if (kind === "put") await t.put(ops[0].row);
          else if (kind === "update") await t.update(ops[0].key, ops[0].row);
          else await t.delete(ops[0].key);
          return { ok: true, known };
        } catch (e) {
          return { ok: false, code: e.code, message: e.message, known };
        }
      }, [kind, table, ops], `${kind} ${table}`);
      stats.writes++;
      const s = ++seq;
      for (const o of ops) writes.push({ dev: d.name, ...o, kind, seq: s, resolved: res.ok, error: res.code, serverKnown: res.known[o.key] != null });
      note(`${d.name} ${kind} ${table} ${ops.map((o) => `${o.key}${o.tag ? `=${o.tag}` : ""}`).join(",")} -> ${res.ok ? "ok" : res.code}`);
      if (table === "products") {
        if (res.ok) throw new ChaosFailure(`${d.name}: a write to the read-only table products resolved`);
        if (res.code !== "read_only") throw new ChaosFailure(`${d.name}: a write to products was refused with '${res.code}', not 'read_only'`);
        stats.refused++;
      } else if (!res.ok && !(kind === "update" && res.code === "not_found")) {
        throw new ChaosFailure(`${d.name}: ${kind} ${table} rejected unexpectedly: ${res.code} ${res.message}`);
      }
    }

    // A photo on an inspection: the row if the device has none, then its photo (putFile), whose upload goes after
    // the row's push. Omar's keys overlap nina's, so some rows (and so their uploads) are refused.
    async function photoWrite(d) {
      const key = d.user === "omar" && chance(0.7) ? `oin-${int(0, 1)}` : `in-${int(0, 1)}`;
      const tag = newTag(d);
      const res = await ev(d, async ([key, owner, tag]) => {
        const t = window.store.table("inspections");
        try {
          if ((await t.get(key)) === undefined) await t.put({ id: key, ownerId: owner, tag });
          const bytes = `photo ${tag} `.repeat(40);
          const meta = await t.putFile(key, "photo", new Blob([bytes], { type: "image/x-test" }));
          return { ok: true, hash: meta.hash };
        } catch (e) {
          return { ok: false, code: e.code, message: e.message };
        }
      }, [key, d.user, tag], "photo");
      stats.photos++;
      note(`${d.name} photo inspections ${key}=${tag} -> ${res.ok ? res.hash.slice(0, 15) : res.code}`);
      // A row deleted meanwhile by a pull (another device's refused write reverted) is the one allowed refusal.
      if (!res.ok && res.code !== "not_found") throw new ChaosFailure(`${d.name}: photo on ${key} refused: ${res.code} ${res.message}`);
    }

    // A transaction: puts on two tables (or two rows of one), committed together and pushed as one unit. Omar's
    // keys overlap nina's, so some units are refused whole (one sync error), which the invariants check.
    async function txWrite(d) {
      const names = [...new Set([pick(["accounts", "notes", "drafts"]), pick(WRITABLE)])];
      const ops = names.map((table) => {
        const key = pick(keysFor(d, table));
        const tag = newTag(d);
        return { table, key, op: "put", tag, row: rowFor(d, table, key, tag) };
      });
      const res = await ev(d, async ([names, ops]) => {
        const known = {};
        for (const o of ops) known[o.table + "/" + o.key] = (await window.store.table(o.table).meta(o.key))?.version ?? null;
        try {
          await window.store.transaction(names, async (tx) => { for (const o of ops) await tx.table(o.table).put(o.row); });
          return { ok: true, known };
        } catch (e) {
          return { ok: false, code: e.code, message: e.message, known };
        }
      }, [names, ops], "transaction");
      stats.writes++;
      stats.transactions++;
      const s = ++seq;
      for (const o of ops) writes.push({ dev: d.name, ...o, kind: "tx", seq: s, resolved: res.ok, error: res.code, serverKnown: res.known[o.table + "/" + o.key] != null });
      note(`${d.name} transaction ${ops.map((o) => `${o.table}/${o.key}=${o.tag}`).join(",")} -> ${res.ok ? "ok" : res.code}`);
      if (!res.ok) throw new ChaosFailure(`${d.name}: a transaction rejected: ${res.code} ${res.message}`);
    }

    // A job, and maybe its task pointing at it, inserted with temporary keys (in a transaction or not): one push
    // later both carry the server's keys everywhere.
    async function jobWrite(d) {
      const tag = newTag(d);
      const taskTag = chance(0.7) ? newTag(d) : null;
      const inTx = chance(0.5);
      const res = await ev(d, async ([owner, tag, taskTag, inTx]) => {
        const go = async (table) => {
          const key = await table("jobs").insert({ title: tag, tag, ownerId: owner });
          const taskKey = taskTag ? await table("tasks").insert({ jobId: key, tag: taskTag, ownerId: owner }) : null;
          return { key, taskKey };
        };
        try {
          const keys = inTx
            ? await window.store.transaction(["jobs", "tasks"], (tx) => go((n) => tx.table(n)))
            : await go((n) => window.store.table(n));
          return { ok: true, ...keys };
        } catch (e) {
          return { ok: false, code: e.code, message: e.message };
        }
      }, [d.user, tag, taskTag, inTx], "job");
      stats.writes++;
      stats.jobs++;
      const s = ++seq;
      note(`${d.name} job${inTx ? " (transaction)" : ""} ${tag}${taskTag ? ` + task ${taskTag}` : ""} -> ${res.ok ? res.key : res.code}`);
      if (!res.ok) throw new ChaosFailure(`${d.name}: inserting a job rejected: ${res.code} ${res.message}`);
      if (!String(res.key).startsWith(TEMP)) throw new ChaosFailure(`${d.name}: a job inserted got ${res.key}, not a temporary key`);
      writes.push({ dev: d.name, table: "jobs", key: res.key, op: "insert", tag, kind: "insert", seq: s, resolved: true, serverKnown: false });
      if (taskTag) writes.push({ dev: d.name, table: "tasks", key: res.taskKey, op: "insert", tag: taskTag, kind: "insert", seq: s, resolved: true, serverKnown: false });
      jobWrites.push({ dev: d.name, tag, taskTag, key: res.key, taskKey: res.taskKey });
    }

    async function restWrite() {
      const table = pick(WRITABLE.filter((t) => t !== "workorders"));
      const key = pick([0, 1].map((i) => `${table.slice(0, 2)}-${i}`));
      const tag = `rest.${++tagSeq}`;
      let kind = chance(0.25) ? "delete" : "patch";
      let r;
      if (kind === "patch") {
        r = await rest.nina("PATCH", `/api/data/${table}/${key}`, { tag, n: int(0, 99) });
        if (r.status === 404) { kind = "post"; r = await rest.nina("POST", `/api/data/${table}`, { id: key, ownerId: "nina", tag, n: int(0, 99) }); }
      } else {
        r = await rest.nina("DELETE", `/api/data/${table}/${key}`);
      }
      stats.rest++;
      note(`rest ${kind} ${table} ${key}${kind === "delete" ? "" : `=${tag}`} -> ${r.status}`);
      if (![200, 201, 204, 404, 409].includes(r.status)) throw new ChaosFailure(`REST ${kind} ${table}/${key}: status ${r.status}`);
    }

    async function injectFault() {
      const kind = pick(["status", "status", "hang", "close", "dropAfterCommit", "dropAfterCommit", "truncate", "malformed", "unknownChange", "delay", "unauthorized"]);
      const path = kind === "dropAfterCommit" ? "/sync/push" : kind === "unknownChange" ? "/sync/pull" : pick(["/sync/push", "/sync/pull", "/sync/*"]);
      const fault = kind === "status" ? { kind, status: pick([500, 503]) }
        : kind === "hang" ? { kind, ms: 4000 }
        : kind === "delay" ? { kind, ms: int(100, 800) }
        : { kind };
      const rule = { path, fault, times: kind === "close" || kind === "dropAfterCommit" ? 2 : int(1, 2), skip: int(0, 1) };
      if (chance(0.5)) rule.user = pick(["nina", "omar"]);
      const r = await admin("POST", "/_test/faults", { rules: [rule] });
      assert.equal(r.status, 200, `posting a fault rule: ${JSON.stringify(r.body)}`);
      stats.faults++;
      note(`fault ${JSON.stringify(rule)}`);
    }

    async function reload(d, how) {
      stats.reloads++;
      if (d.opened && chance(0.6)) {
        // Mid-sync: a sync (and maybe a write) in flight when the page goes.
        await d.page.evaluate(() => { window.store.sync(); }).catch(() => {});
        await new Promise((r) => setTimeout(r, int(0, 150)));
      }
      note(`${d.name} ${how}`);
      if (how === "reload") {
        await d.page.reload().catch(() => {});
        await d.page.waitForFunction(() => window.ot !== undefined, null, { timeout: 10_000 });
        d.opened = false;
        try {
          await ev(d, ([n, u, t, ms, iv]) => window.chaos.open(n, u, t, ms, iv), [d.db, S, tokenOf(d.user), TIMEOUT_MS, profile], "reopen");
          d.opened = true;
        } catch (e) {
          note(`${d.name}: reopen failed: ${e.message.split("\n")[0]}`);
        }
      } else {
        await d.page.close();
        await openPage(d);
      }
    }

    async function checkpointCheck(d, when) {
      if (!d.opened) return;
      stats.checks++;
      const snap = await ev(d, (n) => window.chaos.snapshot(n), d.db, "snapshot");
      await checkSnapshot(d, snap, when);
    }

    // A snapshot (one IndexedDB transaction) against the server's rows as of now, read after it: the checkpoint
    // must not pass the server's counter, and every server row at or below it must be there, unless pending.
    // Each table by its own checkpoint (a store from before per-table checkpoints has one for all).
    async function checkSnapshot(d, snap, when) {
      const full = await pullAll(d.user);
      const cpOf = (t) => { const c = snap.checkpoints?.[t] ?? snap.checkpoint; return c == null ? null : BigInt(c); };
      if (when === "end") {
        const none = TABLES.filter((t) => cpOf(t) == null);
        if (none.length) throw new ChaosFailure(`${d.name} (end): no checkpoint for ${none} after the final sync`);
      }
      for (const t of TABLES) {
        const cp = cpOf(t);
        if (cp != null && cp > BigInt(full.checkpoint)) {
          throw new ChaosFailure(`${d.name} (${when}): ${t}'s checkpoint ${cp} is ahead of the server's counter ${full.checkpoint}`);
        }
      }
      const pending = new Set(snap.pendingKeys);
      for (const c of full.changes) {
        const cp = cpOf(c.table);
        if (c.kind !== "upsert" || cp == null || BigInt(c.version) > cp || pending.has(JSON.stringify([c.table, c.key]))) continue;
        const local = (snap.tables[c.table] ?? []).find((r) => r.id === c.key);
        if (!local || !sameRow(local, c.row)) {
          throw new ChaosFailure(`${d.name} (${when}): checkpoint ${cp} covers ${c.table}/${c.key} at version ${c.version} `
            + `(${JSON.stringify(c.row)}) but the store holds ${JSON.stringify(local ?? null)} with no local change`);
        }
      }
    }

    async function pullAll(user) {
      const clientId = `chaos-probe-${user}-${Math.random().toString(36).slice(2)}`;
      const changes = [];
      let checkpoint = null;
      for (;;) {
        // (x-test-no-faults: the probe is not one of the clients under test, the fault rules leave it alone.)
        const res = await fetch(`${S}/sync/pull`, {
          method: "POST",
          headers: { authorization: `Bearer ${tokenOf(user)}`, "content-type": "application/json", "x-test-no-faults": "1" },
          body: JSON.stringify({ protocolVersion: 1, clientId, checkpoint, limit: 5000 }),
        });
        const body = await res.json();
        assert.equal(res.status, 200, `probe pull: ${JSON.stringify(body)}`);
        changes.push(...body.changes);
        checkpoint = body.checkpoint;
        if (!body.hasMore) return { changes, checkpoint };
      }
    }

    // ---- the schedule ----
    for (let step = 0; step < steps; step++) {
      reseed(step);
      stats.ops++;
      const d = pick(devices);
      const r = rnd();
      if (!d.opened && r < 0.9) { await reload(d, "reload"); continue; }
      if (r < 0.33) await localWrite(d);
      else if (r < 0.37) await txWrite(d);
      else if (r < 0.41) await jobWrite(d);
      else if (r < 0.45) await photoWrite(d);
      else if (r < 0.52) await restWrite();
      else if (r < 0.6) {
        // With per-table sync, half the syncs ask for one table (and those related to it).
        const tables = intervals && chance(0.5) ? [pick(TABLES)] : null;
        if (tables) stats.partial++;
        note(`${d.name} sync${tables ? ` ${tables}` : ""}`);
        const res = await ev(d, (t) => window.store.sync(t ? { tables: t } : undefined), tables, "sync");
        note(`  -> ${res.result} pushed ${res.pushed} pulled ${res.pulled} conflicts ${res.conflicts} errors ${res.errors}`);
      }
      else if (r < 0.7) await injectFault();
      else if (r < 0.8) {
        d.offline = !d.offline;
        stats.offline++;
        note(`${d.name} ${d.offline ? "offline" : "online"}`);
        await d.context.setOffline(d.offline);
      } else if (r < 0.83) await reload(d, chance(0.7) ? "reload" : "close and reopen");
      else if (r < 0.86) await secondTab(d);
      else if (r < 0.9) await resolveOne(d);
      else if (r < 0.94) await checkpointCheck(d, `step ${step}`);
      else if (r < 0.98) await race();
      else { const ms = int(50, 1500); note(`wait ${ms} ms`); await new Promise((res) => setTimeout(res, ms)); }
    }

    // nina's two devices write one row at once (and the REST device maybe too): a conflict for its table's policy.
    async function race() {
      const table = pick(WRITABLE);
      const key = `${table.slice(0, 2)}-${int(0, 1)}`;
      const twins = devices.filter((d) => d.user === "nina" && d.opened);
      note(`race on ${table}/${key}`);
      await Promise.all([
        ...twins.map(async (d) => {
          const tag = newTag(d);
          const row = rowFor(d, table, key, tag);
          const res = await ev(d, async ([table, row]) => {
            try { await window.store.table(table).put(row); return { ok: true }; } catch (e) { return { ok: false, code: e.code }; }
          }, [table, row], `race put ${table}`);
          writes.push({ dev: d.name, table, key, op: "put", tag, seq: ++seq, resolved: res.ok, serverKnown: true });
          note(`  ${d.name} put ${table} ${key}=${tag} -> ${res.ok ? "ok" : res.code}`);
          if (!res.ok) throw new ChaosFailure(`${d.name}: put ${table}/${key} rejected: ${res.code}`);
        }),
        chance(0.5) ? restWrite() : null,
      ]);
    }

    // A second tab of the device's origin: it writes through the leader tab's sync (Web Locks, BroadcastChannel),
    // then either closes, or the first tab closes (mid-sync, maybe) and the second takes over the leadership.
    async function secondTab(d) {
      if (!d.opened) return;
      const first = d.page;
      const second = await h.pageIn(d.context);
      const handover = chance(0.5);
      stats.tabs++;
      note(`${d.name} second tab${handover ? ", then the first one closes" : ""}`);
      try {
        d.page = second;
        await ev(d, ([n, u, t, ms, iv]) => window.chaos.open(n, u, t, ms, iv), [d.db, S, tokenOf(d.user), TIMEOUT_MS, profile], "open in a second tab");
        await localWrite(d);
        if (chance(0.5)) {
          const res = await ev(d, () => window.store.sync(), null, "sync from the second tab");
          note(`  ${d.name} second tab sync -> ${res.result}`);
        }
      } finally {
        d.page = first;
      }
      if (handover) {
        await first.evaluate(() => { window.store.sync(); }).catch(() => {});
        await first.close();
        d.page = second;
      } else {
        await second.close();
      }
    }

    async function resolveOne(d) {
      if (!d.opened) return;
      const conflicts = await ev(d, () => window.store.conflicts(), null, "conflicts");
      for (const c of conflicts) d.kept.add(JSON.stringify([c.table, c.key]));
      if (conflicts.length === 0) return;
      const c = pick(conflicts);
      const how = full ? pick(["local", "server", "row"]) : "row";
      let arg = how;
      let tag = null;
      if (how === "row") {
        tag = newTag(d);
        arg = { ...(c.server ?? c.local ?? rowFor(d, c.table, c.key, tag)), id: c.key, tag };
      }
      const res = await ev(d, async ([id, arg]) => {
        try { await window.store.resolveConflict(id, arg); return { ok: true }; } catch (e) { return { ok: false, code: e.code, message: e.message }; }
      }, [c.id, arg], "resolveConflict");
      note(`${d.name} resolve ${c.table}/${c.key} ${how}${tag ? `=${tag}` : ""} -> ${res.ok ? "ok" : res.code}`);
      if (!res.ok) throw new ChaosFailure(`${d.name}: resolveConflict(${c.id}, ${how}) failed: ${res.code} ${res.message}`);
      if (tag) writes.push({ dev: d.name, table: c.table, key: c.key, op: "resolve", tag, seq: ++seq, resolved: true, serverKnown: true });
      // "server": the app dropped this device's unpushed writes of the row (writes on top of a kept conflict wait for it).
      if (how === "server") writes.push({ dev: d.name, table: c.table, key: c.key, op: "discard", seq: ++seq, resolved: true });
    }

    if (sabotage === "drop-outbox") {
      // Self-check of the checker (chaos.test.mjs): a write made offline whose outbox entry then vanishes is a lost
      // write, which the invariants below must catch.
      const d = devices[0];
      if (!d.opened) await reload(d, "reload");
      await d.context.setOffline(true);
      d.offline = true;
      const tag = newTag(d);
      await ev(d, (row) => window.store.table("drafts").put(row), { id: "dr-0", ownerId: d.user, tag, n: 0 }, "sabotage write");
      writes.push({ dev: d.name, table: "drafts", key: "dr-0", op: "put", tag, seq: ++seq, resolved: true, serverKnown: true });
      await ev(d, (n) => new Promise((res, rej) => {
        const r = indexedDB.open(n);
        r.onsuccess = () => {
          const db = r.result;
          const tx = db.transaction(["_outbox"], "readwrite");
          tx.objectStore("_outbox").clear();
          tx.oncomplete = () => { db.close(); res(true); };
          tx.onerror = () => rej(tx.error);
        };
        r.onerror = () => rej(r.error);
      }), d.db, "sabotage");
      note(`sabotage: ${d.name} wrote drafts/dr-0=${tag} offline, then its outbox was cleared`);
    }

    reseed(steps);
    // ---- the end: faults off, everyone online, sync until quiet ----
    note("end: faults off, all online");
    await admin("DELETE", "/_test/faults");
    for (const d of devices) {
      if (d.offline) { d.offline = false; await d.context.setOffline(false); }
      if (!d.opened) await reload(d, "reload");
      if (!d.opened) throw new ChaosFailure(`${d.name}: the store does not open with faults off and the network on`);
    }
    // Quiet means one whole round in which no device pushed or pulled anything. Pushes alone are not enough: a
    // device's own background sync (started by its online event) can push after an earlier device's final pull in
    // the same round, and that earlier device would then be compared with rows it was never offered.
    let quiet = false;
    for (let round = 0; round < 12 && !quiet; round++) {
      quiet = true;
      for (const d of devices) {
        const res = await ev(d, () => window.store.sync(), null, "final sync");
        const conflicts = await ev(d, () => window.store.conflicts(), null, "conflicts");
        for (const c of conflicts) {
          d.kept.add(JSON.stringify([c.table, c.key]));
          const how = full ? pick(["local", "server", "row"]) : "row";
          let arg = how;
          if (how === "row") {
            const tag = newTag(d);
            arg = { ...(c.local ?? c.server ?? rowFor(d, c.table, c.key, tag)), id: c.key, tag };
            writes.push({ dev: d.name, table: c.table, key: c.key, op: "resolve", tag, seq: ++seq, resolved: true, serverKnown: true });
          }
          if (how === "server") writes.push({ dev: d.name, table: c.table, key: c.key, op: "discard", seq: ++seq, resolved: true });
          await ev(d, ([id, arg]) => window.store.resolveConflict(id, arg), [c.id, arg], "resolveConflict");
          note(`${d.name} final resolve ${c.table}/${c.key} ${how}${how === "row" ? `=${arg.tag}` : ""}`);
        }
        if (res.result !== "completed" || res.pushed > 0 || res.pulled > 0 || res.conflicts > 0 || conflicts.length > 0 || res.status.pending > 0) quiet = false;
        if (verbose) note(`  final ${d.name}: ${res.result} pushed ${res.pushed} pulled ${res.pulled} pending ${res.status.pending}`);
      }
    }
    if (!quiet) throw new ChaosFailure("the devices did not settle within 12 sync rounds with faults off");

    // ---- the invariants ----
    const journal = (await admin("GET", "/_test/journal")).body.entries;
    const snaps = {};
    for (const d of devices) {
      const snap = await ev(d, (n) => window.chaos.snapshot(n), d.db, "snapshot");
      snaps[d.name] = snap;
      assert.ok(snap.clientId, `${d.name} has a client id`);
      d.clientId = snap.clientId;
      await checkSnapshot(d, snap, "end");
      const pending = await ev(d, () => window.store.pending(), null, "pending");
      if (pending.length) throw new ChaosFailure(`${d.name}: local changes left after settling: ${JSON.stringify(pending)}`);
    }

    // Convergence: each device equals the server's rows for its user (REST applies the scope).
    for (const d of devices) {
      for (const table of TABLES) {
        const server = (await rest[d.user]("GET", `/api/data/${table}`)).body.value;
        const local = await ev(d, (t) => window.store.table(t).query(), table, "query");
        const show = (rows) => JSON.stringify(sortRows(rows));
        if (show(local) !== show(server)) {
          throw new ChaosFailure(`${d.name} (${d.user}) ${table} does not converge:\n    local  ${show(local)}\n    server ${show(server)}`);
        }
      }
    }

    // Files: every photo a server row names is stored on the server with those bytes (its hash), and each device
    // holds the same bytes locally ("download": "sync"), readable with no request.
    for (const d of devices) {
      const rows = (await rest[d.user]("GET", "/api/data/inspections")).body.value;
      for (const row of rows) {
        if (!row.photo) continue;
        const url = `${S}/api/files/inspections/'${encodeURIComponent(row.id)}'/photo`;
        const res = await fetch(url, { headers: { authorization: `Bearer ${tokenOf(d.user)}`, "x-test-no-faults": "1" } });
        if (res.status !== 200) throw new ChaosFailure(`inspections/${row.id}: the server's row names a photo it does not serve (${res.status})`);
        const hash = "sha256-" + createHash("sha256").update(Buffer.from(await res.arrayBuffer())).digest("hex");
        if (hash !== row.photo.hash) throw new ChaosFailure(`inspections/${row.id}: the server serves ${hash} for a row naming ${row.photo.hash}`);
        const local = await ev(d, async ([key]) => {
          const blob = await window.store.table("inspections").getFile(key, "photo");
          if (!blob) return null;
          const digest = await crypto.subtle.digest("SHA-256", await blob.arrayBuffer());
          return "sha256-" + Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
        }, [row.id], "getFile");
        if (local !== row.photo.hash) throw new ChaosFailure(`${d.name}: inspections/${row.id}'s photo is ${local} locally, ${row.photo.hash} on the server`);
        stats.filesChecked++;
      }
    }

    // Exactly once, from the journal: one outcome per (clientId, id); no tag applied under two ids.
    const byId = new Map();
    for (const e of journal) {
      const id = `${e.clientId}#${e.id}`;
      const seen = byId.get(id);
      const outcome = JSON.stringify([e.status, e.version, e.table, e.key, e.op]);
      if (seen && seen !== outcome) throw new ChaosFailure(`mutation ${id} got two different outcomes: ${seen} then ${outcome}`);
      byId.set(id, outcome);
    }
    const devOf = new Map(devices.map((d) => [d.clientId, d.name]));
    const tagOf = (e) => e.row?.tag ?? e.columns?.tag ?? null;
    const appliedIds = new Map(); // tag -> Set of ids applied by its own device
    const seenTags = new Set();   // tags in any pushed mutation of its own device
    for (const e of journal) {
      const tag = tagOf(e);
      // (An inspection's tag is its row's, which its photo's metadata write carries again: not one write each.)
      if (!tag || e.table === "inspections" || devOf.get(e.clientId) !== tag.split(".")[0]) continue;
      seenTags.add(tag);
      if (e.status === "applied") {
        if (!appliedIds.has(tag)) appliedIds.set(tag, new Set());
        appliedIds.get(tag).add(`${e.clientId}#${e.id}`);
      }
    }
    for (const [tag, ids] of appliedIds) {
      if (ids.size > 1) throw new ChaosFailure(`write ${tag} was applied ${ids.size} times, by mutations ${[...ids].join(", ")}`);
    }

    // Nothing lost: each resolved write reached the server, or a later local write to its row may have coalesced it,
    // or the app resolved a kept conflict on the row with "server" (dropping the unpushed writes on top of it).
    for (const w of writes) {
      if (!w.resolved || w.table === "products" || w.op === "discard") continue;
      const later = writes.some((x) => x.dev === w.dev && x.table === w.table && x.key === w.key && x.seq > w.seq && x.resolved);
      if (later) continue;
      const dev = devices.find((d) => d.name === w.dev);
      if (w.tag) {
        if (!seenTags.has(w.tag)) {
          throw new ChaosFailure(`write ${w.tag} (${w.dev} ${w.op} ${w.table}/${w.key}) resolved but never reached the server, and no later write to its row`);
        }
      } else {
        // A delete: it must be pushed if the row was known on the server; or the row is gone anyway.
        const pushed = journal.some((e) => e.clientId === dev.clientId && e.table === w.table && e.key === w.key && e.op === "delete");
        const gone = (await rest[dev.user]("GET", `/api/data/${w.table}/${w.key}`)).status === 404;
        if (w.serverKnown && !pushed && !gone) {
          throw new ChaosFailure(`${w.dev} delete ${w.table}/${w.key} (a row known on the server) resolved but never reached the server`);
        }
      }
    }

    // Every refusal the server answered is in the device's sync-error list; and every listed error was refused. A
    // refused transaction is one error listing every change of its unit (`changes`); the mutations the server did not
    // apply because of another one of their unit (reason "transaction") are refusals only when their unit was refused.
    for (const d of devices) {
      const errors = await ev(d, () => window.store.syncErrors(), null, "syncErrors");
      const listed = new Set();
      const listedUnits = new Set();
      for (const e of errors) {
        for (const c of e.changes ?? [e]) listed.add(JSON.stringify([c.table, c.key]));
        if (e.unit) listedUnits.add(e.unit);
      }
      d.refusedUnits = listedUnits;
      const mine = journal.filter((e) => e.clientId === d.clientId);
      const refused = new Set(mine.filter((e) => e.status === "rejected" && (e.reason !== "transaction" || listedUnits.has(e.unit))).map((e) => JSON.stringify([e.table, e.key])));
      for (const r of refused) if (!listed.has(r)) throw new ChaosFailure(`${d.name}: the server refused a change to ${r} but the store's sync errors do not list it`);
      const answered = new Set(mine.filter((e) => e.status !== "applied").map((e) => JSON.stringify([e.table, e.key])));
      for (const l of listed) if (!refused.has(l) && !answered.has(l)) throw new ChaosFailure(`${d.name}: sync error for ${l} that the server never refused`);
      for (const u of listedUnits) {
        if (!mine.some((e) => e.unit === u && e.status !== "applied")) throw new ChaosFailure(`${d.name}: a sync error for transaction ${u}, which the server never refused`);
      }
      stats.refused += refused.size;
    }
    // Transactions: in every push, a unit's mutations were all applied or none was.
    const units = new Map();
    for (const e of journal) {
      if (!e.unit) continue;
      const k = `${e.clientId}#${e.push}#${e.unit}`;
      if (!units.has(k)) units.set(k, []);
      units.get(k).push(e);
    }
    for (const [k, es] of units) {
      const applied = es.filter((e) => e.status === "applied").length;
      if (applied !== 0 && applied !== es.length) {
        throw new ChaosFailure(`unit ${k} was applied in part: ${JSON.stringify(es.map((e) => [e.table, e.key, e.status, e.reason]))}`);
      }
      stats.unitsChecked++;
    }
    // Server-assigned keys: no temporary key is left anywhere; each job landed once, under a key of its pattern, and
    // every task points at a job the server has (the devices' rows are the server's: convergence above).
    for (const d of devices) {
      for (const t of ["jobs", "tasks"]) {
        const rows = snaps[d.name].tables[t] ?? [];
        const temp = rows.filter((r) => String(r.id).startsWith(TEMP) || String(r.jobId ?? "").startsWith(TEMP));
        if (temp.length) throw new ChaosFailure(`${d.name}: ${t} still holds temporary keys: ${JSON.stringify(temp)}`);
      }
    }
    for (const user of ["nina", "omar"]) {
      const jobs = (await rest[user]("GET", "/api/data/jobs")).body.value;
      const tasks = (await rest[user]("GET", "/api/data/tasks")).body.value;
      const ids = new Set(jobs.map((j) => j.id));
      for (const j of jobs) if (!/^JOB-\d{5}$/.test(j.id)) throw new ChaosFailure(`job ${JSON.stringify(j)} does not have a key of its pattern`);
      for (const t of tasks) {
        if (!ids.has(t.jobId)) throw new ChaosFailure(`task ${JSON.stringify(t)} points at no job of the server's`);
        if (typeof t.id !== "number") throw new ChaosFailure(`task ${JSON.stringify(t)} does not have an integer key`);
      }
      for (const w of jobWrites.filter((w) => devices.find((d) => d.name === w.dev).user === user)) {
        const found = jobs.filter((j) => j.tag === w.tag);
        if (found.length !== 1) throw new ChaosFailure(`job ${w.tag} (${w.dev}, ${w.key}) is on the server ${found.length} times`);
        if (w.taskTag) {
          const task = tasks.filter((t) => t.tag === w.taskTag);
          if (task.length !== 1 || task[0].jobId !== found[0].id) {
            throw new ChaosFailure(`task ${w.taskTag} of job ${w.tag} (${found[0].id}) is on the server as ${JSON.stringify(task)}`);
          }
        }
      }
    }
    // Every conflict on a manual table was kept for the app (seen in a "conflict" event or in conflicts()), unless it
    // refused its transaction: then the unit's one sync error (checked above) holds it, and the row is the server's.
    for (const d of devices) {
      for (const e of d.events) if (e.type === "conflict") d.kept.add(JSON.stringify([e.table, e.key]));
      for (const e of journal) {
        if (e.clientId !== d.clientId || e.status !== "conflict" || POLICY[e.table] !== "manual") continue;
        if (e.unit && d.refusedUnits.has(e.unit)) continue;
        const k = JSON.stringify([e.table, e.key]);
        if (!d.kept.has(k)) throw new ChaosFailure(`${d.name}: the server answered a conflict on ${k} (mutation ${e.id}), a manual table, but the store never kept it for the app`);
      }
    }
    stats.conflicts = journal.filter((e) => e.status === "conflict").length;
    stats.applied = byId.size;
    return stats;
  } catch (e) {
    const err = e instanceof Error ? e : new Error(String(e));
    err.message = `chaos seed ${seed} failed: ${err.message}\n  replay: npm run chaos -- --seed ${seed} --steps ${steps}${full ? "" : " --narrow"}${db === "sqlite" ? "" : ` --db ${db}`} --verbose\n  schedule:\n    ${trace.slice(-60).join("\n    ")}`;
    err.seed = seed;
    // The whole story for a diagnosis: the schedule, the server's push journal and its log.
    try {
      const journal = (await admin("GET", "/_test/journal")).body?.entries ?? null;
      const dir = path.join(ROOT, "target", "chaos");
      mkdirSync(dir, { recursive: true });
      const file = path.join(dir, `seed-${seed}.json`);
      writeFileSync(file, JSON.stringify({ seed, steps, error: err.message, trace, journal, serverLog: server.log().split("\n") }, null, 1));
      err.message += `\n  details (schedule, push journal, server log): ${file}`;
    } catch { /* the failure itself is what matters */ }
    throw err;
  } finally {
    for (const d of devices) await d.context.close().catch(() => {});
    await server.close();
  }
}

function sortRows(rows) {
  return [...rows].map(canon).sort((a, b) => (String(a.id) < String(b.id) ? -1 : String(a.id) > String(b.id) ? 1 : 0));
}
function canon(v) {
  if (Array.isArray(v)) return v.map(canon);
  if (v && typeof v === "object") return Object.fromEntries(Object.keys(v).sort().map((k) => [k, canon(v[k])]));
  return v;
}
function sameRow(a, b) { return JSON.stringify(canon(a)) === JSON.stringify(canon(b)); }

/** Runs `runs` schedules from seed `seed` (then seed+1, …) in one browser; resolves to { passed, failed: [{ seed, error }], ms }. */
export async function runSchedules({ runs = 24, seed = (Date.now() % 1e9) >>> 0, steps = 30, verbose = false, stopOnFailure = false, full = true, db = "sqlite", log = console.log, progress = {} } = {}) {
  const h = await startHarness();
  const t0 = Date.now();
  const failed = (progress.failed = []);
  let passed = 0;
  progress.t0 = t0;
  try {
    for (let i = 0; i < runs; i++) {
      if (!h.browser.isConnected()) {
        log("chaos: the browser is gone; stopping");
        failed.push({ seed: (seed + i) >>> 0, error: new Error("the browser is gone") });
        break;
      }
      const s = (seed + i) >>> 0;
      const t = Date.now();
      try {
        const st = await runSchedule(h, s, { steps, verbose, full, db });
        passed++;
        progress.passed = passed;
        log(`ok   seed ${s} (${Date.now() - t} ms): ${st.writes} writes, ${st.rest} REST, ${st.faults} faults, ${st.reloads} reloads, ${st.tabs} second tabs, ${st.offline} flips, ${st.checks} mid-run checks, ${st.partial} one-table syncs, ${st.photos} photos (${st.filesChecked} checked at the end), ${st.transactions} transactions (${st.unitsChecked} units checked), ${st.jobs} jobs with temporary keys, ${st.applied} pushed, ${st.conflicts} conflicts, ${st.refused} refused`);
      } catch (e) {
        failed.push({ seed: s, error: e });
        log(`FAIL seed ${s} (${Date.now() - t} ms): ${e.message}`);
        if (stopOnFailure) break;
      }
    }
  } finally {
    await h.close();
  }
  return { passed, failed, ms: Date.now() - t0, seed, runs, steps };
}

// bench.js: in-page benchmark of raw IndexedDB, Dexie 4 and offline-tables on the same rows and workloads (see run.mjs).
import Dexie from "/dexie/dexie.mjs";

const OURS_URL = "/pkg-web/offline_tables.js";
const GROUPS = 100;

function log(msg) {
  console.log(`[bench] ${msg}`);
  document.getElementById("log").textContent += msg + "\n";
}

// ---- data: deterministic rows of about 1 KB ---------------------------------------

function mulberry32(seed) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = ("lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut labore " +
  "et dolore magna aliqua enim ad minim veniam quis nostrud exercitation ullamco laboris nisi aliquip ex ea commodo " +
  "pump valve filter boiler sensor inspection warranty invoice ladder cable meter").split(" ");
const CITIES = ["Lyon", "Paris", "Lille", "Nantes", "Bordeaux", "Marseille", "Toulouse", "Nice", "Rennes", "Strasbourg"];
const STATUSES = ["new", "scheduled", "in-progress", "done"];

const idOf = (i) => `r${String(i).padStart(7, "0")}`;
const groupOf = (i) => `g${String(i % GROUPS).padStart(3, "0")}`;

/** Rows start..start+count-1; the same index always gives the same row. */
function makeRows(start, count) {
  const rows = new Array(count);
  for (let n = 0; n < count; n++) {
    const i = start + n;
    const rand = mulberry32(i + 1);
    const pick = (list) => list[Math.floor(rand() * list.length)];
    let notes = "";
    while (notes.length < 820) notes += pick(WORDS) + " ";
    rows[n] = {
      id: idOf(i),
      group: groupOf(i),
      name: `Account ${i} ${pick(WORDS)}`,
      city: pick(CITIES),
      status: pick(STATUSES),
      amount: Math.round(rand() * 1e6) / 100,
      active: rand() < 0.8,
      modifiedOn: new Date(1.7e12 + Math.floor(rand() * 3e10)).toISOString(),
      tags: [pick(WORDS), pick(WORDS)],
      notes,
    };
  }
  return rows;
}

// ---- the three implementations behind one interface -----------------------------

function request(req) {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

const raw = {
  async open(name) {
    const req = indexedDB.open(name, 1);
    req.onupgradeneeded = () => {
      const store = req.result.createObjectStore("rows", { keyPath: "id" });
      store.createIndex("group", "group");
    };
    const db = await request(req);
    return {
      bulkPut: (rows) =>
        new Promise((resolve, reject) => {
          const tx = db.transaction("rows", "readwrite");
          const store = tx.objectStore("rows");
          for (const row of rows) store.put(row);
          tx.oncomplete = () => resolve();
          tx.onerror = () => reject(tx.error);
          tx.onabort = () => reject(tx.error ?? new Error("transaction aborted"));
        }),
      get: (key) => request(db.transaction("rows").objectStore("rows").get(key)),
      queryGroup: (group) => request(db.transaction("rows").objectStore("rows").index("group").getAll(group)),
      close: () => db.close(),
    };
  },
  destroy: (name) =>
    new Promise((resolve, reject) => {
      const req = indexedDB.deleteDatabase(name);
      req.onsuccess = () => resolve();
      req.onerror = () => reject(req.error);
      // "blocked" is transient while a closed connection's last transaction finishes; success follows.
    }),
};

const dexie = {
  async open(name) {
    const db = new Dexie(name);
    db.version(1).stores({ rows: "id, group" });
    await db.open();
    const table = db.table("rows");
    return {
      bulkPut: (rows) => table.bulkPut(rows),
      get: (key) => table.get(key),
      queryGroup: (group) => table.where("group").equals(group).toArray(),
      close: () => db.close(),
    };
  },
  destroy: (name) => Dexie.delete(name),
};

async function loadOurs() {
  const mod = await import(OURS_URL);
  await mod.default(); // --target web: fetch and instantiate offline_tables_bg.wasm
  const { OfflineStore, __BoundaryRows: BoundaryRows } = mod;
  const profile = { version: 1, tables: { rows: { key: "id", indexes: ["group"] } } };
  return {
    async open(name) {
      const store = await OfflineStore.open({ name, profile });
      const table = store.table("rows");
      return {
        bulkPut: (rows) => table.bulkPut(rows),
        get: (key) => table.get(key),
        queryGroup: (group) => table.query({ where: { group } }),
        close: () => store.close(),
        table,
      };
    },
    destroy: (name) => OfflineStore.deleteDatabase(name),
    // Rows into Rust and back out, by one way (`how`): "json" or "serde" (src/api/convert.rs).
    boundary(rows, how) {
      let t0 = now();
      const held = BoundaryRows.read(rows, how);
      const inMs = now() - t0;
      t0 = now();
      const back = held.write(how);
      const outMs = now() - t0;
      held.free();
      return { inMs, outMs, back };
    },
  };
}

// ---- live queries (issue 19's budgets), ours only ------------------------------------

const LIVE_QUERIES = 100;
const liveQuery = (g) => ({ where: { group: groupOf(g) }, orderBy: "amount", limit: 20 });

/** Opens the 100 live queries (one per group) and resolves once each has its first result. */
async function openLive(table, onRows) {
  const offs = [];
  await Promise.all(Array.from({ length: LIVE_QUERIES }, (_, g) => new Promise((first) => {
    let calls = 0;
    offs.push(table.live(liveQuery(g), (rows) => (calls++ === 0 ? first() : onRows(g, rows))));
  })));
  return () => offs.forEach((off) => off());
}

/**
 * Budget 1: a put that no live query's result holds or admits (its group is no query's), with 100 live queries
 * open vs none, per put. Budget 2: a put entering one query's result (group 7, first by amount), from the call
 * until that listener has the new result, vs the same put then a fresh query() with no live query open.
 */
async function liveWorkloads(ours, name, reps) {
  const h = await ours.open(name);
  const t = h.table;
  const out = { unrelatedNone: [], unrelatedHundred: [], affectedLive: [], writeThenQuery: [] };
  try {
    await h.bulkPut(makeRows(0, 10000));
    const base = makeRows(10000, 1)[0];
    // Per sample: 200 unrelated puts (a small difference, so many to average), 50 affecting one.
    const [unrelatedPuts, puts] = [200, 50];
    let n = 0;
    let waiting = null; // [id, resolve] of the put the group-7 listener waits for
    let stray = 0;
    const onRows = (g, rows) => {
      if (g === 7 && waiting && rows[0]?.id === waiting[0]) waiting[1](now());
      else if (g !== 7) stray++;
    };
    for (let rep = 0; rep < reps; rep++) {
      for (const mode of rotate(["none", "hundred"], rep)) {
        const close = mode === "hundred" ? await openLive(t, onRows) : null;
        const t0 = now();
        const ids = [];
        for (let i = 0; i < unrelatedPuts; i++) {
          ids.push(`x${n++}`);
          await t.put({ ...base, id: ids.at(-1), group: "none" });
        }
        const ms = (now() - t0) / unrelatedPuts;
        (mode === "none" ? out.unrelatedNone : out.unrelatedHundred).push(ms);
        if (close) close();
        await t.bulkDelete(ids); // untimed: every phase starts from the same 10000 rows
      }
      for (const mode of rotate(["live", "query"], rep)) {
        const close = mode === "live" ? await openLive(t, onRows) : null;
        let total = 0;
        const ids = [];
        for (let i = 0; i < puts; i++) {
          const row = { ...base, id: `a${n++}`, group: groupOf(7), amount: -n };
          ids.push(row.id);
          const t0 = now();
          if (mode === "live") {
            const got = new Promise((resolve) => { waiting = [row.id, resolve]; });
            await t.put(row);
            total += (await got) - t0;
            waiting = null;
          } else {
            await t.put(row);
            const rows = await t.query(liveQuery(7));
            total += now() - t0;
            check(rows[0].id === row.id, "the fresh query has the new row first");
          }
        }
        (mode === "live" ? out.affectedLive : out.writeThenQuery).push(total / puts);
        if (close) close();
        await t.bulkDelete(ids);
      }
      log(`rep ${rep + 1}/${reps} live: unrelated put ${out.unrelatedNone.at(-1).toFixed(2)} ms with none open, ` +
        `${out.unrelatedHundred.at(-1).toFixed(2)} ms with ${LIVE_QUERIES}; affecting one: listener has it after ` +
        `${out.affectedLive.at(-1).toFixed(2)} ms, put + query() ${out.writeThenQuery.at(-1).toFixed(2)} ms`);
    }
    check(stray === 0, `${stray} calls of live queries the puts did not affect`);
  } finally {
    h.close();
    await ours.destroy(name);
  }
  return out;
}

// ---- workloads -----------------------------------------------------------------------

const now = () => performance.now();
const rotate = (list, by) => list.map((_, i) => list[(i + by) % list.length]);

function check(ok, what) {
  if (!ok) throw new Error(`check failed: ${what}`);
}

/** Runs every workload `reps` times, interleaving the implementations; returns raw samples in ms. */
window.runBench = async function runBench(config) {
  const { impls: names, reps, putRows, gets, queryRows, runId } = config;
  const impls = { raw, dexie };
  if (names.includes("ours")) impls.ours = await loadOurs();
  const order = names.filter((n) => impls[n]);
  const samples = { bulkPut: {}, get: {}, query: {}, load: {} };
  for (const w of Object.keys(samples)) for (const n of order) samples[w][n] = [];
  // Rows across the JS boundary, ours only: each way, each direction.
  const boundary = { json: { in: [], out: [] }, serde: { in: [], out: [] } };
  const created = new Set();
  const dbName = (what, impl, rep = "") => {
    const name = `bench-${runId}-${what}-${impl}${rep === "" ? "" : "-" + rep}`;
    created.add(`${impl}:${name}`);
    return name;
  };

  const handles = {};
  let live = null;
  try {
    // 1 + 2: bulkPut of putRows rows into a fresh database, then `gets` random gets by key.
    const putData = makeRows(0, putRows);
    const rand = mulberry32(42);
    const keys = Array.from({ length: gets }, () => idOf(Math.floor(rand() * putRows)));
    for (let rep = 0; rep < reps; rep++) {
      for (const impl of rotate(order, rep)) {
        const name = dbName("put", impl, rep);
        const h = (handles.put = await impls[impl].open(name));
        let t0 = now();
        await h.bulkPut(putData);
        samples.bulkPut[impl].push(now() - t0);
        t0 = now();
        for (const key of keys) {
          const row = await h.get(key);
          check(row && row.id === key, `${impl}.get(${key})`);
        }
        samples.get[impl].push(now() - t0);
        h.close();
        delete handles.put;
        await impls[impl].destroy(name);
        created.delete(`${impl}:${name}`);
        log(`rep ${rep + 1}/${reps} ${impl}: bulkPut ${samples.bulkPut[impl].at(-1).toFixed(1)} ms, ` +
          `${gets} gets ${samples.get[impl].at(-1).toFixed(1)} ms`);
      }
    }

    // 3: putRows rows into Rust and back out, as JSON text and through serde-wasm-bindgen (interleaved).
    if (impls.ours) {
      for (let rep = 0; rep < reps; rep++) {
        for (const how of rotate(["json", "serde"], rep)) {
          const { inMs, outMs, back } = impls.ours.boundary(putData, how);
          check(back.length === putData.length && JSON.stringify(back[putData.length - 1]) === JSON.stringify(putData.at(-1)),
            `${how}: the rows came back unchanged`);
          boundary[how].in.push(inMs);
          boundary[how].out.push(outMs);
        }
        log(`rep ${rep + 1}/${reps} rows across the boundary: ` +
          ["json", "serde"].map((h) => `${h} in ${boundary[h].in.at(-1).toFixed(1)} ms, out ${boundary[h].out.at(-1).toFixed(1)} ms`).join("; "));
      }
    }

    // 4: indexed equality query returning queryRows/GROUPS rows.
    const chunk = 10000;
    for (const impl of order) {
      const h = (handles[impl] = await impls[impl].open(dbName("query", impl)));
      const t0 = now();
      for (let start = 0; start < queryRows; start += chunk) {
        await h.bulkPut(makeRows(start, Math.min(chunk, queryRows - start)));
      }
      samples.load[impl].push(now() - t0);
      log(`${impl}: loaded ${queryRows} rows in ${(now() - t0).toFixed(0)} ms (chunks of ${chunk}, untimed setup)`);
    }
    const expected = queryRows / GROUPS;
    const groupRand = mulberry32(7);
    for (let rep = 0; rep < reps; rep++) {
      const group = groupOf(Math.floor(groupRand() * GROUPS));
      for (const impl of rotate(order, rep)) {
        const t0 = now();
        const rows = await handles[impl].queryGroup(group);
        samples.query[impl].push(now() - t0);
        check(rows.length === expected && rows.every((r) => r.group === group),
          `${impl} query ${group}: ${rows.length} rows, expected ${expected}`);
      }
      log(`rep ${rep + 1}/${reps} query ${group}: ` +
        order.map((i) => `${i} ${samples.query[i].at(-1).toFixed(1)} ms`).join(", "));
    }
    if (impls.ours) {
      live = await liveWorkloads(impls.ours, dbName("live", "ours"), reps);
      created.delete(`ours:${dbName("live", "ours")}`);
    }
  } finally {
    for (const h of Object.values(handles)) h.close();
    for (const entry of created) {
      const [impl, name] = [entry.slice(0, entry.indexOf(":")), entry.slice(entry.indexOf(":") + 1)];
      await impls[impl].destroy(name).catch((err) => log(`could not delete ${name}: ${err}`));
    }
  }
  const left = (await indexedDB.databases()).map((d) => d.name).filter((n) => n.startsWith(`bench-${runId}`));
  return { samples, boundary: impls.ours ? boundary : null, live, leftDatabases: left, userAgent: navigator.userAgent };
};

window.benchReady = true;

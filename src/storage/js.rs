//! Small JavaScript helpers for the hot paths: wrapping IndexedDB requests in promises,
//! checking that rows are plain JSON before they are stored, and picking columns.
//! Walking objects from JS is many times faster than from wasm field by field.

use offline_tables_core::protocol::wire::{self, FromValue};
use wasm_bindgen::prelude::*;

#[wasm_bindgen(inline_js = r#"
export function req(r) {
  return new Promise((resolve, reject) => {
    // A request awaited after another one may have fired its event already.
    if (r.readyState === "done") {
      if (r.error) reject(r.error); else resolve(r.result);
      return;
    }
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
}
export function txDone(tx) {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error || new DOMException("transaction aborted", "AbortError"));
  });
}
export function txCommit(tx) {
  // Commit now rather than when the event loop idles; older engines lack commit().
  try { if (typeof tx.commit === "function") tx.commit(); } catch (_) { /* already finishing */ }
}
const wellFormed = typeof "".isWellFormed === "function"
  ? (s) => s.isWellFormed()
  : (s) => !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?:^|[^\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(s);
function bad(v, path, depth) {
  switch (typeof v) {
    case "boolean": return null;
    case "string":
      return wellFormed(v) ? null : `${path} holds a lone UTF-16 surrogate, which JSON text cannot carry to the server`;
    case "number": return Number.isFinite(v) ? null : `${path} is ${v}, which JSON cannot hold`;
    case "object": {
      if (v === null) return null;
      if (depth > 64) return `${path} is nested more than 64 levels deep (or circular)`;
      if (Array.isArray(v)) {
        for (let i = 0; i < v.length; i++) {
          if (v[i] === undefined) return `${path}[${i}] is undefined, which JSON cannot hold`;
          const e = bad(v[i], `${path}[${i}]`, depth + 1);
          if (e) return e;
        }
        return null;
      }
      const proto = Object.getPrototypeOf(v);
      if (proto !== Object.prototype && proto !== null) {
        const kind = (v.constructor && v.constructor.name) || "non-plain object";
        return `${path} is a ${kind}; rows hold JSON values only (store dates as ISO strings)`;
      }
      if (Object.getOwnPropertySymbols(v).length) return `${path} has a symbol-keyed property, which JSON cannot hold`;
      if (Object.prototype.hasOwnProperty.call(v, "__proto__")) return `${path} has a column named __proto__, which JavaScript objects cannot carry safely`;
      for (const k in v) {
        if (!Object.prototype.hasOwnProperty.call(v, k)) continue;
        if (!wellFormed(k)) return `${path} has a column name with a lone UTF-16 surrogate`;
        const x = v[k];
        if (x === undefined) continue;
        const e = bad(x, `${path}.${k}`, depth + 1);
        if (e) return e;
      }
      return null;
    }
    case "undefined": return `${path} is undefined`;
    default: return `${path} is a ${typeof v}, which JSON cannot hold`;
  }
}
function keyProblem(k, path) {
  if (typeof k === "string") return null;
  if (typeof k === "number") return Number.isFinite(k) ? null : `${path} is ${k}, not a finite number`;
  if (k === undefined) return `${path} is missing`;
  return `${path} must be a string or a finite number, got ${k === null ? "null" : typeof k}`;
}
export function checkKey(k, what) { return keyProblem(k, what); }
export function checkJson(v, what) {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return `${what} must be an object`;
  return bad(v, what, 0);
}
export function prepareRows(rows, keyCol, what) {
  if (!Array.isArray(rows)) return `${what} must be an array of rows`;
  const keys = new Array(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i];
    const at = rows.length === 1 && what === "row" ? "row" : `${what}[${i}]`;
    if (typeof row !== "object" || row === null || Array.isArray(row)) return `${at} must be an object`;
    const kp = keyProblem(row[keyCol], `${at}.${keyCol} (the key)`);
    if (kp) return kp;
    const e = bad(row, at, 0);
    if (e) return e;
    keys[i] = row[keyCol];
  }
  return keys;
}
export function mergePatch(current, patch) {
  const out = Object.assign({}, current);
  for (const k of Object.keys(patch)) {
    if (patch[k] === undefined) delete out[k]; else out[k] = patch[k];
  }
  return out;
}
export function pick(rows, cols) {
  const out = new Array(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i], o = {};
    for (let j = 0; j < cols.length; j++) { const v = r[cols[j]]; if (v !== undefined) o[cols[j]] = v; }
    out[i] = o;
  }
  return out;
}
export function pickJson(rows, cols) { return JSON.stringify(pick(rows, cols)); }
// Any JS value as text for a message: an Error as its name and message, else JSON where it has
// some, else String(v). (JsValue's Debug would link wasm-bindgen's debugString, 1.5 kB of glue.)
export function describe(v) {
  if (v instanceof Error) return String(v);
  try { const t = JSON.stringify(v); if (t !== undefined) return t; } catch (_) {}
  try { return String(v); } catch (_) { return Object.prototype.toString.call(v); }
}
export function jsonText(v, nulls) {
  // With `nulls`, undefined reads as null, not as a missing field (a query's
  // \`{ city: undefined }\` must not silently become "every city").
  const t = JSON.stringify(v, nulls ? (k, x) => (x === undefined ? null : x) : undefined);
  return t === undefined ? "null" : t;
}
export function gather(rows, order, cols) {
  const out = new Array(order.length);
  for (let i = 0; i < order.length; i++) {
    const r = rows[order[i]];
    if (cols) { const o = {}; for (const c of cols) if (r[c] !== undefined) o[c] = r[c]; out[i] = o; } else out[i] = r;
  }
  return out;
}
export function outboxEntry(table, keys, op) { return { t: table, k: keys, op }; }
// A synced row the app has not edited since it was downloaded has no base: the table
// holds the server's row, and the checkpoint bounds its version. Before a local write
// replaces or deletes such rows, their bases must be captured: the server's row (what a
// conflict merges against and a refusal reverts to) and a version at or after the row's
// (its settled version, or the checkpoint, whichever is later). A row the app created
// here (not on the server yet) has no base either, and must not be captured: a write of
// a few rows gives each new row the base LOCAL, so a later write tells it from a
// downloaded row at once; a bulk write does not (one more record per row made `bulkPut`
// 2.6 times slower) but sets `unmarked` in `_meta`. While `unmarked` is set, a write that
// meets a row with no base reads the outbox to tell (rows still pending were created
// here), marks LOCAL every row the bulk writes in it created, and clears `unmarked`; so
// the outbox is read once per bulk write at most, never once per write (which made each
// of 10,000 queued writes cost as much as all before it). A delete drops LOCAL with the row.
// `capture` issues the reads (before the caller's writes: requests run in order, so they
// see the rows as they were); `log(entry)` then adds the outbox entry and stores the bases.
const LOCAL = { local: true };
const isLocal = (base) => base !== undefined && base.local === true;
function versionMax(a, b) {
  if (a === undefined || a === null) return b;
  if (b === undefined || b === null) return a;
  return (a.length - b.length || (a < b ? -1 : a > b ? 1 : 0)) >= 0 ? a : b;
}
const keyId = (k) => typeof k + ":" + k;
// Few keys: a get per key. Many (a bulk write): first one key-range read of the table's
// keys and of the table's bases, then gets only for rows that exist and need a capture,
// so a bulk insert of new rows costs two reads, not two per row. `ready` resolves once
// the gets are issued; the writes come after it.
const FEW = 16;
export function capture(store, bases, meta, outbox, table, keys) {
  const found = [];
  // Keys with no row and no base (new rows, unless the write deletes) and keys whose
  // base is LOCAL (dropped, if the write deletes).
  const fresh = [];
  const local = [];
  const cp = meta.get("checkpoint");
  const unmarked = meta.get("unmarked");
  let bulkFresh = false;
  const take = (key, bk, base) => {
    const r = store.get(key);
    r.onsuccess = () => {
      if (r.result !== undefined) found.push({ key, bk, version: base && base.version, row: r.result });
    };
  };
  const sort = (key, bk, present, base) => {
    if (isLocal(base)) local.push(bk);
    else if (!present && base === undefined) fresh.push(bk);
  };
  let ready;
  if (keys.length <= FEW) {
    for (let i = 0; i < keys.length; i++) {
      const bk = [table, keys[i]];
      const b = bases.get(bk);
      const r = store.get(keys[i]);
      // Requests of one transaction complete in order: b has its result when r does.
      r.onsuccess = () => {
        const base = b.result;
        sort(keys[i], bk, r.result !== undefined, base);
        if (r.result !== undefined && (base === undefined || (base.row === undefined && !isLocal(base)))) {
          found.push({ key: keys[i], bk, version: base && base.version, row: r.result });
        }
      };
    }
    ready = Promise.resolve();
  } else {
    let lo = keys[0], hi = keys[0];
    for (let i = 1; i < keys.length; i++) {
      if (indexedDB.cmp(keys[i], lo) < 0) lo = keys[i];
      if (indexedDB.cmp(keys[i], hi) > 0) hi = keys[i];
    }
    const present = store.getAllKeys(IDBKeyRange.bound(lo, hi));
    const range = IDBKeyRange.bound([table, lo], [table, hi]);
    const baseKeys = bases.getAllKeys(range);
    const baseValues = bases.getAll(range);
    ready = new Promise((resolve, reject) => {
      baseValues.onerror = present.onerror = baseKeys.onerror = (e) => reject(e.target.error);
      baseValues.onsuccess = () => {
        const have = new Set(present.result.map(keyId));
        const based = new Map();
        baseKeys.result.forEach((k, i) => based.set(keyId(k[1]), baseValues.result[i]));
        try {
          const seen = new Set();
          for (const key of keys) {
            const id = keyId(key);
            if (seen.has(id)) continue;
            seen.add(id);
            const base = based.get(id);
            if (isLocal(base)) local.push([table, key]);
            if (!have.has(id)) {
              if (base === undefined) bulkFresh = true;
              continue;
            }
            if (base === undefined || (base.row === undefined && !isLocal(base))) take(key, [table, key], base);
          }
        } catch (e) { reject(e); return; }
        resolve();
      };
    });
  }
  return {
    ready,
    log(entry) {
      return new Promise((resolve, reject) => {
        const add = outbox.add(entry);
        add.onerror = () => reject(add.error);
        // Requests complete in order: every read of `capture` has its result by now.
        const store = (pending) => {
          for (const f of found) {
            const version = versionMax(f.version, cp.result);
            if (pending.has(keyId(f.key)) || version === undefined) continue;
            bases.put({ version, row: f.row }, f.bk);
          }
          if (entry.op === "delete") for (const bk of local) bases.delete(bk);
          else {
            for (const bk of fresh) bases.put(LOCAL, bk);
            if (bulkFresh) meta.put(true, "unmarked");
          }
        };
        add.onsuccess = () => {
          if (found.length === 0 || unmarked.result !== true) {
            try { store(new Set()); } catch (e) { reject(e); return; }
            return resolve();
          }
          // Earlier writes still pending (not this one): their rows are not the server's.
          const log = outbox.getAll(IDBKeyRange.upperBound(add.result, true));
          log.onerror = () => reject(log.error);
          log.onsuccess = () => {
            const pending = new Set();
            try {
              for (const e of log.result) {
                if (e.t === table) for (const k of e.k) pending.add(keyId(k));
                if (e.k.length <= FEW || e.op === "delete") continue;
                // A bulk write's rows: LOCAL where no base exists (the add fails, harmlessly, elsewhere).
                for (const k of e.k) {
                  const r = bases.add(LOCAL, [e.t, k]);
                  r.onerror = (ev) => { ev.preventDefault(); ev.stopPropagation(); };
                }
              }
              meta.delete("unmarked");
              store(pending);
            } catch (e) { reject(e); return; }
            resolve();
          };
        };
      });
    },
  };
}
// Upgrading from an older layout: mark LOCAL the pending rows created here (layout 3 told
// them apart by reading the outbox), and drop the server's row from the bases of rows
// with nothing pending and no kept conflict (layout 2 kept it in every base).
export function slimBases(tx) {
  const logged = tx.objectStore("_outbox").getAll();
  const kept = tx.objectStore("_conflicts").getAll();
  kept.onsuccess = () => {
    const busy = new Set();
    for (const e of logged.result) for (const k of e.k) busy.add(e.t + "\u0000" + keyId(k));
    for (const c of kept.result) busy.add(c.table + "\u0000" + keyId(c.key));
    // Rows created here and still pending, from before bases marked them LOCAL.
    const bases = tx.objectStore("_base");
    for (const e of logged.result) {
      if (!tx.objectStoreNames.contains(e.t)) continue;
      for (const k of e.k) {
        const b = bases.get([e.t, k]);
        const r = tx.objectStore(e.t).get(k);
        r.onsuccess = () => { if (b.result === undefined && r.result !== undefined) bases.put(LOCAL, [e.t, k]); };
      }
    }
    const cursor = bases.openCursor();
    cursor.onsuccess = () => {
      const c = cursor.result;
      if (!c) return;
      const [t, k] = c.key;
      if (c.value && c.value.row !== undefined && !busy.has(t + "\u0000" + keyId(k))) c.update({ version: c.value.version });
      c.continue();
    };
  };
}
"#)]
extern "C" {
    /// A promise of an `IDBRequest`'s result.
    pub fn req(r: &web_sys::IdbRequest) -> js_sys::Promise;
    /// A promise that settles when the transaction commits (or rejects with its error).
    #[wasm_bindgen(js_name = txDone)]
    pub fn tx_done(tx: &web_sys::IdbTransaction) -> js_sys::Promise;
    /// Asks the transaction to commit as soon as its requests are done.
    #[wasm_bindgen(js_name = txCommit)]
    pub fn tx_commit(tx: &web_sys::IdbTransaction);
    /// None when `k` is a valid key, else what is wrong with it.
    #[wasm_bindgen(js_name = checkKey)]
    pub fn check_key(k: &JsValue, what: &str) -> Option<String>;
    /// None when `v` is a plain object of JSON values, else what is wrong with it.
    #[wasm_bindgen(js_name = checkJson)]
    pub fn check_json(v: &JsValue, what: &str) -> Option<String>;
    /// The keys of `rows` (an array), or a message (a string) saying what is wrong.
    #[wasm_bindgen(js_name = prepareRows)]
    pub fn prepare_rows(rows: &JsValue, key_col: &str, what: &str) -> JsValue;
    /// `current` with `patch` applied; an `undefined` in the patch removes the column.
    #[wasm_bindgen(js_name = mergePatch)]
    pub fn merge_patch(current: &JsValue, patch: &JsValue) -> JsValue;
    /// `v` as text for a message (strings quoted, errors as "Name: message").
    pub fn describe(v: &JsValue) -> String;
    /// The JSON text of copies of `rows` holding only `cols`.
    #[wasm_bindgen(js_name = pickJson)]
    pub fn pick_json(rows: &js_sys::Array, cols: &js_sys::Array) -> String;
    #[wasm_bindgen(catch, js_name = jsonText)]
    fn json_text(v: &JsValue, nulls: bool) -> Result<String, JsValue>;
    /// `rows` at the indexes in `order`, projected onto `cols` when given.
    pub fn gather(
        rows: &js_sys::Array,
        order: &js_sys::Uint32Array,
        cols: &JsValue,
    ) -> js_sys::Array;
    #[wasm_bindgen(js_name = outboxEntry)]
    pub fn outbox_entry(table: &str, keys: &JsValue, op: &str) -> JsValue;
    /// Starts capturing the bases of `keys` (see the JS above); call before issuing
    /// writes on those keys, then `log` with the outbox entry and await it.
    #[wasm_bindgen(catch)]
    pub fn capture(
        store: &web_sys::IdbObjectStore,
        bases: &web_sys::IdbObjectStore,
        meta: &web_sys::IdbObjectStore,
        outbox: &web_sys::IdbObjectStore,
        table: &str,
        keys: &js_sys::Array,
    ) -> Result<Capture, JsValue>;
    pub type Capture;
    /// Resolves once the reads are issued: the writes go after it.
    #[wasm_bindgen(method, getter)]
    pub fn ready(this: &Capture) -> js_sys::Promise;
    /// Adds the outbox entry, then stores the captured bases.
    #[wasm_bindgen(method, catch)]
    pub fn log(this: &Capture, entry: &JsValue) -> Result<js_sys::Promise, JsValue>;
    /// Brings the bases of an older layout up to date (LOCAL marks, no server row in
    /// the bases of rows with nothing pending); runs inside the upgrade transaction.
    #[wasm_bindgen(js_name = slimBases, catch)]
    pub fn slim_bases(tx: &web_sys::IdbTransaction) -> Result<(), JsValue>;
}

/// `v` read as `T` through its JSON text: `JSON.stringify` in the page, then serde_json
/// into a `Value` and `FromValue` (no typed serde
/// reads in the wasm: see `protocol::wire`).
///
/// The one way values cross from JavaScript into Rust. serde-wasm-bindgen did this before;
/// dropping it left no second copy of every deserializer in the wasm (~20 kB), and one
/// stringify beats a JS call per field on large reads. `nulls`: undefined reads as null
/// (for app input such as queries), not as a missing field (stored rows, where
/// JSON.stringify drops it).
pub fn from_js<T: FromValue>(v: &JsValue, nulls: bool) -> std::result::Result<T, String> {
    let text = json_text(v, nulls).map_err(|e| {
        e.dyn_ref::<js_sys::Error>()
            .map(|e| String::from(e.message()))
            .unwrap_or_else(|| "not JSON".into())
    })?;
    wire::from_str(&text).map_err(|e| e.to_string())
}

/// `v` as a JavaScript value, through its JSON text (`JSON.parse`).
pub fn to_js<T: serde::Serialize>(v: &T) -> JsValue {
    serde_json::to_string(v)
        .ok()
        .and_then(|t| js_sys::JSON::parse(&t).ok())
        .unwrap_or(JsValue::NULL)
}

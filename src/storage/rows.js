// rows.js: the storage layer's helpers over the app's own JS objects (rows, keys, patches): checking that
// rows are plain JSON before they are stored, picking and gathering columns, and JSON text for the one way
// values cross into Rust. Walking objects here is many times faster than from wasm field by field; the rules
// about what a row may hold are defined here only. Nothing here touches IndexedDB (src/storage does, in Rust).

const wellFormed = typeof "".isWellFormed === "function"
  ? (s) => s.isWellFormed()
  : (s) => !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?:^|[^\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(s);

/** What makes `v` (at `path`) not a JSON value, or null when it is one. */
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

/** Null when `k` is a valid key (a string or a finite number), else what is wrong with it. */
export function checkKey(k, what) {
  if (typeof k === "string") return null;
  if (typeof k === "number") return Number.isFinite(k) ? null : `${what} is ${k}, not a finite number`;
  if (k === undefined) return `${what} is missing`;
  return `${what} must be a string or a finite number, got ${k === null ? "null" : typeof k}`;
}

/** Null when `v` is a plain object of JSON values, else what is wrong with it. */
export function checkJson(v, what) {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return `${what} must be an object`;
  return bad(v, what, 0);
}

/** The keys of `rows` (an array of rows keyed by `keyCol`) in order, or a string saying what is wrong. */
export function prepareRows(rows, keyCol, what) {
  if (!Array.isArray(rows)) return `${what} must be an array of rows`;
  const keys = new Array(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i];
    const at = rows.length === 1 && what === "row" ? "row" : `${what}[${i}]`;
    if (typeof row !== "object" || row === null || Array.isArray(row)) return `${at} must be an object`;
    const kp = checkKey(row[keyCol], `${at}.${keyCol} (the key)`);
    if (kp) return kp;
    const e = bad(row, at, 0);
    if (e) return e;
    keys[i] = row[keyCol];
  }
  return keys;
}

/** The first column of `rows` (plain objects) that `kept` does not list, as [row index, column], or null. */
export function unkept(rows, kept) {
  for (let i = 0; i < rows.length; i++) for (const k of Object.keys(rows[i])) if (!kept.includes(k)) return [i, k];
  return null;
}

/** `current` with `patch` applied: a copy; an `undefined` in the patch removes the column. */
export function mergePatch(current, patch) {
  const out = Object.assign({}, current);
  for (const k of Object.keys(patch)) {
    if (patch[k] === undefined) delete out[k]; else out[k] = patch[k];
  }
  return out;
}

/** Copies of `rows` holding only the columns `cols` (missing ones left out). */
export function pick(rows, cols) {
  const out = new Array(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i], o = {};
    for (let j = 0; j < cols.length; j++) { const v = r[cols[j]]; if (v !== undefined) o[cols[j]] = v; }
    out[i] = o;
  }
  return out;
}

/** The JSON text of `pick(rows, cols)`: what a query's filter and sort read, in one string. */
export function pickJson(rows, cols) { return JSON.stringify(pick(rows, cols)); }

/** `rows` at the indexes in `order`, projected onto `cols` when given (else the rows themselves). */
export function gather(rows, order, cols) {
  const out = new Array(order.length);
  for (let i = 0; i < order.length; i++) {
    const r = rows[order[i]];
    if (cols) { const o = {}; for (const c of cols) if (r[c] !== undefined) o[c] = r[c]; out[i] = o; } else out[i] = r;
  }
  return out;
}

/** The distinct keys (strings, finite numbers) that `column` of `rows` holds, in first-seen order: what one
 * keyed read of a lookup's table fetches for `$expand` (crates/core/src/expand.rs). */
export function lookupKeys(rows, column) {
  const seen = new Set(), out = [];
  for (const r of rows) {
    const k = r[column];
    if ((typeof k === "string" || (typeof k === "number" && Number.isFinite(k))) && !seen.has(k)) { seen.add(k); out.push(k); }
  }
  return out;
}

/** `rows` projected onto `cols` (copies; the rows themselves when null), each given its lookups: for every
 * `{ name, column, keys, found, cols }` of `navs`, `name` is the row of `found` (read for `keys`, in order;
 * undefined where none) under the key its `column` holds, projected onto the lookup's `cols` when given, or
 * null. The server's `$expand` answer, property for property. */
export function withLookups(rows, cols, navs) {
  const maps = navs.map((n) => {
    const m = new Map();
    n.keys.forEach((k, i) => { const r = n.found[i]; if (r !== undefined) m.set(k, n.cols ? pick([r], n.cols)[0] : r); });
    return m;
  });
  return rows.map((r) => {
    const o = cols ? pick([r], cols)[0] : r;
    navs.forEach((n, i) => { const v = maps[i].get(r[n.column]); o[n.name] = v === undefined ? null : v; });
    return o;
  });
}

/** Any JS value as text for a message: an Error as "Name: message", else its JSON where it has some, else String(v). */
export function describe(v) {
  if (v instanceof Error) return String(v);
  try { const t = JSON.stringify(v); if (t !== undefined) return t; } catch (_) {}
  try { return String(v); } catch (_) { return Object.prototype.toString.call(v); }
}

/**
 * `v` as JSON text ("null" for undefined). With `nulls`, undefined reads as null, not as a missing field
 * (a query's `{ city: undefined }` must not silently become "every city"). Throws what JSON.stringify throws
 * (a cycle, a BigInt).
 */
export function jsonText(v, nulls) {
  const t = JSON.stringify(v, nulls ? (k, x) => (x === undefined ? null : x) : undefined);
  return t === undefined ? "null" : t;
}

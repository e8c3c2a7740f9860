// live.js: the live queries' helpers beside src/driver/live.rs: the rows a change wrote, as the decision reads them,
// and calling the app's listeners (a result only when its JSON text changed).

/**
 * The JSON text of `rows` (parallel to `keys`), each holding only `cols` and its key in `keyCol`; a deleted row
 * (undefined) holds its key and `"": 1`, a column no row can have.
 */
export function changedJson(keys, rows, cols, keyCol) {
  const out = new Array(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i], o = {};
    if (r === undefined) o[""] = 1;
    else for (let j = 0; j < cols.length; j++) { const v = r[cols[j]]; if (v !== undefined) o[cols[j]] = v; }
    o[keyCol] = keys[i];
    out[i] = o;
  }
  return JSON.stringify(out);
}

/** A live query's listeners, and the JSON text of the last result they got. */
export function listeners(listener, onError) { return { listener, onError, last: undefined }; }

/** Calls the listener with `result` unless its JSON text is that of the last result it got. */
export function deliver(to, result) {
  const text = JSON.stringify(result);
  if (text === to.last) return;
  to.last = text;
  try { to.listener(result); } catch (e) { console.error("offline-tables: a live query's listener threw", e); }
}

/** Calls `onError(err)`, or logs `err` when there is none (or it throws). */
export function fail(to, err) {
  try { if (to.onError) return void to.onError(err); } catch (_) { /* logged below */ }
  console.error("offline-tables: a live query failed", err);
}

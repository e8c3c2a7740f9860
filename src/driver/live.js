// live.js: the live queries' helpers over the rows a change wrote, beside src/driver/live.rs.

/** The JSON text of `[keys, rows]`, each row holding only `cols` (which may repeat), a deleted one (undefined) as null. */
export function changedJson(keys, rows, cols) {
  const out = new Array(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i];
    if (r === undefined) { out[i] = null; continue; }
    const o = {};
    for (let j = 0; j < cols.length; j++) { const v = r[cols[j]]; if (v !== undefined) o[cols[j]] = v; }
    out[i] = o;
  }
  return JSON.stringify([keys, out]);
}

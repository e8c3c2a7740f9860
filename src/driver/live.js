// live.js: the live queries' helper over the rows a change wrote, beside src/driver/live.rs.

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

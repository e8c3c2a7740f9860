// put_rows.js: the one hot loop of a download, writing a run of pulled rows into an object store from JavaScript,
// where the rows already are: one call per page instead of one wasm-to-JS crossing per row, its key and its event.

/**
 * Puts `rows[at[0]]`, `rows[at[1]]`, … into `store` (an IDBObjectStore whose keyPath is `keyCol`) and returns their
 * keys, in order. Throws what `put` throws (a DataError, a DataCloneError); the caller aborts the transaction then.
 */
export function putRows(store, rows, at, keyCol) {
  const keys = new Array(at.length);
  for (let i = 0; i < at.length; i++) {
    const row = rows[at[i]];
    store.put(row);
    keys[i] = row[keyCol];
  }
  return keys;
}

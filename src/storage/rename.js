// rename.js: the IndexedDB side of replacing a temporary key by the server's (src/storage/rename.rs): the rows
// of other tables that point at it, and the file cells kept under it. Everything runs in the caller's
// transaction, which commits after these promises resolve.

const done = (r) => new Promise((resolve, reject) => {
  r.onsuccess = () => resolve(r.result);
  r.onerror = () => reject(r.error);
});

/**
 * In `tx`, sets `column` to `to` in every row of `table` whose `column` is `from` (read through the index named
 * after the column when the table has one, else by a scan); resolves to the rows rewritten.
 */
export async function rewriteReferences(tx, table, column, from, to) {
  const store = tx.objectStore(table);
  const rows = store.indexNames.contains(column)
    ? await done(store.index(column).getAll(from))
    : (await done(store.getAll())).filter((r) => r[column] === from);
  for (const r of rows) {
    r[column] = to;
    store.put(r);
  }
  return rows;
}

/** In `tx`, moves the file cells and queued uploads of row `from` of `table` to row `to`. */
export async function renameFiles(tx, table, from, to) {
  for (const name of ["_files", "_uploads"]) {
    if (!tx.objectStoreNames.contains(name)) continue;
    const store = tx.objectStore(name);
    const range = IDBKeyRange.bound([table, from], [table, from, []]);
    const [keys, values] = await Promise.all([done(store.getAllKeys(range)), done(store.getAll(range))]);
    keys.forEach((k, i) => {
      store.delete(k);
      store.put(values[i], [table, to, k[2]]);
    });
  }
}

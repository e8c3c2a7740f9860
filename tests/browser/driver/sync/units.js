// units.js: transactions the sync tests of units (tests/browser/driver/sync/units.rs) hand to store.transaction.

/** Inserts every row of `rows` (`[table, row]` pairs), in order. */
export function insertAll(rows) {
  return async (tx) => {
    for (const [table, row] of rows) await tx.table(table).insert(row);
  };
}

/** Updates `[table, key, patch]` triples and inserts `[table, row]` pairs, in one transaction. */
export function updateAndInsert(updates, inserts) {
  return async (tx) => {
    for (const [table, key, patch] of updates) await tx.table(table).update(key, patch);
    for (const [table, row] of inserts) await tx.table(table).insert(row);
  };
}

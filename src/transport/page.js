// page.js: a pull page's JSON text split in one JSON.parse into its rows, as the JS objects IndexedDB stores, and the
// rest of the page as small JSON text for Rust to read and check. A page of 1,000 rows then crosses the boundary once,
// as text of its keys and versions, instead of being parsed in Rust, written out again and parsed a second time here.

/**
 * `text` (a pull answer) as `[envelope, rows]`. `rows[i]` is the row of `changes[i]` (undefined for a change that
 * carries none). In `envelope`, the JSON text of the page, each upsert's row is cut down to its key column (from
 * `keys`, table name to key column), which is all Rust checks of it; a row that is not an object stays whole, so
 * Rust refuses it in its own words. Throws the SyntaxError of `JSON.parse` for text that is not JSON.
 */
export function splitPage(text, keys) {
  const page = JSON.parse(text);
  const rows = [];
  const changes = page !== null && typeof page === "object" && Array.isArray(page.changes) ? page.changes : [];
  for (let i = 0; i < changes.length; i++) {
    const c = changes[i];
    if (c === null || typeof c !== "object" || c.kind !== "upsert" || !Object.hasOwn(c, "row")) {
      rows.push(undefined);
      continue;
    }
    const row = c.row;
    rows.push(row);
    if (row !== null && typeof row === "object" && !Array.isArray(row)) {
      const col = typeof c.table === "string" && Object.hasOwn(keys, c.table) ? keys[c.table] : undefined;
      c.row = col !== undefined && Object.hasOwn(row, col) ? { [col]: row[col] } : {};
    }
  }
  return [JSON.stringify(page), rows];
}

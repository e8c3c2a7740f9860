// transaction.js: what apps pass to store.transaction (tests/browser/api/transaction.rs). Each returns the
// callback, so the test drives the real store.transaction with a real async function.

// An account and its first work order, read back inside: by get, and by a query that sees them laid over
// the stored rows. Resolves to what it read.
export function accountAndOrder(acc, wo) {
  return async (tx) => {
    const accounts = tx.table("accounts"), orders = tx.table("workorders");
    await accounts.insert({ id: acc, name: "New", ownerId: "u1", city: "Lyon" });
    await orders.insert({ id: wo, accountId: acc, status: "open" });
    await accounts.update(acc, { name: "New account" });
    const seen = await accounts.get(acc);
    const inLyon = await accounts.query({ where: { city: "Lyon" }, orderBy: [["name", "asc"]], select: ["id", "name"] });
    const n = await orders.count({ where: { accountId: acc } });
    return JSON.stringify({ seen, inLyon, n });
  };
}

// Writes, then throws: nothing may be left.
export function throwsAfterWrites(acc, wo) {
  return async (tx) => {
    await tx.table("accounts").put({ id: acc, name: "Gone", ownerId: "u1" });
    await tx.table("workorders").put({ id: wo, accountId: acc });
    throw new Error("boom");
  };
}

// Awaits a timer between writes (IndexedDB would have committed a transaction held open across it).
export function awaitsATimer(acc, wo) {
  return async (tx) => {
    await tx.table("accounts").put({ id: acc, name: "Before", ownerId: "u1" });
    await new Promise((r) => setTimeout(r, 60));
    await tx.table("workorders").put({ id: wo, accountId: acc });
    return "done";
  };
}

// Starts a write and does not await it: it still commits.
export function doesNotAwait(acc) {
  return (tx) => {
    tx.table("accounts").put({ id: acc, name: "Unawaited", ownerId: "u1" });
    return 7;
  };
}

// Catches a failed insert (the key exists) and goes on: the failed write leaves nothing, the rest commits.
export function catchesAConflict(existing, acc) {
  return async (tx) => {
    let code = null;
    try { await tx.table("accounts").insert({ id: existing, name: "Dup" }); } catch (e) { code = e.code; }
    await tx.table("accounts").put({ id: acc, name: "After", ownerId: "u1" });
    return code;
  };
}

// Uses a table the transaction was not started with; then keeps the handle and uses it afterwards.
let kept = null;
export function usesOtherTable() {
  return async (tx) => {
    kept = tx.table("accounts");
    try { tx.table("products"); return "no error"; } catch (e) { return e.code; }
  };
}
export async function useAfterEnd() {
  try { await kept.get("x"); return "no error"; } catch (e) { return e.code; }
}

// Deletes a row and updates another inside; the query inside no longer sees the deleted one.
export function deletesAndQueries(gone, kept) {
  return async (tx) => {
    const t = tx.table("accounts");
    await t.delete(gone);
    await t.update(kept, { city: "Nice" });
    const rows = await t.query({ where: { ownerId: "u1" } });
    return JSON.stringify(rows.map((r) => [r.id, r.city ?? null]));
  };
}

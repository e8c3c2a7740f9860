// chaos_regressions.test.mjs: protocol-level reproductions of what the chaos run (chaos.mjs) found, against a
// reference server of the test's own, so each stays fixed without depending on a random schedule's timing.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startReferenceServer, restAs } from "./harness.mjs";

let server;
before(async () => { server = await startReferenceServer(); });
after(async () => { await server?.close(); });

// Chaos seeds 1005 and 1032 (40 steps): a device whose insert met an existing row took the server's row from the
// conflict outcome (server-wins, or merge meeting an insert), its pull failed, then the row was deleted on the
// server. The server's view of the device never recorded the row (only applied pushes and pulls did), so the
// deletion was filtered out of every later pull and the device kept a row the server no longer has, forever.
test("a row a client received in a push conflict is removed from it when the server deletes it", { timeout: 30_000 }, async () => {
  const rest = restAs(server.url, "dev-token-pia");
  const clientId = `regression-conflict-view-${Date.now()}`;
  const call = async (path, body) => {
    const r = await rest("POST", path, { protocolVersion: 1, clientId, ...body });
    assert.equal(r.status, 200, `${path}: ${JSON.stringify(r.body)}`);
    return r.body;
  };
  const first = await call("/sync/pull", { checkpoint: null });
  assert.equal(first.hasMore, false);
  const created = await rest("POST", "/api/data/notes", { id: "cv-1", ownerId: "pia", text: "from another device" });
  assert.equal(created.status, 201);
  const pushed = await call("/sync/push", { mutations: [
    { id: 1, table: "notes", key: "cv-1", op: "insert", row: { id: "cv-1", ownerId: "pia", text: "mine" }, baseVersion: null },
  ] });
  assert.equal(pushed.outcomes[0].status, "conflict");
  assert.deepEqual(pushed.outcomes[0].serverRow, { id: "cv-1", ownerId: "pia", text: "from another device" });
  // (The client now holds the server's row: server-wins takes it, merge takes it for an insert, manual keeps it.)
  assert.equal((await rest("DELETE", "/api/data/notes/cv-1")).status, 204);
  const next = await call("/sync/pull", { checkpoint: first.checkpoint });
  const mine = next.changes.filter((c) => c.table === "notes" && c.key === "cv-1");
  assert.deepEqual(mine.map((c) => [c.kind, c.reason]), [["remove", "deleted"]],
    `the deletion reaches the client that holds the row: ${JSON.stringify(next.changes)}`);
});

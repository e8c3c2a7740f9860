// page.test.mjs: node --test for src/transport/page.js, which splits a pull answer into its rows (JS objects) and
// the small JSON text Rust reads and checks.
import { test } from "node:test";
import assert from "node:assert/strict";
import { splitPage } from "../../src/transport/page.js";

const keys = { items: "id", notes: "code" };

test("rows come out whole, in change order, and the envelope keeps only their key column", () => {
  const page = {
    protocolVersion: 1, checkpoint: "9", hasMore: true,
    changes: [
      { kind: "upsert", table: "items", key: "a", version: "3", row: { id: "a", name: "A", n: [1, { x: 2 }] } },
      { kind: "remove", table: "items", key: "b", version: "4", reason: "deleted" },
      { kind: "upsert", table: "notes", key: 7, version: "5", row: { code: 7, text: "t" } },
      { kind: "rename", table: "items", key: "c", version: "6", row: { id: "c" } },
    ],
  };
  const [envelope, rows] = splitPage(JSON.stringify(page), keys);
  assert.deepEqual(rows, [page.changes[0].row, undefined, page.changes[2].row, undefined]);
  const e = JSON.parse(envelope);
  assert.deepEqual(e.changes[0], { kind: "upsert", table: "items", key: "a", version: "3", row: { id: "a" } });
  assert.deepEqual(e.changes[1], page.changes[1]);
  assert.deepEqual(e.changes[2].row, { code: 7 });
  // A kind this client does not know passes through untouched, for Rust to skip.
  assert.deepEqual(e.changes[3], page.changes[3]);
  assert.equal(e.checkpoint, "9");
  assert.equal(e.hasMore, true);
});

test("a row Rust must refuse reaches it in a shape it refuses", () => {
  const page = {
    protocolVersion: 1, checkpoint: "9", hasMore: false,
    changes: [
      { kind: "upsert", table: "items", key: "s", version: "1", row: "s" },
      { kind: "upsert", table: "items", key: "m", version: "1", row: { name: "no key" } },
      { kind: "upsert", table: "other", key: "o", version: "1", row: { id: "o" } },
      { kind: "upsert", table: "items", key: "n", version: "1", row: null },
      { kind: "upsert", table: "items", key: "l", version: "1", row: [1, 2] },
    ],
  };
  const [envelope, rows] = splitPage(JSON.stringify(page), keys);
  const e = JSON.parse(envelope);
  assert.equal(e.changes[0].row, "s");
  assert.deepEqual(e.changes[1].row, {});
  assert.deepEqual(e.changes[2].row, {});
  assert.equal(e.changes[3].row, null);
  assert.deepEqual(e.changes[4].row, [1, 2]);
  assert.deepEqual(rows[1], { name: "no key" });
});

test("answers that are not a list of changes pass through for Rust to refuse", () => {
  for (const body of [{ error: { code: "x", message: "y" } }, { changes: { 0: 1 } }, [1], 5, null]) {
    const [envelope, rows] = splitPage(JSON.stringify(body), keys);
    assert.deepEqual(JSON.parse(envelope), body);
    assert.deepEqual(rows, []);
  }
});

test("text that is not JSON throws the parser's SyntaxError", () => {
  assert.throws(() => splitPage("{\"changes\": [", keys), SyntaxError);
  assert.throws(() => splitPage("", keys), SyntaxError);
});

test("a key column named __proto__ stays an own column, not the prototype", () => {
  const text = '{"changes":[{"kind":"upsert","table":"t","key":"k","version":"1","row":{"__proto__":"k"}}]}';
  const [envelope] = splitPage(text, { t: "__proto__" });
  assert.equal(envelope, '{"changes":[{"kind":"upsert","table":"t","key":"k","version":"1","row":{"__proto__":"k"}}]}');
});

// put_rows.test.mjs: node --test for src/storage/put_rows.js, the download's loop of puts, against a store that
// records what it was given (IndexedDB itself is exercised by the browser tests of pull apply).
import { test } from "node:test";
import assert from "node:assert/strict";
import { putRows } from "../../src/storage/put_rows.js";

function recorder(failOn) {
  const put = [];
  return {
    put,
    store: {
      put(row) {
        if (row.id === failOn) throw new DOMException("cannot clone", "DataCloneError");
        put.push(row);
      },
    },
  };
}

test("puts the rows at the given indexes, in order, and returns their keys", () => {
  const rows = [{ id: "a" }, undefined, { id: 7, x: 1 }, { id: "c" }];
  const { store, put } = recorder();
  assert.deepEqual(putRows(store, rows, new Uint32Array([3, 0, 2]), "id"), ["c", "a", 7]);
  assert.deepEqual(put, [rows[3], rows[0], rows[2]]);
});

test("an empty run puts nothing", () => {
  const { store, put } = recorder();
  assert.deepEqual(putRows(store, [{ id: "a" }], new Uint32Array([]), "id"), []);
  assert.deepEqual(put, []);
});

test("what put throws reaches the caller, after the rows before it", () => {
  const rows = [{ id: "a" }, { id: "bad" }, { id: "c" }];
  const { store, put } = recorder("bad");
  assert.throws(() => putRows(store, rows, new Uint32Array([0, 1, 2]), "id"), { name: "DataCloneError" });
  assert.deepEqual(put, [rows[0]]);
});

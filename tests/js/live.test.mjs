// live.test.mjs: node --test for src/driver/live.js, the live queries' conversion of the rows a change wrote.
import { test } from "node:test";
import assert from "node:assert/strict";
import { changedJson, listeners, deliver, fail } from "../../src/driver/live.js";

test("changedJson gives each row's picked columns and its key, a deleted row as its key and \"\": 1", () => {
  const rows = [{ id: "a", city: "Paris", notes: "long", n: 1 }, undefined, { id: 3, n: undefined }];
  assert.deepEqual(JSON.parse(changedJson(["a", "b", 3], rows, ["city", "n"], "id")), [
    { city: "Paris", n: 1, id: "a" },
    { "": 1, id: "b" },
    { id: 3 },
  ]);
  assert.equal(changedJson([], [], ["id"], "id"), "[]");
});

test("deliver calls the listener only when the result's JSON text changed, and survives a throwing one", () => {
  const got = [];
  const to = listeners((v) => got.push(v), undefined);
  deliver(to, [{ id: 1 }]);
  deliver(to, [{ id: 1 }]);
  deliver(to, [{ id: 2 }]);
  deliver(to, 0);
  deliver(to, 0);
  assert.deepEqual(got, [[{ id: 1 }], [{ id: 2 }], 0]);
  const logged = [];
  const error = console.error;
  console.error = (...args) => logged.push(args[0]);
  try {
    deliver(listeners(() => { throw new Error("on purpose"); }), []);
    fail(listeners(() => {}, undefined), new Error("read failed"));
    const errs = [];
    fail(listeners(() => {}, (e) => errs.push(e.message)), new Error("read failed"));
    assert.deepEqual(errs, ["read failed"]);
  } finally {
    console.error = error;
  }
  assert.deepEqual(logged, ["offline-tables: a live query's listener threw", "offline-tables: a live query failed"]);
});

// live.test.mjs: node --test for src/driver/live.js, the live queries' conversion of the rows a change wrote.
import { test } from "node:test";
import assert from "node:assert/strict";
import { changedJson } from "../../src/driver/live.js";

test("changedJson gives each row's picked columns and its key, a deleted row as its key and \"\": 1", () => {
  const rows = [{ id: "a", city: "Paris", notes: "long", n: 1 }, undefined, { id: 3, n: undefined }];
  assert.deepEqual(JSON.parse(changedJson(["a", "b", 3], rows, ["city", "n"], "id")), [
    { city: "Paris", n: 1, id: "a" },
    { "": 1, id: "b" },
    { id: 3 },
  ]);
  assert.equal(changedJson([], [], ["id"], "id"), "[]");
});
